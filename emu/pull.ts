// A pull from the emulated board over its serial port as TCP (spec/link.md),
// as `pigeon pull --port tcp://127.0.0.1:PORT` makes it: the card holds a
// feed the simulator wrote with the board's seed (a board that has logged for
// weeks: the emulated one would take hours to write it), the board boots over
// it and logs on while the host pulls; the line can be cut at given byte
// counts (the cable pulled), and each pull after a cut resumes from what the
// store holds. The host then checks the store against the card, byte for byte,
// and the readings that fell due during the pull against their schedule.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openImage } from "../sim/card/image";
import { readCard } from "../sim/card/read";
import { loggerBoard } from "../sim/loggerboard";
import type { OpenLine } from "../targets/host/pull";
import { openLine, pullInto } from "../targets/node/pull";
import { Store } from "../targets/node/store";
import { makeCard, prepareFlash, SD_PINS } from "./board";
import { BoardName, runQemu, Symbols, Toolkit } from "./qemu";
import type { AnsweredTrace } from "./uart";

// peek8 marks around each answer of the board (emu/board.ts has 1 and 2), and at each console write of
// n bytes, WROTE + n (an address in the flash's alias at 0: reading it is harmless)
const AT_PULL = 3,
  PULLED = 4,
  WROTE = 1024,
  CALIBRATE = [5, 6, 7]; // around 20 writes of nothing, before and after the console's write is wrapped
/**
 * The user code the board gets in .boot0 besides the hooks: once the logger
 * runs, PigeonLogger.pull (what the host's request line calls) is wrapped in
 * two marks, so that the probe counts the instructions of each answer, and the
 * console device's write (what the answer goes out by) in a mark of its length.
 */
const MARK_PULLS = `setTimeout(function wrap() {
  if (typeof PigeonLogger == "undefined" || !PigeonLogger.state.feed) return setTimeout(wrap, 200);
  var pull = PigeonLogger.pull, con = global[E.getConsole()], write = con.write, i;
  PigeonLogger.pull = function (a, b, c, d, e) { peek8(${AT_PULL}); try { pull(a, b, c, d, e); } finally { peek8(${PULLED}); } };
  peek8(${CALIBRATE[0]}); for (i = 0; i < 20; i++) con.write("");
  con.write = function (s) { peek8(${WROTE} + s.length); write.call(con, s); };
  peek8(${CALIBRATE[1]}); for (i = 0; i < 20; i++) con.write("");
  peek8(${CALIBRATE[2]});
}, 200);
`;
const SEED = Uint8Array.from({ length: 32 }, (_, i) => (i * 13 + 7) & 255);

export interface EmulatedPull {
  /** Messages the simulator put on the card before the board booted. */
  before: number;
  /** Messages on the card at the end (the board logged on during the pull). */
  after: number;
  /** The store's depth ranges of the feed at the end. */
  held: [number, number][];
  /** Depths whose text in the store differs from the card's. */
  differ: number[];
  /** Pulls that were cut, and messages each left in the store. */
  cut: number[];
  /** Messages and bytes the host received in the last (uncut) pull, wall seconds of all. */
  lastPull: { messages: number; bytes: number; retried: number };
  seconds: number;
  /** Instructions the board spent in its answers, per message kept (with cuts, what was sent after a cut counts too). */
  insnsPerMessage: number;
  /** Readings appended during the pull, and the seconds between each and the one before. */
  during: number;
  gaps: number[];
  refused: number;
  /** With profile: the answers' instructions by the firmware's C function, most first. */
  byFunction: [string, number][];
  /** The answers of the last pull (its instructions and console writes) and the bytes of each one's request: emu/uart.ts. */
  answers: AnsweredTrace[];
  requestBytes: number[];
  /** Instructions the mark around a console write adds to it (not the board's: left out of the figures above). */
  markInsns: number;
}

/**
 * Boots `board` over a card of `messages` readings (one every `interval`
 * seconds), pulls its feed over tcp://127.0.0.1, cutting the line after each
 * of `cutAt` received byte counts, then once more to the end.
 */
export async function emulatedPull(
  kit: Toolkit,
  o: {
    board: BoardName;
    messages: number;
    interval: number;
    cutAt?: number[];
    timeout?: number;
    /** Also where the answers' instructions go, by the firmware's C function. */
    profile?: boolean;
  }
): Promise<EmulatedPull> {
  const dir = mkdtempSync(join(tmpdir(), "pigeon-emupull-")),
    card = join(dir, "card.img"),
    flash = join(dir, "flash.img"),
    config = `sd=${SD_PINS}\ninterval=${o.interval}\n`;
  makeCard(card, 64);
  // the feed so far, written by the simulated board with the same seed and configuration, ending before the
  // emulated board's clock starts (the toolkit's RTC: 2026-01-01)
  const img = await openImage(card),
    start = Date.parse("2026-01-01T00:00:00Z") / 1000 - o.messages * o.interval - 3600;
  loggerBoard({ profile: o.board, image: img, clock: start, seedBytes: [...SEED], config }).runFor(
    o.messages * o.interval + 0.5
  );
  img.save();
  prepareFlash(kit, flash, {
    board: o.board,
    config,
    readings: 1e9,
    native: true,
    seed: SEED,
    sensors: MARK_PULLS,
  });
  const port = 20000 + Math.floor(Math.random() * 40000),
    peek = new Symbols(kit.firmware(o.board).syms).address("jswrap_io_peek");
  let stop = () => {};
  const run = runQemu({
    kit,
    board: o.board,
    flash,
    card,
    timeout: o.timeout ?? 900,
    serialTcp: port,
    args: [peek],
    profile: o.profile,
    started: (s) => (stop = s),
  });
  const t0 = performance.now(),
    store = new Store(join(dir, "store")),
    cut: number[] = [],
    requestBytes: number[] = [];
  let refused = 0,
    last = { messages: 0, bytes: 0, retried: 0 };
  try {
    for (const at of [...(o.cutAt ?? []), Infinity]) {
      const open = await connect(`tcp://127.0.0.1:${port}`),
        // the last pull's requests, for the line's model (emu/uart.ts)
        line: OpenLine =
          at === Infinity
            ? {
                ...open,
                write: (t: string) => (
                  t.includes("PigeonLogger.pull(") && requestBytes.push(t.length),
                  open.write(t)
                ),
              }
            : open;
      try {
        const { pulled, report } = await pullInto(store, cutAfter(line, at), {
          timeoutMs: 10000, // the emulator on a loaded machine is slow
          retries: at === Infinity ? 8 : 2,
        });
        refused += report.refusals.length;
        last = { messages: pulled.messages, bytes: pulled.bytes, retried: pulled.retried };
        if (at !== Infinity) cut.push(-1); // the feed came whole before the cut
      } catch (e) {
        if (at === Infinity) throw e;
        const a = store.authors();
        cut.push(a.length ? store.ranges(a[0]).reduce((n, [x, y]) => n + y - x + 1, 0) : 0);
      } finally {
        await open.close();
      }
    }
  } finally {
    stop();
  }
  const r = await run,
    seconds = (performance.now() - t0) / 1000;
  // instructions inside the board's answers (its pull calls, between the marks), and by function: each event's profile is
  // the span since the event before it
  const syms = new Symbols(kit.firmware(o.board).syms),
    fns = new Map<string, number>();
  const answers: AnsweredTrace[] = [],
    cal: number[] = [];
  let inside = 0,
    from = -1,
    wrote = 0;
  for (const e of r.events) {
    if (CALIBRATE.includes(e.r[0]) && cal.length < 3) cal.push(e.count);
    if (e.r[0] === AT_PULL) answers.push({ start: e.count, writes: [], end: e.count });
    else if (e.r[0] === PULLED && answers.length) answers[answers.length - 1].end = e.count;
    else if (e.r[0] >= WROTE && from >= 0) {
      answers[answers.length - 1].writes.push({ at: e.count, bytes: e.r[0] - WROTE });
      wrote++;
    }
    if (from >= 0 && e.profile)
      for (const [pc, n] of e.profile) {
        const f = syms.at(pc) ?? "?";
        fns.set(f, (fns.get(f) ?? 0) + n);
      }
    if (e.r[0] === AT_PULL) from = e.count;
    else if (e.r[0] === PULLED && from >= 0) ((inside += e.count - from), (from = -1));
  }
  if (cal.length < 3)
    throw new Error("the board did not run the calibration of its console's marks");
  const markInsns = Math.max(0, (cal[2] - cal[1] - (cal[1] - cal[0])) / 20);
  const messages = readCard(await openImage(card))[0].messages,
    author = store.authors()[0],
    held = store.ranges(author),
    differ: number[] = [];
  store.each(author, (t, d) => void (t !== messages[d] && differ.push(d)));
  const times = messages.map((t) => Number(JSON.parse(/\nt:(".*")/.exec(t)![1])));
  const gaps = times.slice(o.messages + 1).map((t, i) => t - times[o.messages + i]);
  rmSync(dir, { recursive: true, force: true }); // the card and flash images: 64 MiB
  return {
    before: o.messages,
    after: messages.length,
    held,
    differ,
    cut,
    lastPull: last,
    seconds,
    insnsPerMessage: (inside - wrote * markInsns) / held.reduce((n, [a, b]) => n + b - a + 1, 0),
    during: messages.length - o.messages,
    gaps,
    refused,
    byFunction: [...fns].sort((a, b) => b[1] - a[1]),
    // the last pull's answers, each with its request (a request before the marks were set, answered
    // "not started", has none)
    answers: answers.slice(-Math.min(answers.length, requestBytes.length)),
    requestBytes: requestBytes.slice(-Math.min(answers.length, requestBytes.length)),
    markInsns,
  };
}

/** The line to QEMU's serial port, once it listens (a loaded machine starts QEMU slowly): 60 s at most. */
async function connect(port: string): Promise<OpenLine> {
  for (let tries = 0; ; tries++)
    try {
      return await openLine(port);
    } catch (e) {
      if (tries >= 300 || !/ECONNREFUSED/.test((e as Error).message)) throw e;
      await new Promise((ok) => setTimeout(ok, 200));
    }
}

/** The line, taken out after `at` bytes came in: what comes later is not read, and the line closes. */
function cutAfter(line: OpenLine, at: number): OpenLine {
  let received = 0;
  return {
    ...line,
    async read(ms: number) {
      if (received >= at) return null;
      const got = await line.read(ms);
      if (got === null) return null;
      received += got.length;
      if (received < at) return got;
      await line.close();
      return got.slice(0, got.length - (received - at));
    },
  };
}
