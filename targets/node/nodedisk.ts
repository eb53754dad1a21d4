// Espruino's file API (E.openFile and its File objects) over a directory of
// the host, so the device's store code keeps a store on a laptop's disk in the
// card's own format: a card is a store, and a store can be copied to a card.
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Disk, File } from "../../src/card";

export class NodeDisk implements Disk {
  constructor(readonly root: string) {}
  openFile(path: string, mode: string): File | undefined {
    const m = mode.slice(0, 2), full = join(this.root, path);
    if (m !== "r" && m !== "r+" && m !== "w") return undefined;
    if (m === "w") mkdirSync(dirname(full), { recursive: true });
    if (m !== "w" && !existsSync(full)) throw new Error("Could not open file : NO_FILE");
    const fd = openSync(full, m === "w" ? "w" : m);
    let pos = 0, open = true;
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
        const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
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
