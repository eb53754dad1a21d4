// What a collector brings home, as messages with where they came from (file
// and line) and blob files with their paths: a bundle directory, a
// messages.pgn, a card directory or a card image. No Node APIs: `pigeon`
// (reader.ts) gives it the host's files, the card viewer (targets/web/) the
// files a person picked or dropped.
//
// Files are read as they are needed, at offsets (a log page by page, a
// messages.pgn a megabyte at a time), never whole, so memory stays flat in
// the number and size of logs. A card may be damaged or hostile: what cannot
// be read (a garbled page, a log cut short or without a header, a cluster
// chain that loops, a file that is not a regular one) is a loss, named with
// its file and why (spec/card.md, "What readers report"), and the rest is read.
import { each, openLog, type Disk, type File, type Log } from "../../src/log";
import type { Bytes } from "./bytes";
import { FatVolume, type FatEntry } from "./fat";
import type { Holdings } from "./have";

export interface Source {
  text: string;
  file: string;
  line: number; // first line of the message in its file
}
export interface BlobFile {
  /** Path inside the bundle, "/"-separated, e.g. 9YK6W64/9RHEJBC/V2RMG52/BAH2WKG/SEBNRS2/DDYV37B/J4469T9.4ZG */
  path: string;
  bytes: Uint8Array;
}
/** What a reader could not read (spec/card.md, "What readers report"): its messages are lost to this reading. */
export interface Loss {
  /** The file: a log, a blob, a messages.pgn, a directory, the image. */
  file: string;
  /** The log's page where it was lost, when it is one page. */
  page: number | null;
  /** The depths lost, first..last, where the log tells them (last null: to the log's end, which was not read). */
  depths: [number, number | null] | null;
  reason: string;
}
export interface Input {
  /** Read as they are needed: a messages.pgn file may be streamed, not held whole. */
  messages: Iterable<Source>;
  blobs: BlobFile[];
  /** What could not be read; filled as the messages are read, so whole once they have all been taken. */
  losses?: Loss[];
  /** How far reading has gone: bytes of messages.pgn files read, of total (0 when unknown). */
  read?: { bytes: number; total: number };
  /** Files of the bundle that lead out of it (links): refused, never read. */
  outside?: string[];
  /** The bundle's HAVE.TXT, when it has one: what its writer held (gossip.ts). */
  have?: { who: string; held: Holdings } | Error;
}

/** Messages of messages.pgn lines: a message ends at its signature line (P3); one empty line between messages (P1). */
export function* pgnMessages(lines: Iterable<string>, file: string): Generator<Source> {
  let start = -1,
    n = 0,
    buf: string[] = [];
  for (const l of lines) {
    n++;
    if (start < 0) {
      if (l === "") continue;
      start = n;
      buf = [];
    }
    buf.push(l);
    if (l.startsWith("signature ")) {
      yield { text: buf.join("\n"), file, line: start };
      start = -1;
    }
  }
  if (start >= 0) yield { text: buf.join("\n").replace(/\n+$/, ""), file, line: start };
}
export function splitPgn(text: string, file: string): Source[] {
  return [...pgnMessages(text.split("\n"), file)];
}
function* chain(...parts: Iterable<Source>[]): Generator<Source> {
  for (const p of parts) yield* p;
}

/** The UTF-8 lines of a file, read a megabyte at a time; counts what was taken into read. Closes the file at the end. */
export function* textLines(b: Bytes, read?: NonNullable<Input["read"]>): Generator<string> {
  const dec = new TextDecoder();
  let rest = "";
  if (read) read.total += b.size;
  try {
    for (
      let at = 0, chunk;
      at < b.size && (chunk = b.read(at, 1 << 20)).length;
      at += chunk.length
    ) {
      const lines = (rest + dec.decode(chunk, { stream: true })).split("\n");
      rest = lines.pop()!;
      for (const l of lines) {
        if (read) read.bytes += l.length + 1; // characters for bytes: exact for ASCII, near enough for a progress bar
        yield l;
      }
    }
    yield rest + dec.decode();
  } finally {
    b.close?.();
  }
}

// ---- logs ----

const utf16 = new TextDecoder("utf-16le");
/** Bytes as a byte string (the store code's File API): with Node's Buffer where the bytes are one, else widened to UTF-16 code units and decoded (both native, many times faster than a character a byte). */
const latin1 = (b: Uint8Array) => {
  const fast = b as Uint8Array & { latin1Slice?: (from: number, to: number) => string };
  if (fast.latin1Slice) return fast.latin1Slice(0, b.length);
  const wide = new Uint16Array(b.length);
  wide.set(b);
  return utf16.decode(wide);
};
/** One file as a read-only Disk for the device's store code (src/card.ts), read at offsets. */
function bytesDisk(name: string, b: Bytes): Disk {
  return {
    openFile(path: string): File {
      if (path !== name) throw new Error(`${path}: not open`);
      let pos = 0;
      return {
        read(n: number) {
          const s = b.read(pos, n);
          if (!s.length) return undefined;
          pos += s.length;
          return latin1(s);
        },
        write: () => 0,
        seek(n: number) {
          pos = n;
        },
        close() {},
        size: () => b.size,
      };
    },
  };
}
const loss = (
  file: string,
  reason: string,
  page: number | null = null,
  depths: Loss["depths"] = null
): Loss => ({ file, page, depths, reason });
/** The store code's reason without the path it starts with. */
const why = (name: string, message: string) =>
  message.startsWith(name + ": ") ? message.slice(name.length + 2) : message;

/** The log `name` in b (file names it in reports), opened; undefined when it cannot be (the loss is reported). */
export function cardLog(
  b: Bytes,
  name: string,
  file: string,
  losses: Loss[]
): { log: Log; file: File } | undefined {
  const disk = bytesDisk(name, b);
  try {
    return { log: openLog(disk, name, true), file: disk.openFile(name, "r")! };
  } catch (e) {
    if (!(e as { code?: string }).code) throw e;
    losses.push(loss(file, `cannot be read: ${why(name, (e as Error).message)}`));
  }
}

// A log is read in slices of this many messages (each resumed from the depth it stopped at), so a 2 GiB log is never held whole.
const SLICE = 4096;

/**
 * The messages of an open log as [text, depth], in order, a slice at a time.
 * Every loss the store code reports (a garbled page, a damaged record, a file
 * cut short, an end that cannot be found) goes to losses with the depths it
 * cost, and so does a gap in the depths that no page explains (a page read
 * from its older slot because the newer one is damaged): a log holds
 * consecutive depths from its first.
 */
export function* logRecords(
  log: Log,
  f: File,
  file: string,
  losses: Loss[]
): Generator<[string, number]> {
  const told = new Set<string>(); // losses reported already: a resumed slice reads again the page it starts on
  let expected = log.first,
    pending: Loss[] = [],
    last = -1,
    done = false;
  const gap = (to: number | null) => {
    if (to !== null && to < expected) return;
    const depths: Loss["depths"] = [expected, to];
    if (pending.length) for (const l of pending) l.depths = depths;
    else if (to !== null)
      losses.push(
        loss(
          file,
          `depths ${expected}..${to} are missing between the records around them (a page was read from its older slot: the newer one is damaged)`,
          null,
          depths
        )
      );
    pending = [];
  };
  while (!done) {
    const slice: ([string, number] | Loss)[] = [];
    // a resumed slice starts on the page where the last one's last record ends (or begins):
    // what comes before it there was given, up to that record or the first deeper one
    let skipping = last >= 0,
      seen = false,
      count = 0;
    each(
      log,
      f,
      (t, d) => {
        if (skipping && !seen && d <= last) return void (seen = d === last);
        skipping = false;
        slice.push([t, d]);
        return ++count >= SLICE;
      },
      (page, reason) => {
        const l = loss(file, why(log.path, reason), page),
          key = page + "\n" + l.reason;
        if (told.has(key)) return;
        told.add(key);
        slice.push(l);
      },
      last >= 0 ? last : undefined
    );
    done = count < SLICE;
    for (const x of slice) {
      if (!Array.isArray(x)) {
        losses.push(x);
        pending.push(x);
        continue;
      }
      if (x[1] > expected) gap(x[1] - 1);
      pending = [];
      expected = Math.max(expected, x[1] + 1);
      last = x[1];
      yield x;
    }
  }
  gap(log.next > expected ? log.next - 1 : null);
}

/** The messages of the card log `name` (8.3, e.g. "SPWC5NAG.LOG"), opened when they are first asked for; file names it in reports. */
export function* logMessages(
  open: () => Bytes | undefined,
  name: string,
  file: string,
  losses: Loss[]
): Generator<Source> {
  const b = open();
  if (!b) return;
  try {
    const l = cardLog(b, name, file, losses);
    if (l)
      for (const [text] of logRecords(l.log, l.file, file, losses)) yield { text, file, line: 0 };
  } finally {
    b.close?.();
  }
}

// ---- directory trees: bundles, cards, card images ----

export const LOG_NAME = /^[0-9A-Z]{1,8}\.LOG$/;
const BLOB_DIR = /^[0-9A-Z]{7}$/,
  BLOB_FILE = /^[0-9A-Z]{7}\.[0-9A-Z]{3}$/;
export const MAX_BLOB = 360000; // PIGEON-FORMAT.md: a blob is at most 360,000 bytes
const IDENTITY = /^(@[0-9A-Z]{52}\.ed25519)\n?$/;

/** A file or directory of a tree; paths are "/"-separated and relative to its top. */
export interface Entry {
  name: string;
  path: string;
  /** "other": neither a regular file nor a directory (a FIFO, a device): never opened. */
  kind: "file" | "dir" | "other";
  /** The same for the same file or directory reached by two paths (a link, a cross-linked FAT entry). */
  id?: string;
}
/** A directory tree, as the reader sees it. */
export interface Tree<E extends Entry = Entry> {
  /** The entries of a directory (null: the top), and why some could not be listed. */
  list(dir: E | null): { entries: E[]; lost?: string };
  /** A regular file's bytes; lost says why it holds less than it should. Throws with the reason when it cannot be opened. */
  open(file: E): Bytes & { lost?: string };
  /** How a path is named in reports. */
  show(path: string): string;
  /** Whether the entry, links followed, stays inside the tree (where there can be links). */
  inside?(e: E): boolean;
}
const byName = (a: { name: string }, b: { name: string }) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/**
 * A bundle directory or a card directory: its messages.pgn, its logs, and the
 * blobs in the bundle layout (under B/ when there is one, as a card's store
 * keeps them). Every directory and file is read once at most, by one path, so
 * a tree whose directories name one another ends.
 */
export function readTree<E extends Entry>(tree: Tree<E>): Input {
  const losses: Loss[] = [],
    into: Input = { messages: [], blobs: [], losses };
  const lose = (path: string, reason: string) => losses.push(loss(tree.show(path), reason));
  // a file or directory that leads out of the tree is refused, never read
  const stays = (e: E) =>
    !tree.inside || tree.inside(e) || ((into.outside ??= []).push(e.path), false);
  const regular = (e: E) =>
    e.kind === "file" || (lose(e.path, "not a regular file: not read"), false);
  const open = (e: E) => {
    try {
      const b = tree.open(e);
      if (b.lost) lose(e.path, b.lost);
      return b;
    } catch (err) {
      lose(e.path, `cannot be read: ${(err as Error).message}`);
    }
  };
  const listed = (dir: E | null) => {
    const r = tree.list(dir);
    if (r.lost) lose(dir ? dir.path : "", `a directory: ${r.lost}; the entries after are not read`);
    return r.entries.sort(byName);
  };
  const top = listed(null);
  for (const e of top)
    if ((e.name === "messages.pgn" || e.name === "MESSAGES.PGN") && stays(e) && regular(e)) {
      const b = open(e);
      if (b)
        into.messages = chain(
          into.messages,
          pgnMessages(textLines(b, (into.read ??= { bytes: 0, total: 0 })), tree.show(e.path))
        );
    }
  const logs = top.filter((e) => LOG_NAME.test(e.name) && e.kind !== "dir");
  for (const e of logs)
    if (stays(e) && regular(e))
      into.messages = chain(
        into.messages,
        logMessages(() => open(e), e.name, tree.show(e.path), losses)
      );
  // a card names its board's log in IDENT.TXT: a log gone from the directory is a loss too
  const ident = top.find((e) => e.name === "IDENT.TXT" && e.kind === "file"),
    b = ident && stays(ident) ? open(ident) : undefined;
  const who = b && b.size <= 64 ? IDENTITY.exec(latin1(b.read(0, 64))) : null;
  b?.close?.();
  if (who && !logs.some((e) => e.name === who[1].slice(1, 9) + ".LOG"))
    lose(
      who[1].slice(1, 9) + ".LOG",
      `missing: IDENT.TXT names the board ${who[1]}, whose log it is`
    );
  // blob files: six directories of 7 characters, then a 7.3 file; each directory and file once
  const seen = new Set<string>(),
    blobsAt = top.find((e) => e.name === "B" && e.kind === "dir");
  const walk = (dir: E | null, depth: number) => {
    for (const e of dir === null ? top : listed(dir)) {
      if (!(depth < 6 ? BLOB_DIR : BLOB_FILE).test(e.name)) continue;
      if (e.id && seen.has(e.id)) {
        lose(
          e.path,
          "the same directory entry as another path (a link, or a cross-linked entry): not read again"
        );
        continue;
      }
      if (e.id) seen.add(e.id);
      if (!stays(e)) continue;
      if (depth < 6 && e.kind === "dir") walk(e, depth + 1);
      else if (depth === 6 && e.kind !== "dir" && regular(e)) {
        const f = open(e);
        if (!f) continue;
        if (f.size > MAX_BLOB)
          lose(e.path, `${f.size} bytes, more than a blob holds (${MAX_BLOB}): not read`);
        else
          into.blobs.push({
            path: blobsAt ? e.path.slice(2) : e.path,
            bytes: new Uint8Array(f.read(0, f.size)),
          });
        f.close?.();
      }
    }
  };
  walk(blobsAt ?? null, 0);
  return into;
}

/** Whether a file's first sector and size make it a card image (a FAT boot sector or a partition table) rather than a messages.pgn. */
export const isImage = (head: Uint8Array, size: number) =>
  size >= 1 << 20 && head[510] === 0x55 && head[511] === 0xaa;

type FatTreeEntry = Entry & { fat: FatEntry };
/** A card image's FAT volume as a tree; where names the image in reports. */
function imageTree(vol: FatVolume, where: string): Tree<FatTreeEntry> {
  const entry = (e: FatEntry): FatTreeEntry => ({
    name: e.name,
    path: e.path,
    kind: e.dir ? "dir" : "file",
    id: e.cluster ? String(e.cluster) : undefined,
    fat: e,
  });
  return {
    list(dir) {
      const r = vol.list(dir ? dir.fat : null);
      return { entries: r.entries.map(entry), lost: r.lost };
    },
    open: (e) => vol.open(e.fat),
    show: (path) => `${where}:${path}`,
  };
}

/** A FAT card image (with or without a partition table), read at offsets: what a card directory holds, read the same way. */
export function readImage(image: Bytes, where: string): Input {
  let vol: FatVolume;
  try {
    vol = new FatVolume(image);
  } catch (e) {
    return { messages: [], blobs: [], losses: [loss(where, (e as Error).message)] };
  }
  return readTree(imageTree(vol, where));
}
