// `pigeon`'s inputs from the host's files: a bundle directory, a messages.pgn,
// a card directory or a FAT16 card image, read by the shared logic of
// input.ts (which the card viewer runs on the files a person picks).
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { join, sep } from "node:path";
import { fatfsWasm } from "./fat";
import { isImage, pgnMessages, readImage, readTree, type Input } from "./input";

export { splitPgn, type BlobFile, type Input, type Source } from "./input";

/** The lines of a file, read a megabyte at a time. */
function* fileLines(path: string): Generator<string> {
  const fd = openSync(path, "r"), chunk = Buffer.alloc(1 << 20), dec = new StringDecoder("utf8");
  let rest = "", got;
  try {
    while ((got = readSync(fd, chunk, 0, chunk.length, null)) > 0) {
      const lines = (rest + dec.write(chunk.subarray(0, got))).split("\n");
      rest = lines.pop()!;
      yield* lines;
    }
    yield rest + dec.end();
  } finally {
    closeSync(fd);
  }
}

/** Reads a bundle directory, a messages.pgn file, a card directory or a FAT16 image. Throws (with the path) when it cannot. */
export async function readInput(path: string): Promise<Input> {
  if (!existsSync(path)) throw new Error(`${path}: no such file or directory`);
  const st = statSync(path);
  if (st.isDirectory()) {
    const full = (p: string) => join(path, ...p.split("/"));
    return readTree({
      list: (d) => readdirSync(full(d)).filter((n) => n !== "..").map((name) => ({ name, dir: statSync(join(full(d), name)).isDirectory() })),
      bytes: (p) => readFileSync(full(p)),
      lines: (p) => fileLines(full(p)),
      show: (p) => (p ? full(p) : path + sep),
    });
  }
  const head = Buffer.alloc(512), hd = openSync(path, "r");
  readSync(hd, head, 0, 512, 0);
  closeSync(hd);
  // a card image: FAT16 through FatFs, no mounting
  if (isImage(head, st.size)) return readImage(readFileSync(path), fatfsWasm(), path);
  return { messages: pgnMessages(fileLines(path), path), blobs: [], stray: [] };
}
