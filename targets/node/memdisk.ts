// A card in memory with Espruino's file API (E.openFile: r, r+, w; seek past
// the end extends; read gives a byte string, undefined at the end; every
// write is flushed), counting sector reads and writes, and able to lose power
// at a chosen sector write: "atomic" drops it and all after it, "torn" lands
// a random prefix of it over the old bytes, the rest garbage. For the store's
// logic, and for the host to read a log file it has in memory. The FAT-level
// simulation lives in targets/node/fat.ts and sim/.
import type { Disk, File } from "../../src/card";

export class PowerCut extends Error {}

export class MemDisk implements Disk {
  files = new Map<string, Buffer>();
  reads = 0;
  writes = 0;
  cutAt = -1; // sector write number at which power fails
  model: "atomic" | "torn" = "atomic";
  dead = false;
  rnd = 1;

  openFile(path: string, mode: string): File | undefined {
    if (this.dead) throw new PowerCut("no power");
    const m = mode.slice(0, 2);
    if (m !== "r" && m !== "r+" && m !== "w") return undefined;
    if (m === "w") this.files.set(path, Buffer.alloc(0));
    if (!this.files.has(path)) throw new Error("Could not open file : NO_FILE");
    let pos = 0;
    const disk = this;
    return {
      read(n: number) {
        const b = disk.files.get(path)!;
        if (pos >= b.length) return undefined;
        const s = b.subarray(pos, Math.min(b.length, pos + n));
        disk.reads += Math.ceil(s.length / 512);
        pos += s.length;
        return s.toString("latin1");
      },
      write(data: Uint8Array | string) {
        if (m === "r") return 0;
        const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : Buffer.from(data);
        let b = disk.files.get(path)!;
        if (pos + bytes.length > b.length) disk.files.set(path, (b = Buffer.concat([b, Buffer.alloc(pos + bytes.length - b.length)])));
        for (let o = 0; o < bytes.length; o += 512) {
          const piece = bytes.subarray(o, o + 512);
          if (disk.dead) throw new PowerCut("no power");
          if (disk.writes++ === disk.cutAt) {
            disk.dead = true;
            if (disk.model === "torn") {
              const keep = Math.floor(disk.random() * piece.length);
              piece.copy(b, pos + o, 0, keep);
              for (let i = keep; i < piece.length; i++) if (disk.random() < 0.5) b[pos + o + i] = (disk.random() * 256) | 0;
            }
            throw new PowerCut("power cut");
          }
          piece.copy(b, pos + o);
        }
        pos += bytes.length;
        return bytes.length;
      },
      seek(n: number) {
        const b = disk.files.get(path)!;
        if (n > b.length && m !== "r") disk.files.set(path, Buffer.concat([b, Buffer.alloc(n - b.length, 0xa5)]));
        pos = n;
      },
      close() {},
      size: () => disk.files.get(path)!.length,
    };
  }
  random() {
    this.rnd = (this.rnd * 1103515245 + 12345) >>> 0;
    return this.rnd / 4294967296;
  }
}
