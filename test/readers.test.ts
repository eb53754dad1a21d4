// The host's readers of cards and bundles (issues 15 and 16): blobs wherever a
// bundle lies on a card image, hostile images that must not hang them, and
// each loss a damaged card can cause, named with its file and reason, with
// `pigeon verify` and `import` ending in exit status 1 and everything else
// read. The property test over damaged images is readers-property.test.ts.
import { describe, expect, it } from "vitest";
import { appendMessage, createLog, each, openLog, type Log } from "../src/card";
import { enc, encode } from "../src/utf8";
import { MemDisk } from "../targets/node/memdisk";
import { makeFeed } from "./feed";

const SEED = new Uint8Array(32).fill(7);

/** A log of the given messages in a MemDisk, with room for pages. */
function logOf(texts: string[], author: string, pages: number) {
  const disk = new MemDisk();
  createLog(disk, "F.LOG", author, pages, 1234);
  const log = openLog(disk, "F.LOG");
  for (const t of texts) {
    const n = encode(t); // before reading enc.b: encoding may replace it
    expect(appendMessage(log, enc.b, n)).toBe("");
  }
  return { disk, log, bytes: disk.files.get("F.LOG")! };
}
const sectorOf = (log: Log, page: number, slot: number) => 1 + log.indexSectors + 2 * page + slot;

describe("the store code on damaged logs", () => {
  it("pages damaged before the last ones end the bisection early; a reader of every page (openLog everyPage) still finds the end and reads past them", () => {
    const feed = makeFeed(600, SEED), { disk, log, bytes } = logOf(feed.texts, feed.author, 400);
    const tail = log.page;
    expect(tail).toBeGreaterThan(150);
    // both slots of pages tail-12..tail-5 garbled: past the last index sector, where mount bisects
    for (let p = tail - 12; p <= tail - 5; p++) for (const s of [0, 1]) bytes.fill(0x5a, sectorOf(log, p, s) * 512, (sectorOf(log, p, s) + 1) * 512);
    const quick = openLog(disk, "F.LOG"), every = openLog(disk, "F.LOG", true);
    expect(quick.page).toBeLessThan(tail - 11); // the board's mount: the pages after the damage look unwritten
    expect(every.page).toBe(tail);
    const texts: string[] = [], bad: number[] = [];
    each(every, disk.openFile("F.LOG", "r")!, (t) => texts.push(t), (page) => bad.push(page));
    expect(bad).toEqual([tail - 12, tail - 11, tail - 10, tail - 9, tail - 8, tail - 7, tail - 6, tail - 5]);
    expect(texts.at(-1)).toBe(feed.texts.at(-1));
    expect(texts.length).toBeGreaterThan(feed.texts.length - 8 * 4);
  });
});
