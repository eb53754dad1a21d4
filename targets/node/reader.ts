// `pigeon`'s inputs from the host's files: a bundle directory, a messages.pgn,
// a card directory or a FAT16 card image, read by the shared logic of
// input.ts (which the card viewer runs on the files a person picks). Here
// also: links that lead out of a bundle, and the bundle's HAVE.TXT.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { join, sep } from "node:path";
import { fatfsWasm } from "./fat";
import { readHave } from "./gossip";
import { isImage, pgnMessages, readImage, readTree, type Input } from "./input";

export { splitPgn, type BlobFile, type Input, type Source } from "./input";

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

/** Whether a path, links followed, stays inside the directory dir. */
function inside(dir: string, path: string) {
  try {
    const d = realpathSync(dir), p = realpathSync(path);
    return p === d || p.startsWith(d + sep);
  } catch {
    return false; // a link to nowhere
  }
}

/** Reads a bundle directory, a messages.pgn file, a card directory or a FAT16 image. Throws (with the path) when it cannot. */
export async function readInput(path: string): Promise<Input> {
  if (!existsSync(path)) throw new Error(`${path}: no such file or directory`);
  const st = statSync(path), read = { bytes: 0, total: 0 };
  if (st.isDirectory()) {
    const full = (p: string) => join(path, ...p.split("/"));
    const into = readTree({
      list: (d) => readdirSync(full(d)).map((name) => ({ name, dir: statSync(join(full(d), name), { throwIfNoEntry: false })?.isDirectory() ?? false })),
      bytes: (p) => readFileSync(full(p)),
      lines: (p) => fileLines(full(p), read),
      show: (p) => (p ? full(p) : path + sep),
      inside: (p) => inside(path, full(p)),
    });
    into.read = read;
    if (existsSync(join(path, "HAVE.TXT")))
      if (!inside(path, join(path, "HAVE.TXT"))) (into.outside ??= []).push("HAVE.TXT");
      else
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
  // a card image: FAT16 through FatFs, no mounting
  if (isImage(head, st.size)) return readImage(readFileSync(path), fatfsWasm(), path);
  return { messages: pgnMessages(fileLines(path, read), path), blobs: [], read };
}
