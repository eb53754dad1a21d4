// A logger's feed pulled over a line to its console (spec/link.md), for
// `pigeon pull` and the viewer's "Connect a logger": what the host lacks of
// the feed is asked for, an answer at a time; each frame's wire records are
// rebuilt into message texts and handed on at once (to be verified and kept),
// so a pull that is cut off resumes from what was kept. A frame that is lost
// or garbled, or an answer that stops, is asked for again from the first
// depth the host lacks. No Node APIs: the line is given (a serial port, a TCP
// socket, Web Serial, a simulated board).
import { answer, frameBytes, rebuild, request, type Rebuilding } from "../../src/link";

/** A line to a board's console. */
export interface Line {
  /** Sends ASCII text. */
  write(text: string): Promise<void>;
  /** The next bytes received (as a byte string), or null when none came within ms of the line's time. */
  read(ms: number): Promise<string | null>;
  /** The host's clock, ms since 1970 (the line's: a simulated line has its own). */
  now(): number;
}

/** A line that can be closed. */
export type OpenLine = Line & { close(): Promise<void>; name: string };

/** Bytes received, waiting for read(); read() waits for more, up to its time. */
export class Inbox {
  private chunks: string[] = [];
  private wake: (() => void) | null = null;
  closed = false;
  put(s: string) {
    this.chunks.push(s);
    this.wake?.();
  }
  close() {
    this.closed = true;
    this.wake?.();
  }
  async read(ms: number): Promise<string | null> {
    if (!this.chunks.length && !this.closed)
      await new Promise<void>((ok) => {
        const t = setTimeout(ok, ms);
        this.wake = () => (clearTimeout(t), (this.wake = null), ok());
      });
    if (!this.chunks.length) return null;
    const s = this.chunks.join("");
    this.chunks = [];
    return s;
  }
}

/** Bluetooth LE's Nordic UART service, which Espruino's Puck.js, Bangle.js and MDBT42Q boards give their console. */
export const NUS = "6e400001b5a3f393e0a9e50e24dcca9e",
  NUS_TX = "6e400002b5a3f393e0a9e50e24dcca9e",
  NUS_RX = "6e400003b5a3f393e0a9e50e24dcca9e";
/** The smallest GATT write (20 bytes) that every central can make. */
export const BLE_CHUNK = 20;

/** Names Espruino boards advertise over Bluetooth LE. */
export const ESPRUINO_NAMES = /^(Puck\.js|Bangle\.js|Pixl\.js|MDBT42Q|Espruino)/;

/** What the host holds of feeds: depth ranges and ids (the store, or the viewer's memory). */
export interface Held {
  ranges(author: string): [number, number][];
  idAt(author: string, depth: number): string | undefined;
}

export interface PullOptions {
  held: Held;
  /** The id of a message text (its SHA-256, as "%...sha256"). */
  id(text: string): string;
  /** Takes a rebuilt message (verifies and keeps it, or refuses it); called in depth order within an answer. */
  take(text: string, depth: number): void;
  /** Only the newest n messages (after their certificate path), not the whole feed. */
  latest?: number;
  /** Sets the board's clock to the host's before pulling. */
  setClock?: boolean;
  /** Most messages an answer may hold (the board also ends one after about half a second). */
  chunk?: number;
  /** How long the line may stay silent before an answer counts as lost (ms). */
  timeoutMs?: number;
  /** Answers in a row that broke off and brought nothing, before the pull gives up. */
  retries?: number;
  /** Only the hello: who the board is, what it holds, its clock. */
  helloOnly?: boolean;
  /** Messages taken so far, of those wanted. */
  progress?(taken: number, wanted: number): void;
}

/** The board's clock against the host's: what it said and when (ms since 1970), and the offset seen (board - host). */
export interface ClockReading {
  boardMs: number;
  hostMs: number;
  offsetMs: number;
}
export interface Pulled {
  identity: string;
  /** The board's log: its first depth and the next one, at the end. */
  first: number;
  next: number;
  /** The clock as found; after --set-clock also as left. */
  clock: ClockReading;
  clockAfter?: ClockReading;
  /** Messages rebuilt and handed to take. */
  messages: number;
  /** Answer lines read, and those garbled or out of order; answers asked for, and those asked for again. */
  frames: number;
  badFrames: number;
  requests: number;
  retried: number;
  /** Pages the board's card lost (its LOST lines). */
  lost: { page: number; reason: string }[];
  /** Bytes received. */
  bytes: number;
}

const MAX_DEPTH = 9007199254740991;

/** Pulls what the host lacks of the board's feed over the line; throws when the board does not answer (the messages taken stay taken). */
export async function pullFeed(line: Line, o: PullOptions): Promise<Pulled> {
  const chunk = o.chunk ?? 256,
    timeoutMs = o.timeoutMs ?? 3000,
    retries = o.retries ?? 8,
    quietMs = Math.min(timeoutMs, 300);
  let pending = "",
    tag = Math.floor(Math.random() * 1000) * 1000,
    failures = 0;
  const out: Pulled = {
    identity: "",
    first: 0,
    next: 0,
    clock: { boardMs: 0, hostMs: 0, offsetMs: 0 },
    messages: 0,
    frames: 0,
    badFrames: 0,
    requests: 0,
    retried: 0,
    lost: [],
    bytes: 0,
  };

  /** The next answer line of the line, or null when none came within ms. */
  const nextLine = async (ms = timeoutMs): Promise<string | null> => {
    // within ms of now: a console that keeps printing other lines (a user's own code) is silence too
    const until = line.now() + ms;
    for (;;) {
      const nl = pending.indexOf("\n");
      if (nl >= 0) {
        const l = pending.slice(0, nl).replace(/[\r\x11\x13]/g, ""); // CR, and XON/XOFF a UART may slip in
        pending = pending.slice(nl + 1);
        if (l.includes("~PGN ")) return l;
        // the console's own error: a firmware without the pull server (older, or flashed --no-link), or one that failed
        if (/Uncaught .*(pull|PigeonLogger|--no-link)/.test(l))
          throw new Error(
            `the logger cannot answer a pull: ${l.slice(l.indexOf("Uncaught")).trim()} (take its card out, or flash it again without --no-link)`
          );
        continue;
      }
      const left = until - line.now(),
        got = left > 0 ? await line.read(left) : null;
      if (got === null) return null;
      out.bytes += got.length;
      pending += got;
    }
  };

  /**
   * One request and its answer. Returns the END's next depth, or null when the
   * answer broke off (a line lost or garbled, silence); what came before that
   * was taken. hello: the HI line's fields are given to it.
   */
  const ask = async (
    have: string,
    from: number,
    max: number,
    hello?: (f: string[], sent: number, at: number) => void
  ): Promise<number | null> => {
    const t = String(++tag),
      ids = new Map<number, string>(),
      sent = line.now();
    const held = have ? have.split(" ").slice(1).map(Number) : [0, -1];
    const st: Rebuilding = {
      author: out.identity,
      expected: from,
      linkId: (d) =>
        ids.get(d) ?? (d >= held[0] && d <= held[1] ? o.held.idAt(out.identity, d) : undefined),
    };
    out.requests++;
    await line.write(request(Number(t), have, from, max));
    let seq = 0,
      hi = false;
    /** The answer broke off: the rest of it is let go by (until its end, or a quiet line), so that the next answer does not meet it. */
    const broken = async (): Promise<null> => {
      out.badFrames++;
      for (let l; (l = await nextLine(quietMs)) !== null;) {
        const a = answer(l);
        if (a && a[0] === t && (a[1] === "END" || a[1] === "ERR" || a[1] === "AGAIN")) break;
      }
      return null;
    };
    for (;;) {
      const l = await nextLine();
      if (l === null) return null; // silence: the request or the whole answer was lost
      const a = answer(l);
      if (a === null) continue;
      if (!a.length) return broken(); // garbled
      if (a[0] !== t) continue; // an answer to an earlier request, still under way
      out.frames++;
      if (a[1] === "ERR") {
        if (a.slice(2).join(" ") !== "not started")
          throw new Error(`the logger says: ${a.slice(2).join(" ")}`);
        // still starting (its card not mounted yet): a while, then ask again (spec/link.md)
        while ((await nextLine()) !== null);
        return null;
      }
      if (a[1] === "AGAIN") {
        out.badFrames++;
        return null; // the request came garbled
      }
      if (a[1] !== "HI" && !hi) return broken(); // the answer's hello was lost
      if (a[1] === "HI") {
        hi = true;
        if (out.identity && a[2] !== out.identity)
          throw new Error(
            `the board on the line is ${a[2]}, not ${out.identity}: another logger was connected`
          );
        out.identity = st.author = a[2];
        out.first = Number(a[3]);
        out.next = Number(a[4]);
        hello?.(a, sent, line.now());
      } else if (a[1] === "B" || a[1] === "M") {
        if (Number(a[2]) !== seq++) return broken(); // a frame was lost before this one
        const bytes = frameBytes(a);
        if (bytes === null)
          throw new Error(
            `the board sent a frame the host cannot read: its ${a[1] === "B" ? "escapes" : "base64"} are not valid`
          );
        const why = rebuild(st, bytes, (text, d) => {
          ids.set(d, o.id(text));
          out.messages++;
          o.take(text, d);
        });
        if (why) throw new Error(`the board sent a frame the host cannot read: ${why}`);
      } else if (a[1] === "LOST")
        out.lost.push({ page: Number(a[2]), reason: a.slice(3).join(" ") });
      else if (a[1] === "END") {
        if (Number(a[2]) !== seq) return broken(); // the last frames were lost
        return Number(a[3]);
      }
    }
  };
  /** ask(), counting answers in a row that broke off and brought nothing: too many, and the pull gives up. */
  const askWhole = async (
    have: string,
    from: number,
    max: number,
    hello?: (f: string[], sent: number, at: number) => void
  ): Promise<number | null> => {
    const before = out.messages,
      r = await ask(have, from, max, hello);
    if (r !== null || out.messages > before) failures = 0;
    else if (++failures > retries)
      throw new Error(
        `the logger stopped answering (${retries + 1} answers in a row were lost, garbled or silent; what arrived before is kept)`
      );
    if (r === null) out.retried++;
    return r;
  };
  /** The board's clock from a HI line (field 5), taken as read halfway between the request and the answer. */
  let oneWay = 0;
  const hello = async (): Promise<ClockReading> => {
    let c: ClockReading | undefined;
    while (
      (await askWhole("", 0, 0, (f, sent, at) => {
        const hostMs = Math.round((sent + at) / 2);
        oneWay = (at - sent) / 2;
        c = { boardMs: Number(f[5]), hostMs, offsetMs: Number(f[5]) - hostMs };
      })) === null
    );
    return c!;
  };

  // hello: who the board is, what it holds, its clock
  out.clock = await hello();
  if (o.setClock) {
    await line.write(`\x10setTime(${((line.now() + oneWay) / 1000).toFixed(3)})\n`);
    out.clockAfter = await hello();
  }
  if (o.helloOnly) return out;

  // what is wanted: the whole feed, or the newest n; each answer fills the first gap left in it
  const lo = o.latest ? Math.max(out.first, out.next - o.latest) : out.first;
  let cursor = lo,
    taken = 0;
  const counted = out.messages;
  for (;;) {
    const ranges = o.held.ranges(out.identity);
    let g = cursor;
    for (const [a, b] of ranges) if (a <= g && g <= b) g = b + 1;
    if (g >= out.next) break;
    const below = ranges.find(([, b]) => b === g - 1),
      above = ranges.find(([a]) => a > g);
    const have = below ? `${out.identity} ${below[0]} ${below[1]}` : "";
    const max = Math.min(chunk, (above ? above[0] : out.next) - g);
    const next = await askWhole(have, g, Math.min(max, MAX_DEPTH));
    taken = out.messages - counted;
    o.progress?.(taken, Math.max(taken, out.next - lo));
    if (next === null) continue; // asked again from what the host lacks now
    if (next <= g) break; // the board has nothing more from there (its card lost the rest)
    cursor = next; // depths the board skipped (lost on its card) or the host refused are not asked for again
  }
  return out;
}
