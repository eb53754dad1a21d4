// Espruino's file API (E.openFile and its File objects) over a directory of
// the host, so the device's store code keeps a store on a laptop's disk in the
// card's own format: a card is a store, and a store can be copied to a card.
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import type { Disk, File } from "../../src/log";

export class NodeDisk implements Disk {
  /** Paths never made again ("w"): logs that cannot be read but may hold records. */
  readonly keep = new Set<string>();
  constructor(readonly root: string) {}
  openFile(path: string, mode: string): File | undefined {
    const m = mode.slice(0, 2),
      full = join(this.root, path);
    if (m !== "r" && m !== "r+" && m !== "w") return undefined;
    if (m === "w" && this.keep.has(path))
      throw new Error(`${full}: a log that cannot be read is kept as it is, not made again`);
    if (m === "w") mkdirSync(dirname(full), { recursive: true });
    if (m !== "w" && !existsSync(full)) throw new Error("Could not open file : NO_FILE");
    // without blocking: a FIFO is refused before anything waits on it
    const fd = openSync(
      full,
      (m === "w"
        ? constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC
        : m === "r+"
          ? constants.O_RDWR
          : constants.O_RDONLY) | constants.O_NONBLOCK
    );
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw Object.assign(new Error(`${full}: not a regular file`), { code: "NOT_FILE" });
    }
    let pos = 0,
      open = true;
    const buf = Buffer.alloc(4096);
    return {
      read(n: number) {
        const b = n <= buf.length ? buf : Buffer.alloc(n);
        const got = readSync(fd, b, 0, n, pos);
        if (!got) return undefined;
        pos += got;
        return b.toString("latin1", 0, got);
      },
      write(data: Uint8Array | string) {
        if (m === "r") return 0;
        const bytes =
          typeof data === "string"
            ? Buffer.from(data, "latin1")
            : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        writeSync(fd, bytes, 0, bytes.length, pos);
        pos += bytes.length;
        return bytes.length;
      },
      seek(n: number) {
        pos = n;
      },
      close() {
        if (open) closeSync(fd);
        open = false;
      },
      // for the host: the file's size
      size: () => fstatSync(fd).size,
    } as File;
  }
}
