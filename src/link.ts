// Bundles over a wire (spec/link.md): a logger's feed pulled over its console
// (USB, a UART, Bluetooth LE's UART, or a TCP port standing for one of them).
// The host types one request line; the board answers with lines that start
// with "~PGN " and end in a CRC-32 of the line: what it holds and its clock
// (HI), frames of wire records (M), pages its card lost (LOST), where the
// answer stopped (END), that the request came garbled (AGAIN), or why it
// cannot answer (ERR). A wire record is the
// card's record (spec/card.md) without what the host can derive: a link to a
// message it holds or was sent earlier in the answer, the depth after the
// record before, and the kind and keys when they repeat the record before's.
// Nothing is acknowledged: the host's store is the only state, and a pull
// that was cut off is resumed by the next request, from what the store holds.
//
// The board answers (serve); the host reads the lines (answer) and rebuilds
// the texts (rebuild). On Espruino the byte work is native: E.toString, btoa,
// E.CRC32, and String split/indexOf/substr.
import { b32decode } from "./base32";
import { certificatePath, lipmaa } from "./lipmaa";
import { compose, File, Log, number, part, parts, rec, records, text } from "./log";
import { bytesInto, esp } from "./engine";
import { decimal } from "./message";

declare var PIGEON_FIRMWARE: any; // set only in the firmware's build (scripts/build.mjs)
declare var btoa: (s: string) => string, atob: (s: string) => string;

/** What every answer line starts with. */
export var MAGIC = "~PGN ";
// a wire record's head byte: the links it carries as ids, whether its body is values only, whether it gives its depth
var W_PREV = 1,
  W_LIPMAA = 2,
  W_SAME = 4,
  W_DEPTH = 8;
var FRAME = 600; // bytes of wire records a frame holds at most (a longer record has a frame of its own)
var ESCAPE_ROOM = 80; // room after them for the kernel to escape in place (a frame with more goes as base64)
var BUDGET_MS = 500; // an answer ends after the frame that passes this, so the board's timers run between answers
var SHAPE_MAX = 255; // the longest shape kept for the record after (a longer one: that record is sent whole)
// the state wire() shares with the kernel (kernels.c wire_page): the words of io, and the shape of the record before
var IO_AT = 0,
  IO_END = 1,
  IO_COUNT = 2,
  IO_FROM = 3,
  IO_LEFT = 4,
  IO_LEN = 5,
  IO_CAP = 6,
  IO_HF = 7,
  IO_HL = 8,
  IO_RUN = 9,
  IO_NEXT = 10;
var KERNEL_DEPTHS = 1073741824; // 2^30: the kernel takes logs whose depths are all below this
/** The bytes a B frame escapes (kernels.c frame_escape), each sent as ESC and the byte XOR 0x40: line ends, XON/XOFF, NUL. */
var ESCAPED = "\x1b\x00\n\r\x11\x13";

/**
 * Kernels that make frames (kernels.c), where the board has them, bound to one answer's arrays (io,
 * the frame out, shape; null when they cannot be: an array not flat): wire(b) makes the wire records of
 * page b as wire() does, escape(n) a B frame's escapes of out[0..n) (-1: no room). Bound once an
 * answer: nothing writes Storage while it runs, so the blob stays where it is.
 */
export interface FrameKernels {
  frames(
    io: Int32Array,
    out: Uint8Array,
    shape: Uint8Array
  ): { wire(b: Uint8Array): number; escape(n: number): number } | null;
}
var kernels: FrameKernels | null = null;
// where the answer before stopped: its log, the depth to ask for next and the last page it read, from which
// the next answer starts without looking the page up (some 25 ms on a Pico)
var stoppedIn: Log | undefined,
  stoppedAt = -1,
  stoppedPage = -1;
/** Binds the kernels (null: JavaScript alone, as where there are none). */
export function setFrameKernels(k: FrameKernels | null) {
  kernels = k;
}

// ---- checks ----
var table: Int32Array | null = null;
/** CRC-32 (the zip one) of a string's character codes taken as bytes: Espruino's E.CRC32 where there is one. */
export function crc32(s: string): number {
  var c = -1,
    i,
    j,
    t;
  // Espruino has it on every board: the firmware's build leaves the table out
  if (typeof PIGEON_FIRMWARE != "undefined" || (esp && esp.CRC32)) return esp.CRC32(s);
  if (!table) {
    table = new Int32Array(256);
    for (i = 0; i < 256; i++) {
      for (t = i, j = 0; j < 8; j++) t = t & 1 ? (t >>> 1) ^ 0xedb88320 : t >>> 1;
      table[i] = t;
    }
  }
  for (i = 0; i < s.length; i++) c = (c >>> 8) ^ table[(c ^ s.charCodeAt(i)) & 255];
  return (c ^ -1) >>> 0;
}
function hex8(n: number): string {
  return ("0000000" + n.toString(16)).slice(-8);
}
/**
 * An answer line: the text, a space, the CRC-32 of the text in 8 lower-case hex digits, and LF. The
 * text is copied once: on Espruino each + that a long string stands left of copies it.
 */
export function answerLine(t: string): string {
  return t + (" " + hex8(crc32(t)) + "\n");
}

/** The bytes of an escaped frame, or null when an ESC is not followed by an escaped byte XOR 0x40. */
export function unescape(s: string): string | null {
  var p = s.split("\x1b"),
    out = p[0],
    i,
    c;
  for (i = 1; i < p.length; i++) {
    c = String.fromCharCode(p[i].charCodeAt(0) ^ 64);
    if (!p[i] || ESCAPED.indexOf(c) < 0) return null;
    out += c + p[i].substring(1);
  }
  return out;
}

// ---- the request ----
function requestText(tag: number, have: string, from: number, max: number): string {
  return decimal(tag) + " " + decimal(from) + " " + decimal(max) + " " + have;
}
/**
 * The line a host types to ask for messages: DLE (Espruino then neither
 * echoes it nor prints its value), a call of the firmware's pull with the
 * answer's tag, the have-line ("" or "@<id> <first> <last>"), the first depth
 * wanted, the most messages to send, and a check of the four; then LF.
 */
export function request(tag: number, have: string, from: number, max: number): string {
  return (
    "\x10PigeonLogger.pull(" +
    decimal(tag) +
    "," +
    JSON.stringify(have) +
    "," +
    decimal(from) +
    "," +
    decimal(max) +
    ',"' +
    hex8(crc32(requestText(tag, have, from, max))) +
    '")\n'
  );
}

// ---- the board's answer ----
/**
 * Answers a request (see request()) with lines given to write (the console's bytes as they are: each
 * line ends in LF, a frame's line may come in pieces): HI (identity,
 * the log's first and next depth, the board's clock in ms since 1970), then
 * the certificate path from `from` down to what the host holds (or to the
 * log's first depth), ascending, then the messages from `from` on, at most max
 * of them and for about half a second, as frames of wire records, then END
 * (the frames sent and the depth to ask for next). The log's reading handle is
 * reader; without a log, why says why (ERR). clock gives ms since 1970.
 */
export function serve(
  log: Log | undefined,
  reader: File,
  ident: string,
  why: string,
  tag: number,
  have: string,
  from: number,
  max: number,
  check: string,
  write: (bytes: string) => void,
  clock: () => number
) {
  var f = have ? ("" + have).split(" ") : [],
    base,
    path: number[],
    i: number,
    lost = function (page: number, why: string) {
      say("LOST " + page + " " + why);
    };
  // the answer's state lives as long as the answer: a board holds none of it between pulls. The frame
  // being filled (len bytes, inFrame records), what the host holds (hf..hl; none: hf > hl), this answer's
  // run of depths (runFrom..expected), the shape of the record before, the records left to send, and the
  // line of the frame before, of which sent bytes are written
  var out = new Uint8Array(FRAME + ESCAPE_ROOM),
    len = 0,
    inFrame = 0,
    frames = 0,
    over = false,
    started: number,
    hf = 0,
    hl = -1,
    runFrom = 0,
    expected = 0,
    shape = new Uint8Array(SHAPE_MAX + 1),
    left = 0,
    io = new Int32Array(11),
    bound = kernels ? kernels.frames(io, out, shape) : null,
    // A frame's line goes out in pieces while the board works on the next frame, each what the console's
    // transmit buffer has room for (Espruino's holds 127 bytes on a Pico, and a write that finds it full
    // waits for the line), as the board reckons it for a line of 115,200 baud: a whole line written at once
    // would stop the work until all but 127 bytes were on the line. A faster line (USB) gets smaller pieces.
    room = 127,
    rate = 11.52, // bytes a millisecond at 115,200 baud (10 bit times a byte)
    ms = Date.now, // here, not looked up through the bundle's names at each turn
    lineAt = 0, // when the line will have sent what was written (ms)
    pending = "",
    sent = 0;
  function send(b: string, now: number) {
    write(b);
    lineAt = (lineAt > now ? lineAt : now) + b.length / rate;
  }
  /** The piece of the frame line before that the transmit buffer has room for now (a turn in the work on the next frame). */
  function drain() {
    if (!pending) return;
    var now = ms(),
      n = lineAt > now ? (room - (lineAt - now) * rate) | 0 : room;
    if (n <= 0) return;
    send(pending.substr(sent, n), now);
    if ((sent += n) >= pending.length) pending = "";
  }
  /** The rest of the frame line before, so that lines stay whole and in order. */
  function finish() {
    if (pending) send(pending.substr(sent), ms());
    pending = "";
  }
  function say(t: string) {
    finish();
    send(answerLine(MAGIC + tag + " " + t), ms());
  }
  // spec/link.md L2: a link is left out only when the host holds its message or this run sent it
  function known(t: number): boolean {
    return (t >= hf && t <= hl) || (t >= runFrom && t < expected);
  }
  /** b[p .. p+n) as a byte string. */
  function bytes(b: Uint8Array, p: number, n: number): string {
    return typeof PIGEON_FIRMWARE != "undefined" || esp
      ? esp.toString(b.subarray(p, p + n))
      : String.fromCharCode.apply(null, b.subarray(p, p + n) as any);
  }
  function varint(d: number): string {
    var s = "";
    for (; d >= 128; d = Math.floor(d / 128)) s += String.fromCharCode(128 + (d % 128));
    return s + String.fromCharCode(d);
  }
  /**
   * The wire record of the card record at r[p..], the message at depth d, into the frame (kernels.c
   * wire_page makes the same bytes). When the frame is full it is sent first; then, if the answer is
   * past its time and mayStop, the record is not taken and this returns true.
   */
  function wire(r: Uint8Array, p: number, d: number, mayStop: boolean): boolean | void {
    if (over && mayStop) return true; // a frame sent early (see records' turn below) passed the time
    drain();
    parts(r, p);
    var s = bytes(r, part.kind, part.end - part.kind),
      k = part.body - part.kind,
      head = 0,
      lines = s.substring(k).split("\n"),
      i,
      c,
      v,
      q,
      w,
      sh = s.substring(0, k), // the shape: the kind, then LF, each key and a quote when its value is a string
      values = ""; // each value (a string's without its quotes) and LF
    for (i = 0; i < lines.length - 1; i++) {
      c = lines[i].indexOf(":");
      v = lines[i].substr(c + 1);
      q = v.charAt(0) == '"';
      sh += "\n" + lines[i].substr(0, c) + (q ? '"' : "");
      values += (q ? v.substr(1, v.length - 2) : v) + "\n";
    }
    if (sh.length > SHAPE_MAX) sh = "";
    if (sh && sh.length == shape[0] && sh == bytes(shape, 1, shape[0])) head = W_SAME;
    if (part.prev >= 0 && !known(d - 1)) head |= W_PREV;
    if (part.lipmaa >= 0 && !known(lipmaa(d)!)) head |= W_LIPMAA;
    if (d != expected) head |= W_DEPTH;
    w =
      String.fromCharCode(head) +
      (head & W_DEPTH ? varint(d) : "") +
      (head & W_PREV ? bytes(r, part.prev, 32) : "") +
      (head & W_LIPMAA ? bytes(r, part.lipmaa, 32) : "") +
      bytes(r, part.sig, 64) +
      (head & W_SAME
        ? values
        : String.fromCharCode(k) +
          s.substring(0, k) +
          String.fromCharCode((s.length - k) & 255, (s.length - k) >> 8) +
          s.substring(k));
    if (len + w.length > FRAME) {
      flush();
      if (over && mayStop) return true;
      if (w.length > out.length) {
        out = new Uint8Array(w.length);
        if (kernels) bound = kernels.frames(io, out, shape);
      }
    }
    bytesInto(w, out, len);
    len += w.length;
    inFrame++;
    if (head & W_DEPTH) runFrom = d;
    expected = d + 1;
    shape[0] = sh.length;
    bytesInto(sh, shape, 1);
  }
  /**
   * walk()'s batch where the kernel is: the records of page b from at on (at.i of n) into frames as
   * wire() would, the frame sent each time it is full; the kernel leaves a record it does not take to wire().
   * A record whole on a page (at most 488 bytes there) always fits an empty frame (FRAME bytes), so a
   * full frame is never an empty one.
   */
  function batch(b: Uint8Array, at: { p: number; i: number }, e: number, n: number): boolean {
    var r;
    if (over) return true;
    drain();
    io[IO_AT] = at.p;
    io[IO_END] = e;
    io[IO_COUNT] = n - at.i;
    io[IO_LEFT] = left;
    io[IO_LEN] = len;
    io[IO_RUN] = runFrom;
    io[IO_NEXT] = expected;
    for (;;) {
      r = bound!.wire(b);
      inFrame += left - io[IO_LEFT];
      left = io[IO_LEFT];
      len = io[IO_LEN];
      runFrom = io[IO_RUN];
      expected = io[IO_NEXT];
      if (r != 1) break;
      flush();
      if (over) return true;
      io[IO_LEN] = 0;
    }
    at.p = io[IO_AT];
    at.i = n - io[IO_COUNT];
    return r == 2;
  }
  function flush() {
    if (!inFrame) return;
    // escaped by the kernel; where there is none (or too many bytes to escape for its room), base64
    var n = bound ? bound.escape(len) : -1;
    finish();
    sent = 0;
    pending = answerLine(
      MAGIC +
        tag +
        " " +
        (n < 0 ? "M " : "B ") +
        frames++ +
        " " +
        inFrame +
        " " +
        (n < 0 ? btoa(bytes(out, 0, len)) : bytes(out, 0, n))
    );
    len = inFrame = 0;
    over = clock() - started > BUDGET_MS;
  }
  if (check != hex8(crc32(requestText(tag, have, from, max))))
    return say("AGAIN the request was garbled: its check does not match");
  if (!log) return say("ERR " + why);
  if (
    f.length &&
    (f.length != 3 ||
      f[0] != ident ||
      (hf = number(f[1], 9007199254740991)) < 0 ||
      (hl = number(f[2], 9007199254740991)) < hf)
  )
    return say("ERR the have-line is not this feed's @<id> <first> <last>: " + have);
  if (!(from >= 0 && from % 1 == 0 && max >= 0 && max % 1 == 0))
    return say("ERR from and max must be whole numbers");
  say(
    "HI " +
      ident +
      " " +
      decimal(log.first) +
      " " +
      decimal(log.next) +
      " " +
      decimal(Math.floor(clock()))
  );
  started = clock();
  from = Math.min(Math.max(from, log.first), log.next);
  runFrom = expected = from;
  // below from: what the host holds, else the log's first depth; the path from there up to from comes first
  base = hl >= hf ? hl : log.first - 1;
  if (from > base + 1 && from < log.next) {
    path = certificatePath(from, base + 1 > log.first ? base : log.first);
    for (i = path.length - 1; i > 0; i--)
      if (path[i] > base)
        records(
          log,
          reader,
          path[i],
          function (r, p, d) {
            if (d == path[i]) wire(r, p, d, false);
            return true;
          },
          lost
        );
  }
  left = Math.min(max, 1e9);
  if (bound && log.next <= KERNEL_DEPTHS) {
    // the kernel's words: depths below 2^30, what the host holds clipped to them
    io[IO_CAP] = FRAME;
    io[IO_FROM] = from;
    io[IO_HF] = Math.min(hf, KERNEL_DEPTHS);
    io[IO_HL] = Math.min(hl, KERNEL_DEPTHS);
  }
  if (left > 0 && from < log.next)
    stoppedPage = records(
      log,
      reader,
      from,
      function (r, p, d) {
        return wire(r, p, d, true) || --left <= 0;
      },
      lost,
      io[IO_CAP] ? batch : undefined,
      function (read) {
        drain();
        // before a page's reads, the line has nothing left to send: the frame goes as it is rather than
        // leave the line idle while the board reads on
        if (!read && !pending && inFrame) flush();
      },
      log == stoppedIn && from == stoppedAt ? stoppedPage : -1
    );
  flush();
  stoppedIn = log;
  stoppedAt = left < Math.min(max, 1e9) ? expected : from;
  say("END " + frames + " " + decimal(stoppedAt));
}

// ---- the host: answer lines and wire records ----
/**
 * The answer in a line the host received (other console output may come
 * before it on the line, such as Espruino's prompt ">"): its words after
 * "~PGN " (tag, kind, fields), [] when its check does not match (a garbled
 * line), or null when the line holds no answer.
 */
export function answer(line: string): string[] | null {
  var i = line.indexOf(MAGIC),
    j,
    t;
  if (i < 0) return null;
  t = line.substring(i);
  j = t.lastIndexOf(" ");
  if (j < 0 || t.substring(j + 1) != hex8(crc32(t.substring(0, j)))) return [];
  return t.substring(MAGIC.length, j).split(" ");
}

/** Reading one answer: the feed's author, the depth of a record that gives none, the shape of the record before, and the ids of messages the host holds or was sent. */
export interface Rebuilding {
  author: string;
  expected: number;
  kind?: Uint8Array;
  keys?: { key: Uint8Array; quoted: boolean }[];
  /** The id ("%...sha256") of the message at a depth, when the host holds it or rebuilt it from this answer. */
  linkId(depth: number): string | undefined;
}
var idBytes = new Uint8Array(52);
/** The 32 bytes of a link whose target the record leaves out, from the id the host holds. */
function held(st: Rebuilding, d: number, what: string): Uint8Array {
  var id = st.linkId(d),
    i;
  if (id == undefined)
    throw (
      what +
      " of depth " +
      st.expected +
      " is left out, but the host holds no message at depth " +
      d
    );
  for (i = 0; i < 52; i++) idBytes[i] = id.charCodeAt(i + 1);
  var out = new Uint8Array(32);
  b32decode(idBytes, 0, 52, out);
  return out;
}
/** The shape of a full body: each line's key, and whether its value is a string. */
function shapeOf(body: Uint8Array): { key: Uint8Array; quoted: boolean }[] {
  var out: { key: Uint8Array; quoted: boolean }[] = [],
    p = 0,
    c,
    e;
  while (p < body.length) {
    for (c = p; c < body.length && body[c] != 58; c++);
    for (e = c; e < body.length && body[e] != 10; e++);
    out.push({ key: body.subarray(p, c), quoted: body[c + 1] == 34 });
    p = e + 1;
  }
  return out;
}
/** A body from the shape before and values each ending in LF at b[o..]; returns it and where the values end. */
function fill(
  keys: { key: Uint8Array; quoted: boolean }[],
  b: Uint8Array,
  o: number,
  n: number
): { body: Uint8Array; end: number } {
  var out: number[] = [],
    i,
    j,
    e;
  for (i = 0; i < keys.length; i++) {
    for (e = o; e < n && b[e] != 10; e++);
    if (e >= n) throw "a record's values run past the frame's end";
    for (j = 0; j < keys[i].key.length; j++) out.push(keys[i].key[j]);
    out.push(58);
    if (keys[i].quoted) out.push(34);
    for (j = o; j < e; j++) out.push(b[j]);
    if (keys[i].quoted) out.push(34);
    out.push(10);
    o = e + 1;
  }
  return { body: new Uint8Array(out), end: o };
}
/**
 * The bytes (a byte string) of the frame in an answer line's words (answer()):
 * B's escaped bytes, or M's base64 (boards without the kernels, or older); null when they
 * cannot be read.
 */
export function frameBytes(a: string[]): string | null {
  if (a[1] == "B") return unescape(a.slice(4).join(" "));
  try {
    return atob(a[4]);
  } catch (e) {
    return null;
  }
}
/**
 * Rebuilds the messages of a frame's wire records (its bytes, s: frameBytes())
 * and gives each text and depth to put, in order, before the next is read (so
 * put can note its id for the links of the records after it). Returns "" or
 * why the frame cannot be read.
 */
export function rebuild(
  st: Rebuilding,
  s: string,
  put: (text: string, depth: number) => void
): string {
  var b,
    n,
    o = 0,
    head,
    d,
    m,
    k,
    l,
    prev,
    lip,
    sig,
    kind,
    body,
    f;
  n = s.length;
  b = new Uint8Array(n);
  for (o = 0; o < n; o++) b[o] = s.charCodeAt(o);
  o = 0;
  try {
    while (o < n) {
      head = b[o++];
      if (head > 15) throw "a record's head byte is " + head;
      d = st.expected;
      if (head & W_DEPTH)
        for (d = 0, m = 1; ; m *= 128) {
          if (o >= n) throw "a record's depth runs past the frame's end";
          d += (b[o] & 127) * m;
          if (b[o++] < 128) break;
        }
      st.expected = d;
      l = lipmaa(d);
      if ((d == 0 && head & W_PREV) || (l == null && head & W_LIPMAA))
        throw "a record at depth " + d + " carries a link its depth does not have";
      prev = d == 0 ? null : head & W_PREV ? b.subarray(o, (o += 32)) : held(st, d - 1, "prev");
      lip = l == null ? null : head & W_LIPMAA ? b.subarray(o, (o += 32)) : held(st, l, "lipmaa");
      sig = b.subarray(o, (o += 64));
      if (head & W_SAME) {
        if (!st.kind || !st.keys)
          throw "a record repeats the shape of a record before it, but is the answer's first";
        f = fill(st.keys, b, o, n);
        kind = st.kind;
        body = f.body;
        o = f.end;
      } else {
        k = b[o++];
        kind = b.subarray(o, (o += k));
        body = b.subarray(o + 2, o + 2 + (b[o] | (b[o + 1] << 8)));
        o += 2 + body.length;
        st.kind = kind;
        st.keys = shapeOf(body);
      }
      if (o > n) throw "a record runs past the frame's end";
      compose(d, prev, lip, sig, kind, body);
      f = text(rec.b, 0, st.author);
      if (f == undefined) throw "the record at depth " + d + " is too short to be a message";
      put(f, d);
      st.expected = d + 1;
    }
  } catch (e) {
    if (typeof e != "string") throw e;
    return e;
  }
  return "";
}
