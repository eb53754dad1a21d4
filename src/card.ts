// The feed store on the card: one preallocated log file per feed, filled in
// place, so that no power cut loses a message once append() has returned.
// spec/card.md states the layout and the guarantees; in short:
//
// - A log is written full size once (a seek past its end, which allocates
//   clusters without writing data), so appends never touch the FAT.
// - Messages are kept as compact records (ids and signature as bytes, the
//   author once per file) in 1 KiB pages. A page is two sectors, slots A and
//   B, and the page being filled is written alternately to them: the slot not
//   being written always holds every record already acknowledged, so a torn
//   write loses only the record in flight. A slot carries its page number, the
//   log's random epoch and a SHA-256 check, so stale or torn sectors are
//   recognised and never served.
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
import { at, decimal, parse } from "./message";
import { sha256 } from "./sha256";
import { decode } from "./utf8";

/** Espruino's File object, as E.openFile returns it. */
export interface File {
  read(n: number): string | undefined;
  write(data: Uint8Array | string): number;
  seek(n: number): void;
  close(): void;
}
/** What the store needs of the card: Espruino's E.openFile(path, mode). */
export interface Disk {
  openFile(path: string, mode: string): File | undefined;
}

var SECTOR = 512;
export var INDEX_ENTRIES = 60; // pages per index sector
export var PAGE_ROOM = 488; // record bytes in a slot: 512 less a 16-byte head and an 8-byte check
var HEAD = "PIGEON-LOG 1\n";

var slot = new Uint8Array(SECTOR), sec = new Uint8Array(SECTOR), digest = new Uint8Array(32);

function put(b: Uint8Array, p: number, v: number, n: number) {
  for (var i = 0; i < n; i++, v = Math.floor(v / 256)) b[p + i] = v;
}
function get(b: Uint8Array, p: number, n: number) {
  for (var v = 0, i = n - 1; i >= 0; i--) v = v * 256 + b[p + i];
  return v;
}
/** Seals a sector: bytes 504..511 are the first 8 bytes of SHA-256 of bytes 0..503. */
function check(b: Uint8Array, write: boolean): boolean {
  sha256(b, 0, 504, digest, 0);
  for (var i = 0, ok = true; i < 8; i++) {
    if (write) b[504 + i] = digest[i];
    else if (b[504 + i] != digest[i]) ok = false;
  }
  return ok;
}
function readSector(f: File, n: number, into: Uint8Array): boolean {
  f.seek(n * SECTOR);
  var s = f.read(SECTOR), i;
  if (!s || s.length < SECTOR) return false;
  for (i = 0; i < SECTOR; i++) into[i] = s.charCodeAt(i);
  return true;
}

// ---- records: a message without what the log already knows ----
// length (2) | depth (7) | flags (1: bit 0 prev, bit 1 lipmaa) | prev (32)? |
// lipmaa (32)? | signature (64) | kind length (1) | kind | body lines
export var rec = new Uint8Array(PAGE_ROOM);

/** The record of the message in b[p..] that parse() has just read; returns its length, 0 if it needs more than a page. */
export function record(b: Uint8Array, p: number): number {
  var kindLen = at.kindEnd - at.kind, bodyLen = at.unsigned - 1 - (at.body - p), len, o = 10;
  len = 10 + (at.prev > 0 ? 32 : 0) + (at.lipmaa > 0 ? 32 : 0) + 64 + 1 + kindLen + bodyLen;
  if (len > PAGE_ROOM) return 0;
  put(rec, 0, len, 2);
  put(rec, 2, at.depth, 7);
  rec[9] = (at.prev > 0 ? 1 : 0) | (at.lipmaa > 0 ? 2 : 0);
  if (at.prev > 0) o += b32decode(b, at.prev, 52, rec.subarray(o));
  if (at.lipmaa > 0) o += b32decode(b, at.lipmaa, 52, rec.subarray(o));
  o += b32decode(b, at.sig, 103, rec.subarray(o));
  rec[o++] = kindLen;
  for (var i = 0; i < kindLen; i++) rec[o++] = b[at.kind + i];
  for (i = 0; i < bodyLen; i++) rec[o++] = b[at.body + i];
  return len;
}
/** The message text (bytes as a byte string) of the record at b[p..] in the log of author. */
export function text(b: Uint8Array, p: number, author: string): string {
  var len = get(b, p, 2), f = b[p + 9], o = p + 10, t, k, prev = "NONE", lip = "NONE";
  if (f & 1) {
    prev = "%" + b32encode(b, o, 32) + ".sha256";
    o += 32;
  }
  if (f & 2) {
    lip = "%" + b32encode(b, o, 32) + ".sha256";
    o += 32;
  }
  var sig = b32encode(b, o, 64);
  o += 64;
  k = b[o++];
  t = "author " + author + "\nkind " + decode(b, o, o + k) + "\nprev " + prev + "\ndepth " + decimal(get(b, p + 2, 7)) + "\nlipmaa " + lip + "\n\n";
  o += k;
  return t + decode(b, o, p + len) + "\nsignature " + sig + ".sig.ed25519";
}

// ---- a log file ----
export interface Log {
  path: string;
  author: string;
  epoch: number;
  pages: number; // capacity
  indexSectors: number;
  page: number; // the page being filled
  used: number; // its record bytes
  count: number; // its records
  seq: number; // writes to it so far
  next: number; // depth of the next record
  first: number; // the depth this log starts at
  firstDepth: number; // of the page being filled
  index: number[]; // first depth and count of sealed pages not yet in an index sector
  indexed: number; // pages covered by index sectors on the card
  a: File; // writes slot A of every page: each handle only ever moves forward
  b: File; // writes slot B
  tail: Uint8Array; // the page being filled, as last written: each log has its own
}

function pageSector(log: Log, page: number, s: number) {
  return 1 + log.indexSectors + 2 * page + s;
}
/** The newer valid slot of a page into slot[], or -1 when neither is valid (the page was never written). */
function readPage(log: Log, f: File, page: number): number {
  var best = -1, bestSeq = -1, s, q;
  for (s = 0; s < 2; s++) {
    if (!readSector(f, pageSector(log, page, s), sec) || !check(sec, false)) continue;
    if (get(sec, 0, 4) != log.epoch || get(sec, 4, 4) != page) continue;
    q = get(sec, 8, 4);
    if (q > bestSeq) {
      bestSeq = q;
      best = s;
      slot.set(sec);
    }
  }
  return best;
}

/** Whether every part of a path is an 8.3 name in upper case (FAT without long names). A scanner: Espruino's regexes lack optional groups. */
export function is83(path: string): boolean {
  var parts = path.split("/"), i, j, c, name, ext;
  for (i = 0; i < parts.length; i++) {
    name = ext = 0;
    for (j = 0; j < parts[i].length; j++) {
      c = parts[i].charAt(j);
      if (c == ".") {
        if (ext || !name) return false;
        ext = 1;
        continue;
      }
      if (!((c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "-" || c == "~")) return false;
      if (ext) ext++;
      else name++;
    }
    if (!name || name > 8 || ext == 1 || ext > 4) return false;
  }
  return path.length <= 63;
}

/**
 * Makes the log of author at path with room for up to pages pages: a seek
 * past the end allocates the clusters without writing them (the FAT is
 * written here, once, never by an append), then the header. When the card
 * has less room it tries 45% of the size each time, which leaves others room.
 * Returns the pages it got.
 */
export function createLog(disk: Disk, path: string, author: string, pages: number, epoch: number, first?: number): number {
  if (!is83(path)) throw new Error(path + ": not an 8.3 name");
  var f: File, i, h, size, s;
  for (;;) {
    size = (1 + Math.ceil(pages / INDEX_ENTRIES) + 2 * pages) * SECTOR;
    f = disk.openFile(path, "w")!; // "w" truncates: a try that did not fit gives its clusters back
    // FatFs allocates the clusters on the seek; writing the last sector also
    // extends the file where a seek alone does not (Espruino's Linux build)
    f.seek(size - SECTOR);
    for (i = 0; i < SECTOR; i++) sec[i] = 0;
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
  h = HEAD + "author " + author + "\npages " + pages + "\nepoch " + epoch + "\nfirst " + decimal(first || 0) + "\n";
  for (i = 0; i < SECTOR; i++) sec[i] = i < h.length ? h.charCodeAt(i) : i < SECTOR - 1 ? 32 : 10;
  f = disk.openFile(path, "r+")!;
  f.write(sec);
  f.close();
  return pages;
}

/** Opens the log at path and finds where it ends: header, index sectors by bisection, then pages by bisection. */
export function openLog(disk: Disk, path: string): Log {
  var a = disk.openFile(path, "r+");
  if (!a) throw new Error(path + ": cannot open");
  if (!readSector(a, 0, sec)) throw new Error(path + ": no header");
  var h = decode(sec, 0, SECTOR).split("\n");
  if (h[0] + "\n" != HEAD) throw new Error(path + ": not a Pigeon log");
  var log: Log = {
    path: path,
    author: h[1].slice(7),
    pages: +h[2].slice(6),
    epoch: +h[3].slice(6),
    indexSectors: 0,
    page: 0,
    used: 0,
    count: 0,
    seq: 0,
    next: 0,
    first: +(h[4] || "first 0").slice(6),
    firstDepth: 0,
    index: [],
    indexed: 0,
    a: a,
    b: disk.openFile(path, "r+")!,
    tail: new Uint8Array(SECTOR)
  };
  log.indexSectors = Math.ceil(log.pages / INDEX_ENTRIES);
  // index sectors written so far: 0..lo-1 (bisection over valid ones)
  var lo = 0, hi = log.indexSectors, mid;
  while (lo < hi) {
    mid = (lo + hi) >> 1;
    if (readIndex(log, mid)) lo = mid + 1;
    else hi = mid;
  }
  // pages after the indexed ones: written ones first, then never written
  var first = (log.indexed = lo * INDEX_ENTRIES);
  lo = first;
  hi = log.pages;
  while (lo < hi) {
    mid = (lo + hi) >> 1;
    if (readPage(log, a, mid) >= 0) lo = mid + 1;
    else hi = mid;
  }
  // lo is the first never-written page; the one before it is the tail
  for (mid = first; mid < lo - 1; mid++) {
    // sealed pages since the last index sector, for the next one (a page the card garbled counts empty)
    if (readPage(log, a, mid) < 0) log.index.push(0, 0);
    else log.index.push(get(slot, 16 + 2, 7), slot[14]);
  }
  if (lo > 0 && readPage(log, a, lo - 1) >= 0) {
    log.page = lo - 1;
    log.used = get(slot, 12, 2);
    log.count = slot[14];
    log.seq = get(slot, 8, 4);
    log.firstDepth = get(slot, 16 + 2, 7);
    log.next = lastDepth(slot) + 1;
    log.tail.set(slot);
  } else log.next = log.first;
  return log;
}
function lastDepth(s: Uint8Array): number {
  for (var p = 16, d = -1, i = 0; i < s[14]; i++, p += get(s, p, 2)) d = get(s, p + 2, 7);
  return d;
}
function readIndex(log: Log, n: number): boolean {
  return readSector(log.a, 1 + n, sec) && check(sec, false) && get(sec, 480, 4) == log.epoch && get(sec, 484, 4) == n;
}

/**
 * Appends one record (from record()) to the log; returns once it is on the
 * card. Throws "log full" when the log has no page left.
 */
export function append(log: Log, len: number) {
  var tail = log.tail, i;
  if (log.used + len > PAGE_ROOM) {
    // seal the page: it already is on the card, in its newest slot
    log.index.push(log.firstDepth, log.count);
    // whole index sectors, oldest first: after a torn one, mount leaves more than one pending
    while (log.index.length >= 2 * INDEX_ENTRIES) writeIndex(log);
    log.page++;
    log.used = log.count = log.seq = 0;
    for (i = 0; i < SECTOR; i++) tail[i] = 0;
  }
  if (log.page >= log.pages) throw new Error(log.path + ": log full");
  if (!log.count) log.firstDepth = get(rec, 2, 7);
  for (i = 0; i < len; i++) tail[16 + log.used + i] = rec[i];
  log.used += len;
  log.count++;
  log.seq++;
  put(tail, 0, log.epoch, 4);
  put(tail, 4, log.page, 4);
  put(tail, 8, log.seq, 4);
  put(tail, 12, log.used, 2);
  tail[14] = log.count;
  check(tail, true);
  // odd writes to slot A, even ones to B: the other slot keeps the last acknowledged state
  var s = log.seq & 1 ? 0 : 1, f = s ? log.b : log.a;
  f.seek(pageSector(log, log.page, s) * SECTOR);
  f.write(tail);
  log.next = get(rec, 2, 7) + 1;
}

/** Writes the index sector for the next 60 sealed pages, once and whole. */
function writeIndex(log: Log) {
  var n = log.indexed / INDEX_ENTRIES, i;
  for (i = 0; i < SECTOR; i++) sec[i] = 0;
  for (i = 0; i < INDEX_ENTRIES; i++) {
    put(sec, 8 * i, log.index[2 * i], 7);
    sec[8 * i + 7] = log.index[2 * i + 1];
  }
  put(sec, 480, log.epoch, 4);
  put(sec, 484, n, 4);
  check(sec, true);
  log.a.seek((1 + n) * SECTOR);
  log.a.write(sec);
  log.index.splice(0, 2 * INDEX_ENTRIES);
  log.indexed += INDEX_ENTRIES;
}

/**
 * Calls fn(text, depth) for every record of the log in order, from the page
 * that holds depth from (default: the first page); records of a torn tail
 * never appear. A page the card garbled since it was written is reported to
 * bad(page) and skipped: the pages around it stay readable.
 */
export function each(log: Log, f: File, fn: (text: string, depth: number) => void, bad?: (page: number) => void, from?: number) {
  for (var page = from ? pageOf(log, f, from) : 0; page <= log.page; page++) {
    if (readPage(log, f, page) < 0) {
      if (bad && (page < log.page || log.count)) bad(page);
      continue;
    }
    for (var p = 16, i = 0; i < slot[14]; i++, p += get(slot, p, 2)) fn(text(slot, p, log.author), get(slot, p + 2, 7));
  }
}

/** Parses message text bytes b[0..n) and appends it to the log; returns "" or why it was refused. */
export function appendMessage(log: Log, b: Uint8Array, n: number): string {
  var r = parse(b, 0, n), len;
  if (r) return r;
  if (at.depth != log.next) return "depth " + at.depth + " is not the next one (" + log.next + ")";
  len = record(b, 0);
  if (!len) return "message too large for one log page";
  append(log, len);
  return "";
}

/** The last page whose first depth is at most d (depths ascending), by bisection. */
function pageOf(log: Log, f: File, d: number): number {
  var lo = 0, hi = log.page, mid;
  while (lo < hi) {
    mid = (lo + hi + 1) >> 1;
    if (readPage(log, f, mid) < 0 || get(slot, 18, 7) > d) hi = mid - 1;
    else lo = mid;
  }
  return lo;
}

/** The message text at depth d of a log whose depths ascend, or undefined. */
export function find(log: Log, f: File, d: number): string | undefined {
  var p, i;
  if (readPage(log, f, pageOf(log, f, d)) < 0) return undefined;
  for (p = 16, i = 0; i < slot[14]; i++, p += get(slot, p, 2)) if (get(slot, p + 2, 7) == d) return text(slot, p, log.author);
  return undefined;
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
  var b = b32encode(blobDigest, 0, 32), path = blobPath(b), parts = path.split("/"), dir = "", i;
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
  var b = id.slice(1, 53), s, bytes, i;
  try {
    s = fs.readFileSync(blobPath(b)) || "";
  } catch (e) {
    return undefined;
  }
  bytes = new Uint8Array(s.length);
  for (i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  sha256(bytes, 0, bytes.length, blobDigest, 0);
  return b32encode(blobDigest, 0, 32) == b ? s : undefined;
}
