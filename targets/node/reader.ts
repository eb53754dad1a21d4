// Reading what a collector brings home: a bundle directory, a messages.pgn,
// a card directory or a FAT16 card image. Everything becomes messages with
// where they came from (file and line) and blob files with their paths.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { join, relative, sep } from "node:path";
import { MemDisk } from "./memdisk";
import { each, openLog } from "../../src/card";
import { FatImage } from "./fat";
import { readHave, type Holdings } from "./gossip";

export interface Source {
  text: string;
  file: string;
  line: number; // first line of the message in its file
}
export interface BlobFile {
  /** Path inside the bundle, "/"-separated, e.g. 9YK6W64/9RHEJBC/V2RMG52/BAH2WKG/SEBNRS2/DDYV37B/J4469T9.4ZG */
  path: string;
  bytes: Buffer;
}
export interface Input {
  /** Read as they are needed: a messages.pgn file is streamed, not held whole. */
  messages: Iterable<Source>;
  blobs: BlobFile[];
  /** How far reading has gone: bytes of messages.pgn files read, of total (0 when unknown). */
  read?: { bytes: number; total: number };
  /** Files of the bundle that lead out of it (links): refused, never read. */
  outside?: string[];
  /** The bundle's HAVE.TXT, when it has one: what its writer held (gossip.ts). */
  have?: { who: string; held: Holdings } | Error;
}

/** Messages of messages.pgn lines: a message ends at its signature line; one empty line between messages. */
function* pgnMessages(lines: Iterable<string>, file: string): Generator<Source> {
  let start = -1, n = 0, buf: string[] = [];
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
/** The lines of a file, read a megabyte at a time; counts what was taken into read. */
function* fileLines(path: string, read: NonNullable<Input["read"]>): Generator<string> {
  const fd = openSync(path, "r"), chunk = Buffer.alloc(1 << 20), dec = new StringDecoder("utf8");
  let rest = "", got;
  read.total += statSync(path).size;
  try {
    while ((got = readSync(fd, chunk, 0, chunk.length, null)) > 0) {
      const lines = (rest + dec.write(chunk.subarray(0, got))).split("\n");
      rest = lines.pop()!;
      for (const l of lines) {
        read.bytes += l.length + 1; // characters for bytes: exact for ASCII, near enough for a progress bar
        yield l;
      }
    }
    yield rest + dec.end();
  } finally {
    closeSync(fd);
  }
}
export function splitPgn(text: string, file: string): Source[] {
  return [...pgnMessages(text.split("\n"), file)];
}
function* chain(...parts: Iterable<Source>[]): Generator<Source> {
  for (const p of parts) yield* p;
}

const BLOB_DIR = /^[0-9A-Z]{7}$/, BLOB_FILE = /^[0-9A-Z]{7}\.[0-9A-Z]{3}$/;

/** Whether a path, links followed, stays inside the directory dir. */
function inside(dir: string, path: string) {
  try {
    const d = realpathSync(dir), p = realpathSync(path);
    return p === d || p.startsWith(d + sep);
  } catch {
    return false; // a link to nowhere
  }
}

/** Blob files below root in the bundle layout (six directories of 7, then a 7.3 file); a path that leaves the bundle is refused, never followed. */
function blobsBelow(bundle: string, root: string, into: Input) {
  const walk = (dir: string, depth: number) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (!(depth < 6 ? BLOB_DIR : BLOB_FILE).test(name)) continue;
      if (!inside(bundle, full)) {
        (into.outside ??= []).push(relative(bundle, full).split(sep).join("/"));
        continue;
      }
      const st = statSync(full);
      if (depth < 6 && st.isDirectory()) walk(full, depth + 1);
      else if (depth === 6 && st.isFile()) into.blobs.push({ path: relative(root, full).split(sep).join("/"), bytes: readFileSync(full) });
    }
  };
  walk(root, 0);
}

function logsOf(files: Map<string, Buffer>, into: Input, where: string) {
  for (const [name, bytes] of files) {
    const disk = new MemDisk();
    disk.files.set(name, bytes);
    const log = openLog(disk, name);
    const list: Source[] = [];
    each(log, disk.openFile(name, "r")!, (text) => list.push({ text, file: `${where}${name}`, line: 0 }));
    into.messages = chain(into.messages, list);
  }
}

/** Reads a bundle directory, a messages.pgn file, a card directory or a FAT16 image. Throws (with the path) when it cannot. */
export async function readInput(path: string): Promise<Input> {
  const read = { bytes: 0, total: 0 }, into: Input = { messages: [], blobs: [], read };
  if (!existsSync(path)) throw new Error(`${path}: no such file or directory`);
  const st = statSync(path);
  if (st.isDirectory()) {
    const leaves = (n: string) => !inside(path, join(path, n)) && ((into.outside ??= []).push(n), true);
    for (const n of ["messages.pgn", "MESSAGES.PGN"]) if (existsSync(join(path, n)) && !leaves(n)) into.messages = chain(into.messages, pgnMessages(fileLines(join(path, n), read), join(path, n)));
    const logs = new Map<string, Buffer>();
    for (const n of readdirSync(path)) if (/^[0-9A-Z]{1,8}\.LOG$/.test(n) && !leaves(n)) logs.set(n, readFileSync(join(path, n)));
    logsOf(logs, into, path + sep);
    blobsBelow(path, existsSync(join(path, "B")) ? join(path, "B") : path, into);
    if (existsSync(join(path, "HAVE.TXT")) && !leaves("HAVE.TXT"))
      try {
        into.have = readHave(join(path, "HAVE.TXT"));
      } catch (e) {
        into.have = e as Error;
      }
    return into;
  }
  const head = Buffer.alloc(512), hd = openSync(path, "r");
  readSync(hd, head, 0, 512, 0);
  closeSync(hd);
  if (st.size >= 1 << 20 && head[510] === 0x55 && head[511] === 0xaa) {
    // a card image: FAT16 through FatFs, no mounting
    const img = await FatImage.fromBuffer(path, readFileSync(path));
    const logs = new Map<string, Buffer>();
    for (const e of img.readdir("") ?? []) {
      if (!e.dir && /\.LOG$/.test(e.name)) logs.set(e.name, img.readFile(e.name)!);
      if (!e.dir && /^MESSAGES\.PGN$/i.test(e.name)) into.messages = chain(into.messages, splitPgn(img.readFile(e.name)!.toString("utf8"), `${path}:${e.name}`));
    }
    logsOf(logs, into, path + ":");
    return into;
  }
  into.messages = pgnMessages(fileLines(path, read), path);
  return into;
}
