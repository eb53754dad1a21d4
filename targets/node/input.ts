// What a collector brings home, as messages with where they came from (file
// and line) and blob files with their paths: a bundle directory, a
// messages.pgn, a card directory or a FAT16 card image. No Node APIs: `pigeon`
// (reader.ts) gives it the host's files, the card viewer (targets/web/) the
// files a person picked or dropped.
import { each, openLog, type Disk } from "../../src/card";
import { imageRootFiles } from "./fatread";
import type { Holdings } from "./gossip";

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
export interface Input {
  /** Read as they are needed: a messages.pgn file may be streamed, not held whole. */
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
export function* pgnMessages(lines: Iterable<string>, file: string): Generator<Source> {
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
export function splitPgn(text: string, file: string): Source[] {
  return [...pgnMessages(text.split("\n"), file)];
}
function* chain(...parts: Iterable<Source>[]): Generator<Source> {
  for (const p of parts) yield* p;
}

/** A file in memory as a Disk for the device's store code (reading only). */
function bytesDisk(name: string, bytes: Uint8Array): Disk {
  return {
    openFile(path: string) {
      if (path !== name) throw new Error("Could not open file : NO_FILE");
      let pos = 0;
      return {
        read(n: number) {
          if (pos >= bytes.length) return undefined;
          const s = bytes.subarray(pos, Math.min(bytes.length, pos + n));
          pos += s.length;
          let out = "";
          for (let i = 0; i < s.length; i += 4096) out += String.fromCharCode.apply(null, s.subarray(i, i + 4096) as unknown as number[]);
          return out;
        },
        write: () => 0,
        seek(n: number) {
          pos = n;
        },
        close() {},
      };
    },
  };
}
/** The messages of a card's log file (name 8.3, e.g. "SPWC5NAG.LOG"), read with the device's store code. */
export function logMessages(name: string, bytes: Uint8Array, where: string): Source[] {
  const disk = bytesDisk(name, bytes), log = openLog(disk, name), list: Source[] = [];
  each(log, disk.openFile(name, "r")!, (text) => list.push({ text, file: `${where}${name}`, line: 0 }));
  return list;
}

export const LOG_NAME = /^[0-9A-Z]{1,8}\.LOG$/;
const BLOB_DIR = /^[0-9A-Z]{7}$/, BLOB_FILE = /^[0-9A-Z]{7}\.[0-9A-Z]{3}$/;

/** A directory tree, as the reader sees it; paths are "/"-separated and relative to its top. */
export interface Tree {
  /** The entries of a directory ("" is the top). */
  list(dir: string): { name: string; dir: boolean }[];
  bytes(path: string): Uint8Array;
  /** The lines of a text file (it may be streamed). */
  lines(path: string): Iterable<string>;
  /** How a path is named in reports. */
  show(path: string): string;
  /** Whether the path, links followed, stays inside the tree (where there can be links). */
  inside?(path: string): boolean;
}
const under = (dir: string, name: string) => (dir ? dir + "/" + name : name);
const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** A bundle directory or a card directory: its messages.pgn, its logs, and the blobs in the bundle layout (under B/ when there is one). */
export function readTree(tree: Tree): Input {
  const into: Input = { messages: [], blobs: [] };
  // a file or directory that leads out of the tree is refused, never read
  const stays = (path: string) => !tree.inside || tree.inside(path) || ((into.outside ??= []).push(path), false);
  const top = tree.list("").sort(byName), has = (n: string, dir = false) => top.some((e) => e.name === n && e.dir === dir);
  for (const n of ["messages.pgn", "MESSAGES.PGN"]) if (has(n) && stays(n)) into.messages = chain(into.messages, pgnMessages(tree.lines(n), tree.show(n)));
  for (const e of top) if (!e.dir && LOG_NAME.test(e.name) && stays(e.name)) into.messages = chain(into.messages, logMessages(e.name, tree.bytes(e.name), tree.show("")));
  // blob files: six directories of 7 characters, then a 7.3 file
  const walk = (dir: string, depth: number) => {
    for (const e of tree.list(dir).sort(byName)) {
      if (!(depth < 6 ? BLOB_DIR : BLOB_FILE).test(e.name) || !stays(under(dir, e.name))) continue;
      if (depth < 6 && e.dir) walk(under(dir, e.name), depth + 1);
      else if (depth === 6 && !e.dir) {
        const path = under(dir, e.name);
        into.blobs.push({ path: has("B", true) ? path.slice(2) : path, bytes: tree.bytes(path) });
      }
    }
  };
  walk(has("B", true) ? "B" : "", 0);
  return into;
}

/** Whether readTree may read the file at path (inside the tree): a reader of picked files need not load the rest. */
export function mayRead(path: string): boolean {
  const parts = path.split("/");
  if (parts.length === 1) return parts[0] === "messages.pgn" || parts[0] === "MESSAGES.PGN" || LOG_NAME.test(parts[0]);
  if (parts[0] === "B") parts.shift();
  return parts.length === 7 && parts.slice(0, 6).every((d) => BLOB_DIR.test(d)) && BLOB_FILE.test(parts[6]);
}

/** Whether a file's first sector and size make it a card image (a FAT boot sector or a partition table) rather than a messages.pgn. */
export const isImage = (head: Uint8Array, size: number) => size >= 1 << 20 && head[510] === 0x55 && head[511] === 0xaa;

/** A FAT card image (with or without a partition table) read through FatFs (`wasm`, the compiled js-fatfs module): its MESSAGES.PGN and its logs. */
export async function readImage(image: Uint8Array, wasm: WebAssembly.Module, where: string): Promise<Input> {
  const files = await imageRootFiles(image, wasm, where, (n) => /\.LOG$/.test(n) || /^MESSAGES\.PGN$/i.test(n));
  const dec = new TextDecoder();
  const pgn = files.filter((f) => /^MESSAGES\.PGN$/i.test(f.name)).map((f) => splitPgn(dec.decode(f.bytes), `${where}:${f.name}`));
  const logs = files.filter((f) => /\.LOG$/.test(f.name)).map((f) => logMessages(f.name, f.bytes, where + ":"));
  return { messages: chain(...pgn, ...logs), blobs: [] };
}
