// A pull over a simulated serial line (spec/link.md): the firmware on the
// simulated board answers, the host loop rebuilds and imports into a store
// as `pigeon pull` does, with lines lost and garbled at random (seeded) both
// ways, the cable pulled mid-transfer, and readings falling due meanwhile.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createImage } from "../sim/card/image";
import { readCard } from "../sim/card/read";
import { loggerBoard } from "../sim/loggerboard";
import { prng } from "../sim/prng";
import { SimLine } from "../sim/serial";
import { field } from "../targets/host/message";
import { pullFeed } from "../targets/host/pull";
import { pullInto } from "../targets/node/pull";
import { Store } from "../targets/node/store";

const CLOCK = 1764000000,
  BAUD = 115200;

/** A logger with n readings on its card, one every `interval` seconds, whose console is a line at BAUD. */
async function logger(n: number, interval: number, code?: string) {
  const dir = mkdtempSync(join(tmpdir(), "pigeon-link-"));
  const image = await createImage(join(dir, "card.img"), 16 << 20);
  const board = loggerBoard({
    profile: "bare",
    image,
    clock: CLOCK,
    seedBytes: Array.from({ length: 32 }, (_, i) => i * 7),
    config: `interval=${interval}\nlog_mb=2\n`,
    consoleLine: { baud: BAUD },
    code,
  });
  board.runFor(n * interval + 0.5);
  return { dir, image, board, store: new Store(join(dir, "store")) };
}
/**
 * The card's messages, and that the store holds each depth once, each text byte for byte, up to
 * the newest the board's last hello named (next: a reading taken after that answer is the next pull's).
 */
function expectWholeFeed(store: Store, image: Parameters<typeof readCard>[0], next: number) {
  const [card] = readCard(image),
    author = field(card.messages[0], "author")!;
  expect(next).toBeGreaterThanOrEqual(card.messages.length - 1);
  expect(store.ranges(author)).toEqual([[0, next - 1]]);
  const held: string[] = [];
  store.each(author, (t) => held.push(t));
  expect(held.length).toBe(next);
  held.forEach((t, d) => expect(t, `depth ${d}`).toBe(card.messages[d]));
  return card.messages;
}

describe("a pull over a simulated serial line", () => {
  it("lines lost and garbled both ways: the whole feed arrives, byte for byte, once; readings due meanwhile are taken on time", async () => {
    const interval = 2,
      { board, store, image } = await logger(400, interval);
    const line = new SimLine(board, BAUD, CLOCK * 1000, {
      seed: 19,
      drop: 0.03,
      garble: 0.03,
      dropTyped: 0.1,
      garbleTyped: 0.1,
    });
    const t0 = board.elapsed;
    const { pulled, report } = await pullInto(store, line, {});
    expect(report.refusals).toEqual([]);
    // every kind of fault happened, and was asked again
    expect(
      Object.values(line.faults).every((n) => n > 0),
      JSON.stringify(line.faults)
    ).toBe(true);
    expect(pulled.retried).toBeGreaterThan(0);
    const messages = expectWholeFeed(store, image, pulled.next);
    expect(report.messages.accepted).toBe(pulled.next);
    // the pull outlasted several intervals: readings fell due during it, were pulled too, and each was taken in its second
    const during = messages.filter((t) => +JSON.parse(/\nt:(".*")/.exec(t)![1]) > CLOCK + t0);
    expect(board.elapsed - t0).toBeGreaterThan(3 * interval);
    expect(during.length).toBeGreaterThanOrEqual(3);
    messages.forEach((t, d) =>
      expect(+JSON.parse(/\nt:(".*")/.exec(t)![1]), `the reading at depth ${d}`).toBe(
        CLOCK + interval * (d + 1)
      )
    );
    // the clock seen, and kept in the store
    expect(Math.abs(pulled.clock.offsetMs)).toBeLessThan(100);
    expect(store.clocks(pulled.identity).length).toBe(1);
  }, 120_000);

  it("a pull cut off at random points resumes each time from what the store holds, and ends with the whole feed", async () => {
    const { board, store, image } = await logger(300, 60),
      rnd = prng(7).float;
    let cuts = 0,
      last = -1;
    for (let i = 0; i < 6; i++) {
      const line = new SimLine(board, BAUD, CLOCK * 1000, {
        seed: 100 + i,
        cutAfter: 200 + Math.floor(rnd() * 8000),
      });
      await expect(pullInto(store, line, { timeoutMs: 500, retries: 1 })).rejects.toThrow(
        /stopped answering/
      );
      const held = store.authors().length ? store.ranges(store.authors()[0]) : [];
      const top = held.length ? held[0][1] : -1;
      expect(held.length).toBeLessThanOrEqual(1); // what arrived is one run from depth 0: nothing skipped
      expect(top).toBeGreaterThanOrEqual(last); // and it only grows
      if (top > last) cuts++;
      last = top;
    }
    expect(cuts).toBeGreaterThanOrEqual(4);
    const line = new SimLine(board, BAUD, CLOCK * 1000, { seed: 1 });
    const { pulled, report } = await pullInto(store, line, {});
    expect(report.refusals).toEqual([]);
    expectWholeFeed(store, image, pulled.next);
    // the last pull asked only for what the store lacked
    expect(pulled.messages).toBe(pulled.next - 1 - last);
  }, 120_000);

  it("a console that keeps printing other lines while no answer comes: the pull gives up, it does not wait for ever", async () => {
    // a user's own code printing every 100 ms, and nothing of the link protocol
    let t = 0,
      writes = 0;
    const chatty = {
      write: async () => void writes++,
      read: async (ms: number) => ((t += Math.min(ms, 100)), "debug: 21.5 C\n"),
      now: () => t,
    };
    await expect(
      pullFeed(chatty, {
        held: { ranges: () => [], idAt: () => undefined },
        id: () => "",
        take: () => {},
        timeoutMs: 500,
        retries: 2,
      })
    ).rejects.toThrow(/stopped answering/);
    expect(writes).toBe(3); // asked, then asked again twice
    expect(t).toBeLessThan(3 * 500 + 3 * 300 + 1000);
  });

  it("a logger flashed --no-link: the pull stops with the console's reason and stores nothing", async () => {
    const { board, store } = await logger(
      3,
      2,
      readFileSync(join(__dirname, "../dist/firmware-nolink.js"), "utf8")
    );
    const line = new SimLine(board, BAUD, CLOCK * 1000, { seed: 1 });
    await expect(pullInto(store, line, {})).rejects.toThrow(/flashed with --no-link/);
    expect(store.authors()).toEqual([]);
  }, 60_000);
});
