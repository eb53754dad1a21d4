// A card in memory with Espruino's file API (E.openFile: r, r+, w; seek past
// the end extends; read gives a byte string, undefined at the end; every
// write is flushed), counting sector reads and writes, and losing power at a
// chosen sector write by the fault model of every emulated card (fault.ts).
// For the store's logic alone, without FAT: the FAT-level card is device.ts
// and image.ts.
import type { Disk, File } from "../../src/log";
import { Fault, PowerCut, type FaultPlan } from "./fault";

export class MemDisk implements Disk {
  files = new Map<string, Buffer>();
  reads = 0;
  writes = 0;
  /** Its power: the fault model (armed by `armFault`). */
  readonly power = new Fault();

  /** Arms a power fault at the `plan.after`-th sector write from now (any sector may tear). */
  armFault(plan: FaultPlan): void {
    this.power.arm(plan);
  }
  disarm(): void {
    this.power.disarm();
  }
  /** Power back: writes reach the card again. */
  powerOn(): void {
    this.power.powerOn();
  }

  openFile(path: string, mode: string): File | undefined {
    if (this.power.dead) throw new PowerCut("no power");
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
        if (pos + bytes.length > b.length)
          disk.files.set(
            path,
            (b = Buffer.concat([b, Buffer.alloc(pos + bytes.length - b.length)]))
          );
        for (let o = 0; o < bytes.length; o += 512) {
          const piece = bytes.subarray(o, o + 512),
            at = pos + o;
          if (!disk.power.write(disk.writes++, "data", piece, b.subarray(at, at + piece.length)))
            throw new PowerCut(disk.power.record ? "power cut" : "no power");
          piece.copy(b, at);
        }
        pos += bytes.length;
        return bytes.length;
      },
      seek(n: number) {
        const b = disk.files.get(path)!;
        if (n > b.length && m !== "r")
          disk.files.set(path, Buffer.concat([b, Buffer.alloc(n - b.length, 0xa5)]));
        pos = n;
      },
      close() {},
      size: () => disk.files.get(path)!.length,
    };
  }
}
