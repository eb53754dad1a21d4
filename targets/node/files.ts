// `pigeon`'s inputs from the host's files: a bundle directory, a messages.pgn,
// a card directory or a FAT card image, read by the shared logic of input.ts
// (which the card viewer runs on the files a person picks). Here: the host's
// files read at offsets (regular files only: a FIFO would block the reader),
// links that lead out of a bundle, and the bundle's HAVE.TXT.
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  statSync,
} from "node:fs";
import { join, sep } from "node:path";
import { parseHave } from "../host/have";
import {
  isImage,
  pgnMessages,
  readImage,
  readTree,
  textLines,
  type Entry,
  type Input,
} from "../host/bundle";
import { blockBytes, type Bytes } from "../host/bytes";

/** A regular file, opened without blocking (a FIFO is refused before anything waits on it); returns its descriptor and size. */
function openRegular(path: string): { fd: number; size: number } {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK),
    st = fstatSync(fd);
  if (st.isFile()) return { fd, size: st.size };
  closeSync(fd);
  throw new Error(`${path}: not a regular file`);
}
const readAt = (fd: number, at: number, n: number) => {
  const b = Buffer.allocUnsafe(n);
  return b.subarray(0, readSync(fd, b, 0, n, at));
};
/** A regular file read at offsets, in blocks. */
export function fileBytes(path: string): Bytes & { close(): void } {
  const { fd, size } = openRegular(path);
  let open = true;
  return {
    ...blockBytes(size, (at, n) => readAt(fd, at, n), Buffer.allocUnsafe),
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

const MAX_HAVE = 1 << 24; // a have-file's line per feed: room for 200,000 feeds; a longer one is read that far and refused

/** A have-file (a regular file, read that far): what its writer holds; errors name the file and the line. */
export function readHave(path: string) {
  const f = fileBytes(path);
  try {
    return parseHave(new TextDecoder().decode(f.read(0, Math.min(f.size, MAX_HAVE))), path);
  } finally {
    f.close();
  }
}

/** Whether a path, links followed, stays inside the directory dir. */
function inside(dir: string, path: string) {
  try {
    const d = realpathSync(dir),
      p = realpathSync(path);
    return p === d || p.startsWith(d + sep);
  } catch {
    return false; // a link to nowhere
  }
}

/** Reads a bundle directory, a messages.pgn file, a card directory or a FAT image. Throws (with the path) when it cannot. */
export async function readInput(path: string): Promise<Input> {
  if (!existsSync(path)) throw new Error(`${path}: no such file or directory`);
  const st = statSync(path);
  if (st.isDirectory()) {
    const full = (p: string) => join(path, ...p.split("/"));
    const into = readTree<Entry>({
      list(d) {
        const entries: Entry[] = [];
        for (const name of readdirSync(d ? full(d.path) : path)) {
          const p = d ? d.path + "/" + name : name,
            s = statSync(full(p), { throwIfNoEntry: false });
          entries.push({
            name,
            path: p,
            kind: s?.isDirectory() ? "dir" : s?.isFile() ? "file" : "other",
            id: s && `${s.dev}:${s.ino}`,
          });
        }
        return { entries };
      },
      open: (e) => fileBytes(full(e.path)),
      show: (p) => (p ? full(p) : path + sep),
      inside: (e) => inside(path, full(e.path)),
    });
    const have = join(path, "HAVE.TXT");
    if (existsSync(have))
      if (!inside(path, have)) (into.outside ??= []).push("HAVE.TXT");
      else
        try {
          into.have = readHave(have);
        } catch (e) {
          into.have = e as Error;
        }
    return into;
  }
  const f = fileBytes(path),
    head = Buffer.from(f.read(0, 512));
  // a card image: its FAT volume read here, never mounted
  if (isImage(head, f.size)) {
    f.close();
    // each block read with the file opened for it: nothing stays open
    return readImage(
      blockBytes(
        f.size,
        (at, n) => {
          const img = openRegular(path);
          try {
            return readAt(img.fd, at, n);
          } finally {
            closeSync(img.fd);
          }
        },
        Buffer.allocUnsafe
      ),
      path
    );
  }
  const read = { bytes: 0, total: 0 };
  return { messages: pgnMessages(textLines(f, read), path), blobs: [], losses: [], read };
}
