// The feed store on the card: one preallocated log file per feed, filled in
// place, so that no power cut loses a message once append() has returned.
// spec/card.md states the byte layout and the guarantees; in short:
//
// - A log is made full size once (a seek past its end allocates the clusters
//   without writing them), so appends never touch the FAT. Its header is the
//   last thing made, and carries a check: a log whose making was cut short has
//   no valid header and is made again.
// - Messages are kept as compact records (ids and signature as bytes, the
//   author once per file) in 1 KiB pages. A page is two sectors, slots A and
//   B, and the page being filled is written alternately to them: the slot not
//   being written always holds every record already acknowledged, so a torn
//   write loses only the record in flight. A slot carries its page number, the
//   log's random epoch and a SHA-256 check, so stale or torn sectors are
//   recognised and never served.
// - A record larger than the room left runs on into the next pages; each of
//   those names the page and the slot version its record began in, so the
//   pages of a record whose append was cut are recognised and never served.
// - An index sector (first depth and record count of 60 pages) is written
//   once, whole, when its 60th page is sealed; it is a cache, rebuilt from
//   the pages whenever it is missing or torn.
// - Mount reads the header, finds the last index sector by bisection, and
//   bisects the pages after it for the tail: a year of readings mounts by
//   reading well under 1% of the log.
//
// I/O goes through Espruino's file API (E.openFile and its File objects),
// which the board has and the simulator and the host tool reproduce.
import { b32decode, b32encode } from "./base32";
import { bytesInto, bytesOf, copy, fill, grow } from "./engine";
import { at, decimal, parse } from "./message";
import { sha256 } from "./sha256";
import { decode } from "./utf8";

declare var PIGEON_FIRMWARE: any; // set only in the firmware's build (scripts/build.mjs): the board never reads every page

/** Espruino's File object, as E.openFile returns it. */
export interface File {
  read(n: number): string | undefined;
  write(data: Uint8Array | string): number;
  seek(n: number): void;
  close(): void;
  /** The file's size in bytes, where the reader knows it (the host): a log cut short is then reported. */
  size?(): number;
}
/** What the store needs of the card: Espruino's E.openFile(path, mode). */
export interface Disk {
  openFile(path: string, mode: string): File | undefined;
}

// ---- the byte layout (spec/card.md, "Byte layout"); numbers are little-endian ----
var SECTOR = 512;
var CHECK = 504; // a sector this store writes ends in a check: the first 8 bytes of SHA-256 of bytes 0..503
// a slot, one version of a page
var S_EPOCH = 0,
  S_PAGE = 4,
  S_SEQ = 8,
  S_USED = 12,
  S_COUNT = 14,
  S_FLAGS = 15,
  S_DATA = 16;
export var PAGE_ROOM = CHECK - S_DATA; // 488 bytes of data area
var RUNS_IN = 1,
  RUNS_ON = 2; // slot flags: the data area begins with the rest of a record begun on an earlier page; the last record goes on into the next page
// a continuation head, at the start of the data area of a page flagged RUNS_IN
var C_PAGE = 0,
  C_SEQ = 4,
  C_DEPTH = 8,
  C_BYTES = 15,
  C_HEAD = 17;
// a record
var R_LEN = 0,
  R_DEPTH = 2,
  R_FLAGS = 9,
  R_LINKS = 10,
  HAS_PREV = 1,
  HAS_LIPMAA = 2;
var R_MIN = R_LINKS + 64 + 1 + 1 + 6; // signature, a one-character kind, one shortest entry (k:"x" LF)
// an index sector
export var INDEX_ENTRIES = 60; // pages per index sector
var I_ENTRY = 8,
  I_EPOCH = 480,
  I_NUMBER = 484; // an entry: the page's depth (7) and records that begin on it (1)
// the header: text lines, padded with spaces, then the check
var MAGIC = "PIGEON-LOG ",
  VERSION = 2;
var MAX_PAGES = 2097152; // a file of at most 2 GiB (FAT16) holds fewer

/** The reasons a log cannot be used, as codes a caller tests (the error's message says the same in words). */
export var NO_HEADER = "NO_HEADER",
  BAD_HEADER = "BAD_HEADER",
  LOG_FULL = "LOG_FULL",
  TOO_LARGE = "TOO_LARGE",
  BAD_TAIL = "BAD_TAIL";
function fail(code: string, why: string): never {
  var e = new Error(why);
  (e as any).code = code;
  throw e;
}

// slot: the page image readPage() chose, a view of what the file gave (it is not copied: on Espruino a
// copy of 512 bytes costs as much as reading them); let go (slot = sec) once a mount or a walk is done,
// so that a board between pulls keeps no page in its variables
var sec: Uint8Array = new Uint8Array(SECTOR),
  slot = sec,
  digest = new Uint8Array(32),
  digestWords = new DataView(digest.buffer);

// Little-endian fields of 2, 4 and 7 bytes (a depth: up to 2^53), in straight lines: on Espruino each turn
// of a byte loop costs a few statements, and Math.floor a search for Math through the whole scope.
function put(b: Uint8Array, p: number, v: number, n: number) {
  b[p] = v;
  b[p + 1] = v >> 8;
  if (n == 2) return;
  b[p + 2] = v >> 16;
  b[p + 3] = v >>> 24;
  if (n == 7) {
    v = (v - (v >>> 0)) / 4294967296;
    b[p + 4] = v;
    b[p + 5] = v >> 8;
    b[p + 6] = v >> 16;
  }
}
function get(b: Uint8Array, p: number, n: number) {
  var v = b[p] | (b[p + 1] << 8);
  if (n == 2) return v;
  v += b[p + 2] * 65536 + b[p + 3] * 16777216;
  return n == 7 ? v + (b[p + 4] + b[p + 5] * 256 + b[p + 6] * 65536) * 4294967296 : v;
}
/** Seals a sector (write) or tells whether its check matches. */
function check(b: Uint8Array, write: boolean): boolean {
  sha256(b, 0, CHECK, digest, 0);
  if (write)
    b.set(digest.subarray(0, 8), CHECK); // in C: a loop of 8 bytes is some 30 statements on Espruino
  else {
    // as two words: a DataView's read is native, where a byte loop costs about 150 K instructions on a Pico
    var w = new DataView(b.buffer, b.byteOffset, SECTOR);
    return (
      w.getInt32(CHECK) == digestWords.getInt32(0) &&
      w.getInt32(CHECK + 4) == digestWords.getInt32(4)
    );
  }
  return true;
}
function readSector(f: File, n: number, into: Uint8Array): boolean {
  f.seek(n * SECTOR);
  var s = f.read(SECTOR);
  if (!s || s.length < SECTOR) return false;
  bytesInto(s, into, 0);
  return true;
}

// ---- records: a message without what the log already knows ----
/** The last record(): its bytes in rec.b[0..rec.n), valid until the next call. */
export var rec = { b: new Uint8Array(PAGE_ROOM) as Uint8Array, n: 0 };

/** The record of the message in b[p..] that parse() has just read, into rec; returns its length. */
export function record(b: Uint8Array, p: number): number {
  var kindLen = at.kindEnd - at.kind,
    bodyLen = at.unsigned - 1 - (at.body - p),
    o = R_LINKS,
    r;
  var len =
    R_LINKS + (at.prev > 0 ? 32 : 0) + (at.lipmaa > 0 ? 32 : 0) + 64 + 1 + kindLen + bodyLen;
  r = rec.b = grow(rec.b, len);
  put(r, R_LEN, len, 2);
  put(r, R_DEPTH, at.depth, 7);
  r[R_FLAGS] = (at.prev > 0 ? HAS_PREV : 0) | (at.lipmaa > 0 ? HAS_LIPMAA : 0);
  if (at.prev > 0) o += b32decode(b, at.prev, 52, r.subarray(o));
  if (at.lipmaa > 0) o += b32decode(b, at.lipmaa, 52, r.subarray(o));
  o += b32decode(b, at.sig, 103, r.subarray(o));
  r[o++] = kindLen;
  r.set(b.subarray(at.kind, at.kind + kindLen), o);
  r.set(b.subarray(at.body, at.body + bodyLen), o + kindLen);
  return (rec.n = len);
}
/** Whether the parts of the record at b[p..] fit its length (else it is damaged: the reader reports it). */
function fits(b: Uint8Array, p: number): boolean {
  var len = get(b, p + R_LEN, 2),
    f = b[p + R_FLAGS],
    o = p + R_LINKS + (f & HAS_PREV ? 32 : 0) + (f & HAS_LIPMAA ? 32 : 0);
  return !(len < R_MIN || f > 3 || o + 65 > p + len || o + 65 + b[o + 64] >= p + len);
}
/**
 * The message text (bytes as a byte string on a board) of the record at
 * b[p..] in the log of author, or undefined when its parts do not fit its
 * length (a damaged record: the reader reports it).
 */
export function text(b: Uint8Array, p: number, author: string): string | undefined {
  if (!fits(b, p)) return undefined;
  var len = get(b, p + R_LEN, 2),
    f = b[p + R_FLAGS],
    e = p + len,
    o = p + R_LINKS + (f & HAS_PREV ? 32 : 0) + (f & HAS_LIPMAA ? 32 : 0),
    k = b[o + 64];
  return (
    "author " +
    author +
    "\nkind " +
    decode(b, o + 65, o + 65 + k) +
    "\nprev " +
    link(b, p + R_LINKS, f & HAS_PREV) +
    "\ndepth " +
    decimal(get(b, p + R_DEPTH, 7)) +
    "\nlipmaa " +
    link(b, p + R_LINKS + (f & HAS_PREV ? 32 : 0), f & HAS_LIPMAA) +
    "\n\n" +
    decode(b, o + 65 + k, e) +
    "\nsignature " +
    b32encode(b, o, 64) +
    ".sig.ed25519"
  );
}
/** Where the parts of a record lie (offsets into its bytes; a link that is NONE: -1), as parts() found them. */
export var part = { depth: 0, prev: -1, lipmaa: -1, sig: 0, kind: 0, body: 0, end: 0 };
/** Finds the parts of the record at b[p..] (one that fits its length, as records() gives them) into part. */
export function parts(b: Uint8Array, p: number) {
  var f = b[p + R_FLAGS],
    o = p + R_LINKS;
  part.depth = get(b, p + R_DEPTH, 7);
  part.prev = f & HAS_PREV ? o : -1;
  if (f & HAS_PREV) o += 32;
  part.lipmaa = f & HAS_LIPMAA ? o : -1;
  if (f & HAS_LIPMAA) o += 32;
  part.sig = o;
  part.kind = o + 65;
  part.body = o + 65 + b[o + 64];
  part.end = p + get(b, p + R_LEN, 2);
}
/** The record of a message from its parts, into rec (a link that is NONE: null; kind and body as UTF-8 bytes); returns its length. */
export function compose(
  depth: number,
  prev: Uint8Array | null,
  lipmaa: Uint8Array | null,
  sig: Uint8Array,
  kind: Uint8Array,
  body: Uint8Array
): number {
  var len = R_LINKS + (prev ? 32 : 0) + (lipmaa ? 32 : 0) + 64 + 1 + kind.length + body.length,
    r,
    o = R_LINKS;
  r = rec.b = grow(rec.b, len);
  put(r, R_LEN, len, 2);
  put(r, R_DEPTH, depth, 7);
  r[R_FLAGS] = (prev ? HAS_PREV : 0) | (lipmaa ? HAS_LIPMAA : 0);
  if (prev) r.set(prev, (o += 32) - 32);
  if (lipmaa) r.set(lipmaa, (o += 32) - 32);
  r.set(sig, o);
  r[o + 64] = kind.length;
  r.set(kind, o + 65);
  r.set(body, o + 65 + kind.length);
  return (rec.n = len);
}
function link(b: Uint8Array, p: number, present: number): string {
  return present ? "%" + b32encode(b, p, 32) + ".sha256" : "NONE";
}

// ---- a log file ----
export interface Log {
  path: string;
  author: string;
  version: number; // of the log format (1: records never run on)
  epoch: number;
  pages: number; // capacity, as the header says
  held: number; // pages the file holds (fewer than pages when it was cut short)
  indexSectors: number;
  page: number; // the page being filled: its latest version is tail
  used: number; // its data bytes
  count: number; // its records that start on it
  seq: number; // writes to it so far
  next: number; // depth of the next record
  first: number; // the depth this log starts at
  index: Uint8Array; // the entries (as an index sector holds them) of the sealed pages not yet in one: bytes, not numbers, as a Pico's variables are scarce
  waiting: number; // how many
  indexed: number; // pages covered by index sectors on the card
  dirty: boolean; // the card's version of the tail page also holds the start of a record whose append was cut (mount dropped it from tail)
  broken: string; // why the log can be read but not appended to (its end cannot be found), or ""
  a: File; // writes slot A of every page: each handle only ever moves forward
  b: File; // writes slot B
  tail: Uint8Array; // the page being filled, as it stands: each log has its own
}

function pageSector(log: Log, page: number, s: number) {
  return 1 + log.indexSectors + 2 * page + s;
}
/**
 * The newer valid slot of a page as slot (0: A, 1: B), or -1 when neither is
 * valid (never written, torn, garbled, or past the file's end). The newer by
 * its write count is checked first, the other only when that one is not valid
 * (torn by a cut, or garbled): a check is a SHA-256 of the sector.
 */
function readPage(log: Log, f: File, page: number): number {
  var v: (Uint8Array | null)[] = [],
    i,
    s,
    q;
  if (page >= log.held) return -1;
  if (between) between(false);
  // the slots lie side by side: one seek, and a read each (one read of both failed with DISK_ERR when the
  // emulated Pico mounted a log the simulator had written, though on a log it made itself such reads
  // work anywhere in the file: not found why)
  f.seek(pageSector(log, page, 0) * SECTOR);
  for (i = 0; i < 2; i++) {
    s = f.read(SECTOR);
    if (i && between) between(true);
    v[i] = s && s.length == SECTOR ? bytesOf(s) : null;
  }
  s = v[1] && (!v[0] || get(v[1]!, S_SEQ, 4) > get(v[0], S_SEQ, 4)) ? 1 : 0;
  for (i = 0; i < 2; i++, s = 1 - s)
    if (
      (q = v[s]) &&
      check(q, false) &&
      get(q, S_EPOCH, 4) == log.epoch &&
      get(q, S_PAGE, 4) == page &&
      slotSane(log, q)
    ) {
      slot = q;
      slotPage = page;
      return s;
    }
  return -1;
}
/** Whether a checked slot's own numbers agree (a card can hold sectors made to pass the check). */
function slotSane(log: Log, b: Uint8Array): boolean {
  var used = get(b, S_USED, 2),
    f = b[S_FLAGS];
  if (used > PAGE_ROOM || f > 3 || (log.version < 2 && f)) return false;
  return (
    !(f & RUNS_IN) ||
    (get(b, S_DATA + C_PAGE, 4) < get(b, S_PAGE, 4) && C_HEAD + get(b, S_DATA + C_BYTES, 2) <= used)
  );
}
/**
 * Whether page q belongs to the log: it has a valid slot, and when it carries
 * the rest of a record, the page where that record began still holds the
 * version it was begun in (else q is left from an append that was cut).
 */
function live(log: Log, f: File, q: number): boolean {
  var p, n;
  if (readPage(log, f, q) < 0) return false;
  if (!(slot[S_FLAGS] & RUNS_IN)) return true;
  p = get(slot, S_DATA + C_PAGE, 4);
  n = get(slot, S_DATA + C_SEQ, 4);
  return readPage(log, f, p) >= 0 && get(slot, S_SEQ, 4) == n && (slot[S_FLAGS] & RUNS_ON) != 0;
}
/** The depth a page is found by: its first record's, or that of the record it continues; -1 when it holds none. */
function pageDepth(b: Uint8Array): number {
  if (b[S_FLAGS] & RUNS_IN) return get(b, S_DATA + C_DEPTH, 7);
  return b[S_COUNT] ? get(b, S_DATA + R_DEPTH, 7) : -1;
}
/** Where the records that start on a page begin in its image. */
function recordsAt(b: Uint8Array): number {
  return S_DATA + (b[S_FLAGS] & RUNS_IN ? C_HEAD + get(b, S_DATA + C_BYTES, 2) : 0);
}
/** The depth of the last record of a page image that ends on it, or -1. */
function lastDepth(b: Uint8Array): number {
  var p = recordsAt(b),
    e = S_DATA + get(b, S_USED, 2),
    d = b[S_FLAGS] & RUNS_IN ? get(b, S_DATA + C_DEPTH, 7) : -1,
    i,
    len;
  for (i = 0; i < b[S_COUNT]; i++, p += len) {
    len = get(b, p + R_LEN, 2);
    if (len < R_MIN || p + len > e) break; // runs on: not ended here
    d = get(b, p + R_DEPTH, 7);
  }
  return d;
}

/** Whether every part of a path is an 8.3 name in upper case (FAT without long names). A scanner: Espruino's regexes lack optional groups. */
export function is83(path: string): boolean {
  var parts = path.split("/"),
    i,
    j,
    c,
    name,
    ext;
  for (i = 0; i < parts.length; i++) {
    name = ext = 0;
    for (j = 0; j < parts[i].length; j++) {
      c = parts[i].charAt(j);
      if (c == ".") {
        if (ext || !name) return false;
        ext = 1;
        continue;
      }
      if (!((c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "-" || c == "~"))
        return false;
      if (ext) ext++;
      else name++;
    }
    if (!name || name > 8 || ext == 1 || ext > 4) return false;
  }
  return path.length <= 63;
}

/** Sectors of a log of n pages: the header, the index sectors, two slots a page. */
function logSectors(n: number) {
  return 1 + Math.ceil(n / INDEX_ENTRIES) + 2 * n;
}

/**
 * Makes the log of author at path with room for up to pages pages: a seek
 * past the end allocates the clusters without writing them (the FAT is
 * written here, once, never by an append), then the header, last: a log whose
 * making is cut short has no valid header, and mount() makes it again. When
 * the card has less room it tries 45% of the size each time, which leaves
 * others room. Returns the pages it got.
 */
export function createLog(
  disk: Disk,
  path: string,
  author: string,
  pages: number,
  epoch: number,
  first?: number
): number {
  if (!is83(path)) throw new Error(path + ": not an 8.3 name");
  var f: File, h, size, s;
  for (;;) {
    size = logSectors(pages) * SECTOR;
    f = disk.openFile(path, "w")!; // "w" truncates: a try that did not fit gives its clusters back
    // FatFs allocates the clusters on the seek; writing the last sector also
    // extends the file where a seek alone does not (Espruino's Linux build)
    f.seek(size - SECTOR);
    fill(sec, 0, 0, SECTOR);
    try {
      f.write(sec);
    } catch (e) {
      // the card is full: the read below says it did not fit
    }
    f.close();
    f = disk.openFile(path, "r")!;
    f.seek(size - SECTOR);
    s = f.read(SECTOR);
    f.close();
    if (s && s.length == SECTOR) break;
    if (pages < 2) throw new Error(path + ": no room on the card for a log");
    pages = Math.floor(pages * 0.45);
  }
  // first: the depth a followed feed's log starts at, when its holder starts above 0
  h =
    MAGIC +
    VERSION +
    "\nauthor " +
    author +
    "\npages " +
    pages +
    "\nepoch " +
    epoch +
    "\nfirst " +
    decimal(first || 0) +
    "\n";
  fill(sec, 32, 0, CHECK);
  bytesInto(h, sec, 0);
  check(sec, true);
  f = disk.openFile(path, "r+")!;
  f.write(sec);
  f.close();
  return pages;
}

/**
 * Whether the log file at path (of size bytes), whose header is not valid,
 * may hold records: it has the size of a log made whole, and page 0 has a
 * slot that passes its check. When it cannot, its making was cut short
 * before the header, the last step, and it may be made again.
 */
export function mayHoldRecords(disk: Disk, path: string, bytes: number): boolean {
  var n = Math.floor((bytes / SECTOR - 2) / (2 + 1 / INDEX_ENTRIES)),
    k,
    s,
    f,
    found = false;
  for (k = Math.max(1, n - 1); k <= n + 1 && logSectors(k) * SECTOR != bytes; k++);
  if (k > n + 1) return false;
  f = disk.openFile(path, "r")!;
  for (s = 0; s < 2; s++)
    if (
      readSector(f, 1 + Math.ceil(k / INDEX_ENTRIES) + s, sec) &&
      check(sec, false) &&
      get(sec, S_PAGE, 4) == 0
    )
      found = true;
  f.close();
  return found;
}

/** A whole number in [0, max] written in decimal, else -1. */
export function number(t: string, max: number): number {
  for (var i = 0; i < t.length; i++) if (t.charCodeAt(i) < 48 || t.charCodeAt(i) > 57) return -1;
  return t.length && t.length < 17 && (t.length == 1 || t.charAt(0) != "0") && +t <= max ? +t : -1;
}
/** Whether t is an identity: @, 52 base32 characters (checked as the parser does), .ed25519. */
function isIdentity(t: string): boolean {
  if (t.length != 61) return false;
  bytesInto(t, sec, 0);
  return t.charAt(0) == "@" && t.slice(53) == ".ed25519" && b32decode(sec, 1, 52, digest) == 32;
}

/** The value of header line i when it reads "name value", else "". */
function headerField(h: string[], i: number, name: string): string {
  var l = h[i] || "";
  return l.slice(0, name.length + 1) == name + " " ? l.slice(name.length + 1) : "";
}

/**
 * Opens the log at path and finds where it ends: header, index sectors by
 * bisection, then pages by bisection. Throws an error with a code (NO_HEADER,
 * BAD_HEADER) and the path in its message when the log cannot be read; where
 * it can be read but not appended to, says why in log.broken. A reader that
 * can afford to read the whole file (the host) passes everyPage: the pages
 * after the end found are then looked at too, since pages the card damaged
 * end the bisection early and the log may go on after them (each() then
 * reports the damaged ones).
 */
export function openLog(disk: Disk, path: string, everyPage?: boolean): Log {
  var a = disk.openFile(path, "r+"),
    h,
    v,
    i,
    c,
    lo,
    hi,
    mid,
    first,
    size;
  if (!a) throw new Error(path + ": cannot open");
  // the header: version 2 carries a check; version 1 (no check, no records that run on) is still read
  if (!readSector(a, 0, sec))
    fail(
      NO_HEADER,
      path + ": no header (the log was being made when power failed, or the file is empty)"
    );
  for (i = 0; i < CHECK; i++) if ((c = sec[i]) != 10 && (c < 32 || c > 126)) break;
  h = decode(sec, 0, i).split("\n");
  v = h[0] == MAGIC + "1" ? 1 : h[0] == MAGIC + "2" ? 2 : 0;
  if (!v || (v == 2 && !check(sec, false)))
    fail(
      NO_HEADER,
      path + ": no valid header (the log was being made when power failed, or the card damaged it)"
    );
  var log: Log = {
    path: path,
    author: headerField(h, 1, "author"),
    version: v,
    pages: number(headerField(h, 2, "pages"), MAX_PAGES),
    held: 0,
    epoch: number(headerField(h, 3, "epoch"), 4294967295),
    indexSectors: 0,
    page: 0,
    used: 0,
    count: 0,
    seq: 0,
    next: 0,
    first: h[4] ? number(headerField(h, 4, "first"), 9007199254740991) : 0, // version 1 logs of the own feed had no first line
    index: new Uint8Array(I_EPOCH),
    waiting: 0,
    indexed: 0,
    dirty: false,
    broken: "",
    a: a,
    b: a,
    tail: new Uint8Array(SECTOR),
  };
  if (!isIdentity(log.author))
    fail(BAD_HEADER, path + ": the header's author line is not an identity");
  if (log.pages < 1)
    fail(BAD_HEADER, path + ": the header's page count is not a number from 1 to " + MAX_PAGES);
  if (log.epoch < 0)
    fail(BAD_HEADER, path + ": the header's epoch is not a number from 0 to 4294967295");
  if (log.first < 0) fail(BAD_HEADER, path + ": the header's first depth is not a depth");
  log.indexSectors = Math.ceil(log.pages / INDEX_ENTRIES);
  // a file shorter than its header says was cut short: what it holds is read, each() reports the rest
  size = a.size ? a.size() : logSectors(log.pages) * SECTOR;
  log.held = Math.max(
    0,
    Math.min(log.pages, Math.floor((size / SECTOR - 1 - log.indexSectors) / 2))
  );
  // index sectors written so far: 0..lo-1 (bisection over valid ones)
  lo = 0;
  hi = Math.ceil(log.held / INDEX_ENTRIES);
  while (lo < hi) {
    mid = (lo + hi) >> 1;
    if (readIndex(log, mid)) lo = mid + 1;
    else hi = mid;
  }
  // pages after the indexed ones: the log's first, then never written or left from a cut append
  first = log.indexed = Math.min(lo * INDEX_ENTRIES, log.held);
  lo = first;
  for (;;) {
    hi = log.held;
    while (lo < hi) {
      mid = (lo + hi) >> 1;
      if (live(log, a, mid)) lo = mid + 1;
      else hi = mid;
    }
    // a page the card garbled can end the bisection early, and an append there would write over what
    // follows: look 1, 2, 4 ... pages past the end found, and bisect again past one that belongs to the log
    for (mid = 1; lo + mid < log.held && !live(log, a, lo + mid); mid *= 2);
    if (lo + mid >= log.held) break;
    lo += mid + 1;
  }
  if (everyPage && typeof PIGEON_FIRMWARE == "undefined")
    for (mid = log.held; (mid = lastNamed(log, a, lo + 1, mid)) > lo;)
      if (live(log, a, mid)) {
        lo = mid + 1;
        break;
      }
  // lo is the first page past the log: the one before it is the tail
  log.page = Math.max(0, lo - 1);
  if (lo > 0) findTail(log, lo - 1);
  // sealed pages since the last index sector, for the next one (a page the card garbled counts empty)
  for (mid = first; mid < log.page; mid++) {
    i = readPage(log, a, mid) >= 0;
    waitIndex(log, i ? Math.max(0, pageDepth(slot)) : 0, i ? slot[S_COUNT] : 0);
  }
  log.next = nextDepth(log);
  log.b = disk.openFile(path, "r+")!;
  slot = sec;
  return log;
}
/**
 * The last page in [from, below) with a slot that starts with this log's
 * epoch and that page's number, or -1: a look at the pages after the end
 * found, most never written, 32 pages a read, from the end back.
 */
function lastNamed(log: Log, f: File, from: number, below: number): number {
  var q = below,
    n,
    s,
    i,
    k,
    o,
    e,
    p,
    ok;
  while (q > from) {
    n = Math.min(32, q - from);
    q -= n;
    f.seek(pageSector(log, q, 0) * SECTOR);
    s = f.read(2 * n * SECTOR) || "";
    for (i = 2 * n - 1; i >= 0; i--) {
      o = i * SECTOR;
      for (
        k = 0, e = log.epoch, p = q + (i >> 1), ok = s.length >= o + 8;
        ok && k < 4;
        k++, e = Math.floor(e / 256), p = Math.floor(p / 256)
      )
        ok = s.charCodeAt(o + S_EPOCH + k) == e % 256 && s.charCodeAt(o + S_PAGE + k) == p % 256;
      if (ok) return q + (i >> 1);
    }
  }
  return -1;
}
/** The tail from the last page of the log: a record whose append was cut is dropped (the tail is then the page it began on). */
function findTail(log: Log, last: number) {
  var f = log.a;
  if (readPage(log, f, last) < 0)
    return void (log.broken =
      log.path +
      ": page " +
      last +
      ", the last one, is garbled: where the log ends cannot be read");
  if (slot[S_FLAGS] & RUNS_ON) {
    // its pages are not the log's; the card's version of the page it began on still holds its start
    if (slot[S_FLAGS] & RUNS_IN && !slot[S_COUNT]) log.page = get(slot, S_DATA + C_PAGE, 4);
    if (log.page < log.indexed || readPage(log, f, log.page) < 0)
      return void (log.broken =
        log.path +
        ": page " +
        last +
        " ends in a record whose first page is lost: where the log ends cannot be read");
    dropLast(slot);
    log.dirty = true;
  }
  log.tail.set(slot);
  log.used = get(slot, S_USED, 2);
  log.count = slot[S_COUNT];
  log.seq = get(slot, S_SEQ, 4);
}
/** Takes the record that runs on off the end of a page image: its bytes, its count, its flag. */
function dropLast(b: Uint8Array) {
  var p = recordsAt(b),
    i,
    n = b[S_COUNT];
  for (i = 0; i < n - 1; i++) p += get(b, p + R_LEN, 2);
  fill(b, 0, p, CHECK);
  put(b, S_USED, p - S_DATA, 2);
  b[S_COUNT] = n - 1;
  b[S_FLAGS] &= ~RUNS_ON;
}
/** The depth after the last record of the log: found on the tail, or on the pages before it when the tail holds none. */
function nextDepth(log: Log): number {
  var d = lastDepth(log.tail),
    p = log.page;
  while (d < 0 && --p >= 0) if (readPage(log, log.a, p) >= 0) d = lastDepth(slot);
  return d < 0 ? log.first : d + 1;
}
function readIndex(log: Log, n: number): boolean {
  return (
    readSector(log.a, 1 + n, sec) &&
    check(sec, false) &&
    get(sec, I_EPOCH, 4) == log.epoch &&
    get(sec, I_NUMBER, 4) == n
  );
}

/**
 * Appends one record (from record()) to the log; returns once it is on the
 * card, whole. A record larger than the room left begins there and runs on
 * into the next pages (a record of a page or less starts a new page instead).
 * Throws with code LOG_FULL when the log has no room for it (nothing is
 * written then), TOO_LARGE when a version 1 log cannot hold it.
 */
export function append(log: Log, len: number) {
  var tail = log.tail,
    r = rec.b,
    o,
    n,
    start,
    startSeq,
    depth = get(r, R_DEPTH, 7);
  if (log.broken) fail(BAD_TAIL, log.broken);
  if (len > PAGE_ROOM && log.version < 2)
    fail(
      TOO_LARGE,
      log.path + ": a record of " + len + " bytes does not fit a page of a version 1 log"
    );
  // a record that fits a page but not the room left starts the next page; a larger one begins in the room
  // left unless that takes more page writes than beginning on the next page (so a record of a page or less never runs on)
  if (
    log.used + len > PAGE_ROOM &&
    pagesFrom(PAGE_ROOM - log.used, len) > pagesFrom(PAGE_ROOM, len)
  ) {
    if (log.page + 1 >= log.held) fail(LOG_FULL, log.path + ": log full");
    seal(log);
  }
  n = Math.min(len, PAGE_ROOM - log.used);
  if (log.page + Math.ceil((len - n) / (PAGE_ROOM - C_HEAD)) >= log.held)
    fail(LOG_FULL, log.path + ": log full");
  // the record's start (or all of it) on the tail page, to its other slot: the slot it leaves keeps what was acknowledged
  tail.set(r.subarray(0, n), S_DATA + log.used);
  o = n;
  log.used += n;
  log.count++;
  if (n < len) tail[S_FLAGS] |= RUNS_ON;
  writeTail(log);
  start = log.page;
  startSeq = log.seq;
  // the rest, a page at a time, each naming the page and version it began in; the last page is the new tail
  while (o < len) {
    seal(log);
    n = Math.min(len - o, PAGE_ROOM - C_HEAD);
    tail[S_FLAGS] = RUNS_IN | (o + n < len ? RUNS_ON : 0);
    put(tail, S_DATA + C_PAGE, start, 4);
    put(tail, S_DATA + C_SEQ, startSeq, 4);
    put(tail, S_DATA + C_DEPTH, depth, 7);
    put(tail, S_DATA + C_BYTES, n, 2);
    tail.set(r.subarray(o, o + n), S_DATA + C_HEAD);
    o += n;
    log.used = C_HEAD + n;
    writeTail(log);
  }
  log.next = depth + 1;
  // whole index sectors, oldest first, and only now: one never covers a page of a record not yet whole
  while (log.waiting >= INDEX_ENTRIES) writeIndex(log);
}
/** Pages a record of len bytes is written to when it begins with room bytes on the first; more than any when room is too small to begin one. */
function pagesFrom(room: number, len: number): number {
  return room < R_MIN ? Infinity : 1 + Math.ceil(Math.max(0, len - room) / (PAGE_ROOM - C_HEAD));
}
/** Ends the tail page (it is on the card, as tail) and starts the next one, fresh. */
function seal(log: Log) {
  // the card's version of this page still holds a cut append's start: this one goes first, or that append's pages would be the log's
  if (log.dirty) writeTail(log);
  waitIndex(log, Math.max(0, pageDepth(log.tail)), log.tail[S_COUNT]);
  log.page++;
  log.used = log.count = log.seq = 0;
  fill(log.tail, 0, 0, SECTOR);
}
/** Writes the tail page's next version: odd write counts to slot A, even ones to B, so the other slot keeps the last. */
function writeTail(log: Log) {
  var tail = log.tail,
    s,
    f;
  log.seq++;
  put(tail, S_EPOCH, log.epoch, 4);
  put(tail, S_PAGE, log.page, 4);
  put(tail, S_SEQ, log.seq, 4);
  put(tail, S_USED, log.used, 2);
  tail[S_COUNT] = log.count;
  check(tail, true);
  s = log.seq & 1 ? 0 : 1;
  f = s ? log.b : log.a;
  f.seek(pageSector(log, log.page, s) * SECTOR);
  f.write(tail);
  log.dirty = false;
}

/**
 * A sealed page's entry for the next index sector: its first depth and the records that begin on it.
 * More than one sector's worth wait only while a record runs on over many pages: then the entries grow.
 */
function waitIndex(log: Log, depth: number, count: number) {
  var o = I_ENTRY * log.waiting,
    more;
  if (o == log.index.length) {
    more = new Uint8Array(o + I_EPOCH);
    more.set(log.index);
    log.index = more;
  }
  put(log.index, o, depth, 7);
  log.index[o + 7] = count;
  log.waiting++;
}
/** Writes the index sector for the next 60 sealed pages, once and whole. */
function writeIndex(log: Log) {
  var n = log.indexed / INDEX_ENTRIES;
  fill(sec, 0, I_EPOCH, SECTOR);
  sec.set(log.index.subarray(0, I_EPOCH));
  put(sec, I_EPOCH, log.epoch, 4);
  put(sec, I_NUMBER, n, 4);
  check(sec, true);
  log.a.seek((1 + n) * SECTOR);
  log.a.write(sec);
  log.waiting -= INDEX_ENTRIES;
  copy(log.index, 0, log.index, I_EPOCH, I_ENTRY * log.waiting);
  log.indexed += INDEX_ENTRIES;
}

// A record that runs on is gathered here from its pages (grown to the longest seen; made on first use: a board's
// own readings never run on, and 500 bytes are about 40 of a Pico's 5,100 variables).
var whole: Uint8Array = new Uint8Array(0);

/** A page's image: the tail as the log holds it (a cut append's start dropped), else its newest valid slot; null when it has none. */
function image(log: Log, f: File, page: number): Uint8Array | null {
  if (page == log.page && !log.broken) return log.tail;
  return readPage(log, f, page) < 0 ? null : slot;
}

/** walk()'s way to take a page's records many at a time; at is where it is on the page. */
export type Batch = (b: Uint8Array, at: { p: number; i: number }, e: number, n: number) => boolean;
var cursor = { p: 0, i: 0 }; // batch's place on a page
// the page readPage() left in slot, and the one startOf() read for the walk from it to take without a
// second read (a page costs a Pico some 12 ms); numbers, as comparing two typed arrays on Espruino
// compares their contents (some 1.8 M instructions for two pages)
var slotPage = -1,
  startSlot = -1;
// records()'s turns for the caller's own work: before a page's reads (false), and between them and its check
// (true); a pull writes the next piece of its line there, as the reads and the check together outlast
// what a console's transmit buffer holds
var between: ((read: boolean) => void) | undefined;

/** The loss of a record that ran on from startPage but stops before page. */
function brokeOff(depth: number, startPage: number, page: number): string {
  return (
    "the record at depth " +
    depth +
    " begun on page " +
    startPage +
    " breaks off before page " +
    page
  );
}
/**
 * Gives fn(b, p, depth) every record from page on (its bytes at b[p..], valid
 * during the call), in order, until fn returns true; a record whose append was
 * cut never appears. What the card lost since it was written goes to
 * lose(page, why), and the records around it are read: a garbled page, a
 * damaged record, a record whose pages broke, a file cut short. batch, where
 * given, may take records of a page as fn would, many at a time (a kernel):
 * batch(b, at, e, n) gets the page's records from at.p on (the at.i-th of n;
 * the data ends at e), moves at past those it took, and returns true to stop.
 */
function walk(
  log: Log,
  f: File,
  page: number,
  fn: (b: Uint8Array, p: number, depth: number) => boolean | void,
  lose: (page: number, why: string) => void,
  batch?: Batch
) {
  // declared first: Espruino does not hoist a function declared in a function body
  function emit(r: Uint8Array, p: number, d: number, at: number) {
    if (fits(r, p)) return fn(r, p, d);
    lose(at, "page " + at + " holds a damaged record");
  }
  var from = page,
    b,
    p,
    e,
    i,
    len,
    n,
    got = 0,
    want = 0,
    startPage = 0,
    startSeq = 0,
    depth = 0;
  for (; page <= log.page; page++) {
    b = page == startSlot ? slot : image(log, f, page);
    startSlot = -1;
    if (!b) {
      if (want)
        lose(
          page,
          "the record at depth " +
            depth +
            " begun on page " +
            startPage +
            " is lost with page " +
            page
        );
      want = 0;
      lose(page, "page " + page + " is garbled in both slots: its records are lost");
      continue;
    }
    p = S_DATA;
    e = S_DATA + get(b, S_USED, 2);
    if (b[S_FLAGS] & RUNS_IN) {
      n = get(b, S_DATA + C_BYTES, 2);
      if (
        want &&
        get(b, S_DATA + C_PAGE, 4) == startPage &&
        get(b, S_DATA + C_SEQ, 4) == startSeq &&
        got + n <= want
      ) {
        whole.set(b.subarray(p + C_HEAD, p + C_HEAD + n), got);
        got += n;
      } else if (want) {
        lose(page, brokeOff(depth, startPage, page));
        want = 0;
      } else if (page > from)
        lose(page, "page " + page + " continues a record whose first pages are lost");
      p += C_HEAD + n;
      if (want && got == want) {
        want = 0;
        if (emit(whole, 0, depth, page)) return;
      }
    } else if (want) {
      lose(page, brokeOff(depth, startPage, page));
      want = 0;
    }
    for (i = 0; i < b[S_COUNT]; i++, p += len) {
      if (batch) {
        cursor.p = p;
        cursor.i = i;
        if (batch(b, cursor, e, b[S_COUNT])) return;
        p = cursor.p;
        if ((i = cursor.i) >= b[S_COUNT]) break;
      }
      len = get(b, p + R_LEN, 2);
      if (len >= R_MIN && p + len <= e) {
        if (emit(b, p, get(b, p + R_DEPTH, 7), page)) return;
        continue;
      }
      // the last record may run on into the next page
      if (len >= R_MIN && i == b[S_COUNT] - 1 && b[S_FLAGS] & RUNS_ON) {
        whole = grow(whole, len);
        whole.set(b.subarray(p, e), 0);
        got = e - p;
        want = len;
        startPage = page;
        startSeq = get(b, S_SEQ, 4);
        depth = get(b, p + R_DEPTH, 7);
      } else lose(page, "page " + page + " holds a damaged record");
      break;
    }
  }
  if (log.broken) lose(log.page, log.broken);
  else if (log.held < log.pages && log.page == log.held - 1)
    lose(
      log.held,
      "the file ends at page " + log.held + " of " + log.pages + ": the records after it are lost"
    );
}

/**
 * Calls fn(text, depth) for every record of the log in order, from the page
 * the record at depth from begins on (default: the first page), until fn
 * returns true (any other value goes on); a record whose append was cut never appears. What the card
 * lost since it was written (a garbled page, a damaged record, a record whose
 * pages broke, a file cut short) is reported to bad(page, why); the records
 * around it stay readable.
 */
export function each(
  log: Log,
  f: File,
  fn: (text: string, depth: number) => unknown,
  bad?: (page: number, why: string) => void,
  from?: number
) {
  walk(
    log,
    f,
    from ? startOf(log, f, from) : 0,
    function (r, p, d) {
      return fn(text(r, p, log.author)!, d) === true;
    },
    function (page, why) {
      if (bad) bad(page, why);
    }
  );
  slot = sec;
}

/** Parses message text bytes b[0..n) and appends it to the log; returns "" or why it was refused. */
export function appendMessage(log: Log, b: Uint8Array, n: number): string {
  var r = parse(b, 0, n);
  if (r) return r;
  if (at.depth != log.next) return "depth " + at.depth + " is not the next one (" + log.next + ")";
  append(log, record(b, 0));
  return "";
}

/** The last i in [lo, hi] whose depth(i) is at most d (depth(lo)'s is), by bisection; depth -1: unknown, taken as past d. */
function lastAtMost(lo: number, hi: number, d: number, depth: (i: number) => number): number {
  var mid, k;
  while (lo < hi) {
    mid = (lo + hi + 1) >> 1;
    k = depth(mid);
    if (k < 0 || k > d) hi = mid - 1;
    else lo = mid;
  }
  return lo;
}
/**
 * The last page whose depth (spec/card.md) is at most d (depths ascending).
 * The index gives it without reading pages: the tail and the entries waiting
 * in memory, else the index sectors, bisected (one sector read each, where a
 * page costs two; a garbled one counts as past d). Without an index, or when
 * byPages, a bisection of the pages.
 */
function pageOf(log: Log, f: File, d: number, byPages?: boolean): number {
  var k = pageDepth(log.tail),
    n = log.indexed / INDEX_ENTRIES,
    at: number;
  if (!byPages && !log.broken && log.indexed + log.waiting == log.page) {
    if (k >= 0 && k <= d) return log.page;
    if (log.waiting && get(log.index, 0, 7) <= d)
      return (
        log.indexed +
        lastAtMost(0, log.waiting - 1, d, function (i) {
          return get(log.index, I_ENTRY * i, 7);
        })
      );
    if (n && readIndex(log, 0) && get(sec, 0, 7) <= d) {
      // at: the index sector sec holds (-1: none), so that the one found is not read again
      at = 0;
      k = lastAtMost(0, n - 1, d, function (i) {
        at = readIndex(log, i) ? i : -1;
        return at < 0 ? -1 : get(sec, 0, 7);
      });
      if (k == at || readIndex(log, k))
        return (
          k * INDEX_ENTRIES +
          lastAtMost(0, INDEX_ENTRIES - 1, d, function (i) {
            return get(sec, I_ENTRY * i, 7);
          })
        );
    }
  }
  return lastAtMost(0, log.page, d, function (i) {
    return readPage(log, f, i) < 0 ? -1 : pageDepth(slot);
  });
}

/**
 * The page the record at depth d begins on, if the log holds it (depths ascending), or one before it.
 * near: a page to try first (-1: none), taken when its depth is at most d.
 */
function startOf(log: Log, f: File, d: number, near?: number): number {
  var page = near! >= 0 ? near! : pageOf(log, f, d),
    b,
    k;
  slotPage = -1;
  b = image(log, f, page);
  if (page === near && !(b && (k = pageDepth(b)) >= 0 && k <= d)) {
    page = pageOf(log, f, d);
    slotPage = -1;
    b = image(log, f, page);
  }
  startSlot = slotPage;
  // a record that runs on into this page began on the page its head names
  if (b && b[S_FLAGS] & RUNS_IN && get(b, S_DATA + C_DEPTH, 7) == d)
    page = get(b, S_DATA + C_PAGE, 4);
  return page;
}

/** The message text at depth d of a log whose depths ascend, or undefined. */
export function find(log: Log, f: File, d: number): string | undefined {
  var found: string | undefined;
  walk(
    log,
    f,
    startOf(log, f, d),
    function (r, p, depth) {
      if (depth == d) found = text(r, p, log.author);
      return depth >= d;
    },
    function () {}
  );
  slot = sec;
  return found;
}

/**
 * The records of the log from depth from on, as they lie on the card: fn(b, p,
 * depth) gets each one's bytes at b[p..] (valid during the call) until it
 * returns true. What the card lost goes to bad(page, why), as with each().
 * batch (walk's) takes records as fn would, passing over those below from;
 * turn, where given, is called before each page's reads (false) and after them,
 * before its check (true); near, a page to start from if its depth is at most
 * from (what this returned to the walk before, that stopped where from is).
 * Returns the last page it read from the card.
 */
export function records(
  log: Log,
  f: File,
  from: number,
  fn: (b: Uint8Array, p: number, depth: number) => boolean | void,
  bad: (page: number, why: string) => void,
  batch?: Batch,
  turn?: (read: boolean) => void,
  near?: number
): number {
  between = turn;
  try {
    walk(
      log,
      f,
      startOf(log, f, from, near),
      function (r, p, d) {
        if (d >= from) return fn(r, p, d);
      },
      bad,
      batch
    );
  } finally {
    between = undefined;
    slot = sec;
  }
  return slotPage;
}

// ---- blobs: B/ then the bundle path of the blob's id ----
/** Espruino's require("fs") as far as blobs need it. */
export interface Fs {
  mkdirSync(path: string): void;
  writeFileSync(path: string, data: any): boolean;
  readFileSync(path: string): string | undefined;
}

var blobDigest = new Uint8Array(32);
/** The card path of the blob whose 52 base32 characters are b: B/ + six directories of 7 + a 7.3 file (61 characters). */
export function blobPath(b: string): string {
  for (var p = "B", i = 0; i < 42; i += 7) p += "/" + b.slice(i, i + 7);
  return p + "/" + b.slice(42, 49) + "." + b.slice(49, 52);
}
/** Stores a blob (at most 360,000 bytes) under its id; returns the id "&<52>.sha256". Store it before the message that names it. */
export function putBlob(fs: Fs, bytes: Uint8Array): string {
  if (bytes.length > 360000) throw new Error("a blob is at most 360,000 bytes");
  sha256(bytes, 0, bytes.length, blobDigest, 0);
  var b = b32encode(blobDigest, 0, 32),
    path = blobPath(b),
    parts = path.split("/"),
    dir = "",
    i;
  for (i = 0; i < parts.length - 1; i++) {
    dir += (i ? "/" : "") + parts[i];
    try {
      fs.mkdirSync(dir);
    } catch (e) {
      // already there
    }
  }
  fs.writeFileSync(path, bytes);
  return "&" + b + ".sha256";
}
/** The blob's bytes (as a byte string), or undefined when it is missing or its bytes do not match its id (a torn write). */
export function getBlob(fs: Fs, id: string): string | undefined {
  var b = id.slice(1, 53),
    s,
    bytes;
  try {
    s = fs.readFileSync(blobPath(b)) || "";
  } catch (e) {
    return undefined;
  }
  bytesInto(s, (bytes = new Uint8Array(s.length)), 0);
  sha256(bytes, 0, bytes.length, blobDigest, 0);
  return b32encode(blobDigest, 0, 32) == b ? s : undefined;
}
