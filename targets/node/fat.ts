// SD card images for the simulator: FAT16 volumes driven by real FatFs (ChaN's
// FatFs R0.15 compiled to WebAssembly, npm `js-fatfs`), over a block device that
// counts sector traffic by region and can lose power at a chosen sector write.
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
import { fatReaddir, fatReadFile, frName, newFatFs as newFatFsWith, SECTOR, withMount, type HostEntry } from "./fatread";

export { FRESULT, frName, SECTOR, type HostEntry } from "./fatread";

/** Thrown when the card loses power: at the armed sector write (see `BlockDevice.armFault`) or by `powerCut()`. */
export class PowerCut extends Error {
  constructor(message = "power cut") {
    super(message);
    this.name = "PowerCut";
  }
}

// ---- geometry ---------------------------------------------------------------

/** Where a sector lies: reserved (boot) sectors, a FAT copy, the root directory, a sub-directory's cluster, or file data. */
export type Region = "boot" | "fat" | "root" | "dir" | "data";
export const REGIONS: readonly Region[] = ["boot", "fat", "root", "dir", "data"];

/** The volume layout, from the boot sector's BIOS parameter block. */
export interface Geometry {
  bytesPerSector: number;
  sectorsPerCluster: number;
  reservedSectors: number;
  fats: number;
  sectorsPerFat: number;
  rootEntries: number;
  totalSectors: number;
  firstFatSector: number;
  firstRootSector: number;
  rootSectors: number;
  firstDataSector: number;
  clusters: number;
  /** By cluster count, as every FAT driver decides it. */
  fatType: 12 | 16 | 32;
}

/** The layout of the volume in `buf`, or null when sector 0 holds no FAT boot sector. */
export function readGeometry(buf: Uint8Array): Geometry | null {
  if (buf.length < SECTOR || buf[510] !== 0x55 || buf[511] !== 0xaa) return null;
  const v = new DataView(buf.buffer, buf.byteOffset, SECTOR);
  const bytesPerSector = v.getUint16(11, true), sectorsPerCluster = v.getUint8(13);
  const reservedSectors = v.getUint16(14, true), fats = v.getUint8(16), rootEntries = v.getUint16(17, true);
  const totalSectors = v.getUint16(19, true) || v.getUint32(32, true);
  const sectorsPerFat = v.getUint16(22, true) || v.getUint32(36, true);
  if (bytesPerSector !== SECTOR || !sectorsPerCluster || !fats || !sectorsPerFat) return null;
  const firstFatSector = reservedSectors;
  const firstRootSector = firstFatSector + fats * sectorsPerFat;
  const rootSectors = Math.ceil((rootEntries * 32) / SECTOR);
  const firstDataSector = firstRootSector + rootSectors;
  const clusters = Math.floor((totalSectors - firstDataSector) / sectorsPerCluster);
  const fatType = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
  return {
    bytesPerSector, sectorsPerCluster, reservedSectors, fats, sectorsPerFat, rootEntries, totalSectors,
    firstFatSector, firstRootSector, rootSectors, firstDataSector, clusters, fatType,
  };
}

// ---- a seeded PRNG (tests must replay a torn write exactly) ------------------

/** mulberry32: small, fast, and good enough to pick fault points and garbage. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- the block device ---------------------------------------------------------

export type Counts = Record<Region, number>;
const zero = (): Counts => ({ boot: 0, fat: 0, root: 0, dir: 0, data: 0 });

/**
 * How power fails. `atomic`: the k-th sector write from now, and every later one,
 * never reaches the card. `torn`: the k-th write lands as a random prefix of the
 * new bytes, the rest of the sector being the old bytes or random garbage; every
 * later write is lost. Boot, FAT and directory sectors stay atomic under `torn`
 * (FatFs has no way to protect them, so a model that tore them would only show
 * that), so a torn fault falling on one of them acts as `atomic`.
 */
export interface FaultPlan {
  model: "atomic" | "torn";
  /** 1 = the very next sector write. */
  after: number;
  /** Seeds the torn prefix and garbage. */
  seed?: number;
  /** What follows the torn prefix: the sector's old bytes, random bytes, or either (chosen by the PRNG; default). */
  tail?: "old" | "garbage" | "either";
}

/** What happened at the fault, for tests and reports. */
export interface FaultRecord {
  model: "atomic" | "torn";
  sector: number;
  region: Region;
  /** "lost": nothing of this write reached the card; "torn": `prefix` new bytes did. */
  outcome: "lost" | "torn";
  prefix: number;
  tail: "old" | "garbage" | null;
}

/**
 * A card over an in-memory image, as FatFs' disk I/O layer (js-fatfs calls
 * `read`/`write` with a pointer into its WebAssembly heap, a first sector and a
 * count). Counts sector reads and writes by region, and injects power faults.
 *
 * After a fault the card is dead: later writes are dropped and answered with
 * RES_ERROR (so FatFs gives up with FR_DISK_ERR), reads still work. The fault is
 * not thrown through FatFs: a JS exception unwinding WebAssembly frames would
 * leave emscripten's stack pointer and FatFs' state half-way; the board checks
 * `dead` after each FatFs call and throws PowerCut from there.
 */
export class BlockDevice implements DiskIO {
  /** Card in the slot; a removed card answers STA_NODISK / RES_NOTRDY. */
  present = true;
  /** Power was lost (a fault fired): writes are dropped until `powerOn()`. */
  dead = false;
  reads: Counts = zero();
  writes: Counts = zero();
  /** Writes dropped because the card was dead. */
  dropped = 0;
  /** Counting stops while host-side helpers read the image. */
  counting = true;
  /** When set, every counted sector write is appended as [sector, region]. */
  trace: [number, Region][] | null = null;
  fault: FaultRecord | null = null;

  private plan: FaultPlan | null = null;
  private untilFault = 0;
  private geo: Geometry | null;
  private dirs: Set<number> | null = null;

  constructor(readonly buffer: Buffer) {
    this.geo = readGeometry(buffer);
  }

  get sectors(): number {
    return this.buffer.length / SECTOR;
  }
  get geometry(): Geometry | null {
    return this.geo;
  }

  resetCounters(): void {
    this.reads = zero();
    this.writes = zero();
    this.dropped = 0;
  }
  /** Totals over all regions. */
  totals(): { reads: number; writes: number } {
    const sum = (c: Counts) => REGIONS.reduce((s, r) => s + c[r], 0);
    return { reads: sum(this.reads), writes: sum(this.writes) };
  }

  /** Arms a power fault at the `plan.after`-th sector write from now. */
  armFault(plan: FaultPlan): void {
    if (!(plan.after >= 1)) throw new Error("armFault: after must be >= 1");
    this.plan = { ...plan };
    this.untilFault = Math.floor(plan.after);
    this.fault = null;
  }
  disarm(): void {
    this.plan = null;
  }
  /** Cuts power now: every later write is lost. */
  powerCut(): void {
    this.dead = true;
    this.plan = null;
  }
  /** Power back (a new board boots on the card): writes reach it again (a fault armed for later stays armed). */
  powerOn(): void {
    this.dead = false;
  }

  /** The region of a sector, by the current boot sector (sub-directories found by walking the tree). */
  regionOf(sector: number): Region {
    const g = this.geo;
    if (!g) return "data";
    if (sector < g.firstFatSector) return "boot";
    if (sector < g.firstRootSector) return "fat";
    if (sector < g.firstDataSector) return "root";
    const cluster = Math.floor((sector - g.firstDataSector) / g.sectorsPerCluster) + 2;
    return this.dirClusters().has(cluster) ? "dir" : "data";
  }

  // -- DiskIO (js-fatfs calls these with the FatFs module as `ff`) --

  initialize(): number {
    return this.present ? 0 : FatFsLib.STA_NOINIT | FatFsLib.STA_NODISK;
  }
  status(): number {
    return this.present ? 0 : FatFsLib.STA_NOINIT | FatFsLib.STA_NODISK;
  }
  read(ff: FatFs, _pdrv: number, buff: number, sector: number, count: number): number {
    if (!this.present) return FatFsLib.RES_NOTRDY;
    if (sector + count > this.sectors) return FatFsLib.RES_PARERR;
    if (this.counting) for (let s = sector; s < sector + count; s++) this.reads[this.regionOf(s)]++;
    ff.HEAPU8.set(this.buffer.subarray(sector * SECTOR, (sector + count) * SECTOR), buff);
    return FatFsLib.RES_OK;
  }
  write(ff: FatFs, _pdrv: number, buff: number, sector: number, count: number): number {
    if (!this.present) return FatFsLib.RES_NOTRDY;
    if (sector + count > this.sectors) return FatFsLib.RES_PARERR;
    // copy out first: HEAPU8 is replaced when the WebAssembly memory grows
    const data = Buffer.from(ff.HEAPU8.subarray(buff, buff + count * SECTOR));
    for (let i = 0; i < count; i++) {
      if (this.dead) {
        this.dropped += count - i;
        return FatFsLib.RES_ERROR;
      }
      this.writeSector(sector + i, data.subarray(i * SECTOR, (i + 1) * SECTOR));
    }
    return this.dead ? FatFsLib.RES_ERROR : FatFsLib.RES_OK;
  }
  ioctl(ff: FatFs, _pdrv: number, cmd: number, buff: number): number {
    switch (cmd) {
      case FatFsLib.CTRL_SYNC:
        return this.present ? FatFsLib.RES_OK : FatFsLib.RES_NOTRDY;
      case FatFsLib.GET_SECTOR_COUNT:
        ff.setValue(buff, this.sectors, "i32");
        return FatFsLib.RES_OK;
      case FatFsLib.GET_SECTOR_SIZE:
        ff.setValue(buff, SECTOR, "i16");
        return FatFsLib.RES_OK;
      case FatFsLib.GET_BLOCK_SIZE:
        ff.setValue(buff, 1, "i32"); // unknown erase block: no data-area alignment in f_mkfs
        return FatFsLib.RES_OK;
      default:
        return FatFsLib.RES_PARERR;
    }
  }

  // -- internals --

  private writeSector(sector: number, data: Buffer): void {
    const region = this.regionOf(sector);
    if (this.counting) {
      this.writes[region]++;
      this.trace?.push([sector, region]);
    }
    const at = sector * SECTOR;
    if (this.plan && --this.untilFault === 0) {
      const plan = this.plan;
      this.plan = null;
      this.dead = true;
      if (plan.model === "torn" && region === "data") {
        const rnd = prng(plan.seed ?? 1);
        const prefix = Math.floor(rnd() * SECTOR); // 0..511 new bytes: never the whole sector
        const tail = plan.tail === "old" || plan.tail === "garbage" ? plan.tail : rnd() < 0.5 ? "old" : "garbage";
        const out = Buffer.from(this.buffer.subarray(at, at + SECTOR));
        data.copy(out, 0, 0, prefix);
        if (tail === "garbage") for (let i = prefix; i < SECTOR; i++) out[i] = Math.floor(rnd() * 256);
        out.copy(this.buffer, at);
        this.fault = { model: plan.model, sector, region, outcome: "torn", prefix, tail };
      } else {
        this.fault = { model: plan.model, sector, region, outcome: "lost", prefix: 0, tail: null };
      }
      return;
    }
    this.noteMetadata(sector, region, data);
    data.copy(this.buffer, at);
  }

  /** Drops cached layout / directory clusters when a write may change them. */
  private noteMetadata(sector: number, region: Region, data: Buffer): void {
    if (sector === 0) {
      this.geo = readGeometry(Buffer.concat([data, this.buffer.subarray(SECTOR, 2 * SECTOR)]));
      this.dirs = null;
      return;
    }
    if (!this.dirs) return;
    const at = sector * SECTOR;
    if (region === "root" || region === "dir") {
      // an entry that is or was a directory changed: the tree may have changed
      for (let e = 0; e < SECTOR; e += 32) {
        const oldAttr = this.buffer[at + e + 11], newAttr = data[e + 11];
        if (((oldAttr | newAttr) & 0x10) && this.buffer.compare(data, e, e + 32, at + e, at + e + 32) !== 0) {
          this.dirs = null;
          return;
        }
      }
    } else if (region === "fat" && this.geo) {
      // a directory's cluster chain changed
      const first = ((sector - this.geo.firstFatSector) % this.geo.sectorsPerFat) * (SECTOR / 2);
      for (let e = 0; e < SECTOR; e += 2)
        if (this.dirs.has(first + e / 2) && data.readUInt16LE(e) !== this.buffer.readUInt16LE(at + e)) {
          this.dirs = null;
          return;
        }
    }
  }

  /** The clusters of every sub-directory, found by walking the tree from the root (FAT16). */
  private dirClusters(): Set<number> {
    if (this.dirs) return this.dirs;
    const g = this.geo, dirs = new Set<number>();
    this.dirs = dirs;
    if (!g || g.fatType !== 16) return dirs;
    const fat = g.firstFatSector * SECTOR, buf = this.buffer;
    const chain = (c: number): number[] => {
      const out: number[] = [];
      while (c >= 2 && c < g.clusters + 2 && !dirs.has(c) && out.length <= g.clusters) {
        out.push(c);
        dirs.add(c);
        c = buf.readUInt16LE(fat + 2 * c);
      }
      return out;
    };
    const scan = (from: number, bytes: number, todo: number[]) => {
      for (let e = from; e < from + bytes; e += 32) {
        if (buf[e] === 0) return false; // end of directory
        if (buf[e] === 0xe5 || buf[e] === 0x2e || buf[e + 11] === 0x0f || !(buf[e + 11] & 0x10)) continue;
        todo.push(buf.readUInt16LE(e + 26));
      }
      return true;
    };
    const todo: number[] = [];
    scan(g.firstRootSector * SECTOR, g.rootSectors * SECTOR, todo);
    while (todo.length) {
      for (const c of chain(todo.pop()!)) {
        const s = g.firstDataSector + (c - 2) * g.sectorsPerCluster;
        if (!scan(s * SECTOR, g.sectorsPerCluster * SECTOR, todo)) break;
      }
    }
    return dirs;
  }
}

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
    readonly ff: FatFs,
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
export async function createImage(path: string, sizeBytes: number, o: CreateOptions = {}): Promise<FatImage> {
  if (sizeBytes % SECTOR || sizeBytes < 8 << 20) throw new Error("createImage: size must be a multiple of 512, at least 8 MiB");
  const img = await FatImage.fromBuffer(path, Buffer.alloc(sizeBytes));
  const ff = img.ff, workLen = 64 * 1024, work = ff.malloc(workLen);
  const res = ff.f_mkfs("", {
    fmt: FatFsLib.FM_FAT | FatFsLib.FM_SFD,
    n_fat: o.fats ?? 2,
    align: 0,
    n_root: o.rootEntries ?? 512,
    au_size: (o.sectorsPerCluster ?? 0) * SECTOR,
  }, work, workLen);
  ff.free(work);
  if (res !== FatFsLib.FR_OK) throw new Error(`f_mkfs: ${frName(res)}`);
  const g = img.geometry;
  if (!g || g.fatType !== 16) throw new Error(`createImage: ${sizeBytes} bytes formats as FAT${g?.fatType}, not FAT16`);
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
