// SD card images for the simulator: FAT16 volumes driven by real FatFs (ChaN's
// FatFs R0.15 compiled to WebAssembly, npm `js-fatfs`), over the block device
// of device.ts, which counts sector traffic by region and can lose power at a
// chosen sector write.
//
// The image lives in memory (a Buffer) and reaches its file only on `save()`:
// a simulated year of appends is hundreds of thousands of sector writes, which
// would be slow as file I/O. Whatever a board wrote is in `image.buffer` at
// once; call `save()` before handing the file to other tools (fsck.fat, mtools)
// or to another process.
//
// Layout: no partition table (a "super floppy", as FatFs' FM_SFD makes it),
// 512-byte sectors, two FATs, a 512-entry root directory; FatFs picks the
// cluster size, which for 32 to 256 MiB keeps the cluster count in FAT16's range.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as FatFsLib from "js-fatfs";
import type { DiskIO, FatFs } from "js-fatfs";
import { BlockDevice, type Geometry } from "./device";
import {
  fatReaddir,
  fatReadFile,
  frName,
  newFatFs as newFatFsWith,
  withMount,
  type HostEntry,
} from "./fatfs";
import { SECTOR } from "./fault";

// ---- FatFs instances ------------------------------------------------------------

let wasmModule: WebAssembly.Module | null = null;
/** The FatFs WebAssembly module, compiled once per process. */
export function fatfsWasm(): WebAssembly.Module {
  if (!wasmModule) {
    const main = createRequire(import.meta.url).resolve("js-fatfs");
    wasmModule = new WebAssembly.Module(readFileSync(join(dirname(main), "fatfs.wasm")));
  }
  return wasmModule;
}

/** A FatFs instance over `device`, with the simulator's clock (see fatread.ts). */
const newFatFs = (device: DiskIO, clock: () => number) => newFatFsWith(device, fatfsWasm(), clock);

// ---- images ---------------------------------------------------------------------

/**
 * An SD card: its image in memory, the block device over it, and the FatFs
 * instance a board in the simulator mounts it with (volume "0:"). The host-side
 * helpers (`readFile`, `readdir`) mount their own FATFS object on volume "1:" of
 * the same FatFs (same device), so they never disturb a board's mount; call
 * them when the board is not in the middle of a write, as FatFs caches sectors.
 */
export class FatImage {
  /** Milliseconds since 1970 for FAT time stamps; a board points it at its virtual clock. */
  clock: () => number = () => Date.UTC(2025, 0, 1);

  private constructor(
    public path: string,
    readonly buffer: Buffer,
    readonly device: BlockDevice,
    readonly ff: FatFs
  ) {}

  /** An image over `buffer` (kept, not copied); nothing touches `path` until `save()`. */
  static async fromBuffer(path: string, buffer: Buffer): Promise<FatImage> {
    const device = new BlockDevice(buffer);
    let img: FatImage | null = null;
    const ff = await newFatFs(device, () => (img ? img.clock() : Date.UTC(2025, 0, 1)));
    img = new FatImage(path, buffer, device, ff);
    return img;
  }

  get geometry(): Geometry | null {
    return this.device.geometry;
  }

  /** Writes the image to its file (or to `path`). */
  save(path = this.path): void {
    writeFileSync(path, this.buffer);
  }

  /** A file's bytes, or undefined when missing (host side, volume "1:"). */
  readFile(path: string): Buffer | undefined {
    return this.host((ff) => {
      const b = fatReadFile(ff, "1:", path, this.buffer.length);
      return b && Buffer.from(b.buffer, b.byteOffset, b.length);
    });
  }

  /** A directory's entries (host side), or undefined when missing. */
  readdir(path = ""): HostEntry[] | undefined {
    return this.host((ff) => fatReaddir(ff, "1:", path));
  }

  /** Runs fn with volume "1:" mounted, without counting its sector reads. */
  private host<T>(fn: (ff: FatFs) => T): T {
    const counting = this.device.counting;
    this.device.counting = false;
    try {
      return withMount(this.ff, "1:", this.path, () => fn(this.ff));
    } finally {
      this.device.counting = counting;
    }
  }
}

export interface CreateOptions {
  /** FAT copies (2, as card formatters write). */
  fats?: number;
  /** Root directory entries (512). */
  rootEntries?: number;
  /** Sectors per cluster; 0 lets FatFs choose by size (8 up to 128 MiB, 16 up to 256 MiB). */
  sectorsPerCluster?: number;
}

/**
 * A fresh FAT16 card image of `sizeBytes` (a multiple of 512), formatted by
 * FatFs' f_mkfs(FM_FAT | FM_SFD, 2 FATs, 512 root entries), written to `path`.
 * Sizes from about 16 MiB to 1 GiB come out FAT16 with FatFs' own cluster sizes;
 * 32 to 256 MiB are the intended ones.
 */
export async function createImage(
  path: string,
  sizeBytes: number,
  o: CreateOptions = {}
): Promise<FatImage> {
  if (sizeBytes % SECTOR || sizeBytes < 8 << 20)
    throw new Error("createImage: size must be a multiple of 512, at least 8 MiB");
  const img = await FatImage.fromBuffer(path, Buffer.alloc(sizeBytes));
  const ff = img.ff,
    workLen = 64 * 1024,
    work = ff.malloc(workLen);
  const res = ff.f_mkfs(
    "",
    {
      fmt: FatFsLib.FM_FAT | FatFsLib.FM_SFD,
      n_fat: o.fats ?? 2,
      align: 0,
      n_root: o.rootEntries ?? 512,
      au_size: (o.sectorsPerCluster ?? 0) * SECTOR,
    },
    work,
    workLen
  );
  ff.free(work);
  if (res !== FatFsLib.FR_OK) throw new Error(`f_mkfs: ${frName(res)}`);
  const g = img.geometry;
  if (!g || g.fatType !== 16)
    throw new Error(`createImage: ${sizeBytes} bytes formats as FAT${g?.fatType}, not FAT16`);
  // FatFs labels FAT12/16 volumes "FAT     "; card formatters write "FAT16   ". The label is
  // informational only (drivers decide by cluster count), but `file` and people read it.
  img.buffer.write("FAT16   ", 54, "latin1");
  img.device.resetCounters();
  img.save();
  return img;
}

/** An existing image file, loaded into memory. */
export async function openImage(path: string): Promise<FatImage> {
  return FatImage.fromBuffer(path, readFileSync(path));
}
