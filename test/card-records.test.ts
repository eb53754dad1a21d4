// Records of any size in the card's log (spec/card.md, "Records that run on"):
// every size class a valid message can have round-trips through a log,
// across remounts and power cuts in both fault models; logs of format 1 stay
// readable.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  createLog,
  each,
  find,
  openLog,
  PAGE_ROOM,
  rec,
  record,
  TOO_LARGE,
  type Log,
} from "../src/log";
import { parse } from "../src/message";
import { enc, encode } from "../src/utf8";
import { MemDisk } from "../sim/card/memdisk";
import { PowerCut } from "../sim/card/fault";
import { prng } from "../sim/prng";
import { signFeed } from "./feed";
import { Pigeon } from "./pigeon";
import { appendText, appendUntilCut } from "./cuts";

const SEED = new Uint8Array(32).fill(9);
const q = (v: string) => `"${v}"`;
const pad = (s: string, n: number, c = "x") => s + c.repeat(n - s.length);

// the size classes: one reading; 61 entries with long names and values; a 4 KB text; the most a message can hold
const ONE = (d: number) => [
  ["t", q(`${1764000000 + 600 * d}`)],
  ["temp", q("21.5")],
];
const WIDE = (d: number) => [
  ["t", q(`${1764000000 + 600 * d}`)],
  ["boot", q("3")],
  ["dt", q("60")],
  ...Array.from({ length: 61 }, (_, i) => [
    `water_temperature_probe_${i % 3}.${Math.floor(i / 3)}`,
    q(pad(`${d}.${i}`, 24, "7")),
  ]),
];
const TEXT4K = (d: number) =>
  Array.from({ length: 32 }, (_, i) => [
    `line${i}`,
    q(pad(`depth ${d} line ${i} `, 128, "abcdefgh".charAt(i % 8))),
  ]);
const MOST = () =>
  Array.from({ length: 64 }, (_, i) => [pad(`k${i}_`, 90, "K"), q("\u{1F600}".repeat(128))]);
const CLASSES = [ONE, WIDE, ONE, TEXT4K, ONE, ONE, WIDE, TEXT4K, ONE];

/** A feed cycling through the size classes, with the most a message can hold at the depths in most. */
function mixed(n: number, most: number[] = []) {
  return signFeed(n, SEED, (d) => (most.includes(d) ? MOST() : CLASSES[d % CLASSES.length](d)))
    .texts;
}
const MIXED = mixed(60, [17]);

function all(disk: MemDisk, log: Log) {
  const out: string[] = [],
    bad: string[] = [];
  each(
    log,
    disk.openFile(log.path, "r")!,
    (t) => out.push(t),
    (_p, why) => bad.push(why)
  );
  expect(bad).toEqual([]);
  return out;
}
const recordOf = (t: string) => (parse(enc.b, 0, encode(t)), record(enc.b, 0));

describe("records of any size", () => {
  it("one reading, 61 wide entries, 4 KB of text and the most a message holds: appended, mounted again, read back, found by depth and read from any depth", () => {
    const sizes = MIXED.map((t) => Buffer.byteLength(t));
    expect(Math.min(...sizes)).toBeLessThan(400);
    expect(sizes.filter((s) => s > 2 * PAGE_ROOM).length).toBeGreaterThan(10);
    expect(Math.max(...sizes)).toBeGreaterThan(39000);
    const disk = new MemDisk();
    createLog(disk, "M.LOG", Pigeon.identity(SEED), 1000, 77);
    let log = openLog(disk, "M.LOG");
    MIXED.forEach((t, d) => {
      if (d % 7 === 3) log = openLog(disk, "M.LOG"); // a remount now and then: the tail is found again after records that ran on
      appendText(log, t);
    });
    log = openLog(disk, "M.LOG");
    expect(log.next).toBe(MIXED.length);
    expect(all(disk, log)).toEqual(MIXED);
    const f = disk.openFile("M.LOG", "r")!;
    MIXED.forEach((t, d) => expect(find(log, f, d)).toBe(t));
    expect(find(log, f, MIXED.length)).toBeUndefined();
    // read from any depth: the record there comes too, also one that runs on into the pages after it
    MIXED.forEach((_, d) => {
      const from: string[] = [];
      each(log, f, (t, depth) => void (depth >= d && from.push(t)), undefined, d);
      expect(from, `from depth ${d}`).toEqual(MIXED.slice(d));
    });
  });

  it("the longest message the spec allows (39,233 bytes at a 16-digit depth) is a record of 39,013 bytes and comes back byte for byte", () => {
    let first = 9007199254740000;
    while (Pigeon.lipmaa(first) === null || Pigeon.lipmaa(first + 1) === null) first++;
    const { texts } = signFeed(2, SEED, MOST, pad("kind_", 90, "K"), first);
    for (const t of texts) {
      expect(Buffer.byteLength(t)).toBe(39233);
      expect(Pigeon.refusal(t)).toBe("");
      expect(recordOf(t)).toBe(39013);
    }
    const disk = new MemDisk();
    createLog(disk, "L.LOG", Pigeon.identity(SEED), 400, 5, first);
    appendText(openLog(disk, "L.LOG"), texts[0]);
    appendText(openLog(disk, "L.LOG"), texts[1]);
    const log = openLog(disk, "L.LOG");
    expect(log.next).toBe(first + 2);
    expect(all(disk, log)).toEqual(texts);
    expect(find(log, disk.openFile("L.LOG", "r")!, first + 1)).toBe(texts[1]);
  });

  it("a log with long records mounts by bisection, reading under 1% of it", () => {
    const texts = mixed(300);
    const disk = new MemDisk();
    createLog(disk, "B.LOG", Pigeon.identity(SEED), 20000, 8);
    const log = openLog(disk, "B.LOG");
    for (const t of texts) appendText(log, t);
    expect(log.page).toBeGreaterThan(600);
    disk.reads = 0;
    expect(openLog(disk, "B.LOG").next).toBe(300);
    expect(disk.reads / (2 * 20000)).toBeLessThan(0.01);
  });

  it("a full log takes no part of a record: it says so before writing anything", () => {
    const disk = new MemDisk();
    createLog(disk, "F.LOG", Pigeon.identity(SEED), 40, 8);
    const log = openLog(disk, "F.LOG");
    let n = 0,
      err: any;
    try {
      for (const t of MIXED) (appendText(log, t), n++);
    } catch (e) {
      err = e;
    }
    expect(err?.code).toBe("LOG_FULL");
    expect(n).toBeGreaterThan(3);
    expect(all(disk, openLog(disk, "F.LOG"))).toEqual(MIXED.slice(0, n));
  });
});

describe("records that run on, through power cuts", () => {
  for (const model of ["atomic", "torn"] as const)
    it(`keeps every acknowledged record and serves no part of a cut one (${model}, 120 cuts, then logs on)`, () => {
      const texts = mixed(45);
      for (let cut = 0; cut < 120; cut++) {
        const disk = new MemDisk();
        createLog(disk, "K.LOG", Pigeon.identity(SEED), 400, 42);
        let log = openLog(disk, "K.LOG");
        const acked = appendUntilCut(disk, log, texts, {
          model,
          after: 1 + prng(cut + 1).int(160),
          seed: cut,
        });
        log = openLog(disk, "K.LOG");
        const back = all(disk, log);
        expect(back.length).toBeGreaterThanOrEqual(acked);
        expect(back).toEqual(texts.slice(0, back.length));
        // logs on from there, remounting on the way: pages left by the cut append never come back
        for (const [i, t] of texts.slice(back.length).entries()) {
          if (i % 4 === 1) log = openLog(disk, "K.LOG");
          appendText(log, t);
        }
        expect(all(disk, openLog(disk, "K.LOG"))).toEqual(texts);
      }
    });

  it("pages left by an append cut after three of its pages are not the log's, before or after the tail fills", () => {
    const big = TEXT4K(1);
    const disk = new MemDisk();
    createLog(disk, "S.LOG", Pigeon.identity(SEED), 400, 3);
    let log = openLog(disk, "S.LOG");
    // a feed of small readings with one long text at depth 5
    const { texts } = signFeed(120, SEED, (d) => (d === 5 ? big : ONE(d)));
    for (const t of texts.slice(0, 5)) appendText(log, t);
    disk.armFault({ model: "atomic", after: 4 }); // the record's start and two of its pages reach the card
    expect(() => appendText(log, texts[5])).toThrow(PowerCut);
    disk.powerOn();
    log = openLog(disk, "S.LOG");
    expect(log.next).toBe(5);
    expect(log.dirty).toBe(true);
    expect(all(disk, log)).toEqual(texts.slice(0, 5));
    // the same record again, then small ones past the pages the cut left, with remounts
    appendText(log, texts[5]);
    for (const t of texts.slice(6)) (appendText(log, t), (log = openLog(disk, "S.LOG")));
    expect(all(disk, log)).toEqual(texts);
  });
});

describe("logs of format 1", () => {
  // test/fixtures/V1.LOG was written by the card code of commit 051700a (format 1), V1.PGN holds its messages
  const fixture = (name: string) => readFileSync(join(__dirname, "fixtures", name));
  it("are read as they were written, take the next record that fits a page, and refuse one that would run on", () => {
    const disk = new MemDisk();
    disk.files.set("V1.LOG", Buffer.from(fixture("V1.LOG")));
    const texts = fixture("V1.PGN")
      .toString("utf8")
      .trimEnd()
      .split("\n\n")
      .reduce<string[]>((out, part) => {
        // messages hold empty lines of their own: a message ends at its signature line
        const last = out[out.length - 1];
        if (last !== undefined && !/\nsignature \S+$/.test(last))
          out[out.length - 1] = last + "\n\n" + part;
        else out.push(part);
        return out;
      }, []);
    let log = openLog(disk, "V1.LOG");
    expect(log.version).toBe(1);
    expect(all(disk, log)).toEqual(texts);
    const more = signFeed(42, new Uint8Array(32).fill(11), (d) =>
      d < 41
        ? [
            ["t", q(`${1764000000 + 600 * d}`)],
            ["temp", q((20 + (d % 50) / 10).toFixed(1))],
          ]
        : TEXT4K(d)
    ).texts;
    expect(more.slice(0, 40)).toEqual(texts);
    appendText(log, more[40]);
    expect(() => appendText(log, more[41])).toThrow(expect.objectContaining({ code: TOO_LARGE }));
    log = openLog(disk, "V1.LOG");
    expect(all(disk, log)).toEqual(more.slice(0, 41));
  });
});

describe("a record's bytes", () => {
  it("grow the record buffer for long messages and keep it for short ones", () => {
    recordOf(MIXED[17]);
    const grown = rec.b;
    expect(grown.length).toBeGreaterThanOrEqual(39000);
    recordOf(MIXED[0]);
    expect(rec.b).toBe(grown);
  });
});
