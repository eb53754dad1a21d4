// An SD card for the simulator: an image in memory as FatFs' block device,
// counting sector traffic by region and losing power at a chosen sector write
// (the fault model of sim/card/fault.ts). FatFs runs over it in image.ts.
import * as FatFsLib from "js-fatfs";
import type { DiskIO, FatFs } from "js-fatfs";
import { Fault, SECTOR, type FaultPlan, type FaultRecord, type Region } from "./fault";

// ---- geometry ---------------------------------------------------------------

/** Where a sector lies: reserved (boot) sectors, a FAT copy, the root directory, a sub-directory's cluster, or file data. */
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
  const bytesPerSector = v.getUint16(11, true),
    sectorsPerCluster = v.getUint8(13);
  const reservedSectors = v.getUint16(14, true),
    fats = v.getUint8(16),
    rootEntries = v.getUint16(17, true);
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
    bytesPerSector,
    sectorsPerCluster,
    reservedSectors,
    fats,
    sectorsPerFat,
    rootEntries,
    totalSectors,
    firstFatSector,
    firstRootSector,
    rootSectors,
    firstDataSector,
    clusters,
    fatType,
  };
}

// ---- the block device ---------------------------------------------------------

export type Counts = Record<Region, number>;
const zero = (): Counts => ({ boot: 0, fat: 0, root: 0, dir: 0, data: 0 });

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
  /** Its power: the fault model (armed by `armFault`). */
  readonly power = new Fault();
  reads: Counts = zero();
  writes: Counts = zero();
  /** Writes dropped because the card was dead. */
  dropped = 0;
  /** Counting stops while host-side helpers read the image. */
  counting = true;
  /** When set, every counted sector write is appended as [sector, region]. */
  trace: [number, Region][] | null = null;
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

  /** Power was lost (a fault fired): writes are dropped until `powerOn()`. */
  get dead(): boolean {
    return this.power.dead;
  }
  /** What happened at the last fault. */
  get fault(): FaultRecord | null {
    return this.power.record;
  }
  /** Arms a power fault at the `plan.after`-th sector write from now. */
  armFault(plan: FaultPlan): void {
    this.power.arm(plan);
  }
  disarm(): void {
    this.power.disarm();
  }
  /** Cuts power now: every later write is lost. */
  powerCut(): void {
    this.power.cut();
  }
  /** Power back (a new board boots on the card): writes reach it again (a fault armed for later stays armed). */
  powerOn(): void {
    this.power.powerOn();
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
    if (!this.power.write(sector, region, data, this.buffer.subarray(at, at + SECTOR))) return;
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
        const oldAttr = this.buffer[at + e + 11],
          newAttr = data[e + 11];
        if (
          (oldAttr | newAttr) & 0x10 &&
          this.buffer.compare(data, e, e + 32, at + e, at + e + 32) !== 0
        ) {
          this.dirs = null;
          return;
        }
      }
    } else if (region === "fat" && this.geo) {
      // a directory's cluster chain changed
      const first = ((sector - this.geo.firstFatSector) % this.geo.sectorsPerFat) * (SECTOR / 2);
      for (let e = 0; e < SECTOR; e += 2)
        if (
          this.dirs.has(first + e / 2) &&
          data.readUInt16LE(e) !== this.buffer.readUInt16LE(at + e)
        ) {
          this.dirs = null;
          return;
        }
    }
  }

  /** The clusters of every sub-directory, found by walking the tree from the root (FAT16). */
  private dirClusters(): Set<number> {
    if (this.dirs) return this.dirs;
    const g = this.geo,
      dirs = new Set<number>();
    this.dirs = dirs;
    if (!g || g.fatType !== 16) return dirs;
    const fat = g.firstFatSector * SECTOR,
      buf = this.buffer;
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
        if (buf[e] === 0xe5 || buf[e] === 0x2e || buf[e + 11] === 0x0f || !(buf[e + 11] & 0x10))
          continue;
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
