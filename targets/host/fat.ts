// A FAT volume in a card image, read without trusting it. A card may be
// damaged or made to harm its reader, so every number of the boot sector, the
// FAT and the directory entries is checked against what the volume holds
// before it is used: a cluster chain is followed at most as far as the size
// it serves (a directory's as far as the volume has clusters) and stops at the
// first cluster it meets again (a loop), and no size a card states is
// allocated. What cannot be read is said in words, never by a failure deep in
// a library. Read-only: FAT12, FAT16 and FAT32, with or without a partition
// table (the first FAT partition, as FatFs finds one), long names read.
// The readers of cards (input.ts) go through here; the simulator writes its
// cards with FatFs (fat.ts, fatread.ts).
import type { Bytes } from "./bytes";

const SECTOR = 512;

/** A file or directory of the volume, as its directory entry states it. */
export interface FatEntry {
  name: string;
  path: string;
  dir: boolean;
  /** The size its entry claims (a directory's is 0). */
  size: number;
  /** Its first cluster (0: none). */
  cluster: number;
}
/** A file's bytes, read at offsets through its cluster chain; `lost` says why it holds fewer than its entry claims. */
export interface FatFile extends Bytes {
  lost: string;
}

const u16 = (b: Uint8Array, p: number) => b[p] | (b[p + 1] << 8);
const u32 = (b: Uint8Array, p: number) =>
  (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

/** Why the boot sector at b (sector `at` of the image) is not that of a FAT volume, or "" when it is. */
function notFat(b: Uint8Array): string {
  if (b.length < SECTOR || b[510] !== 0x55 || b[511] !== 0xaa) return "no boot signature";
  if (!(b[0] === 0xeb || b[0] === 0xe9 || b[0] === 0xe8)) return "no boot jump";
  const bps = u16(b, 11),
    spc = b[13],
    reserved = u16(b, 14),
    fats = b[16];
  if (bps !== SECTOR) return `${bps} bytes per sector (cards have 512)`;
  if (!isPow2(spc)) return `${spc} sectors per cluster (a power of 2 from 1 to 128)`;
  if (!reserved) return "no reserved sectors";
  if (fats < 1 || fats > 2) return `${fats} FATs (1 or 2)`;
  if (!(u16(b, 19) || u32(b, 32))) return "a size of 0 sectors";
  if (!(u16(b, 22) || u32(b, 36))) return "a FAT of 0 sectors";
  return "";
}

export class FatVolume {
  readonly fatType: 12 | 16 | 32;
  readonly clusterBytes: number;
  /** Data clusters: numbered 2 .. clusters + 1. */
  readonly clusters: number;
  private fat: number; // byte offset of the first FAT in the image
  private data: number; // byte offset of cluster 2
  private root: number; // FAT12/16: byte offset of the root directory; FAT32: its first cluster
  private rootEntries: number;

  /**
   * The volume of a card image: at sector 0 (a card formatted as a "super
   * floppy"), else in the first partition of the table there that holds one.
   * Throws an Error saying why there is none.
   */
  constructor(private img: Bytes) {
    const s0 = img.read(0, SECTOR).slice();
    let base = 0,
      why = notFat(s0);
    if (why && s0.length === SECTOR && s0[510] === 0x55 && s0[511] === 0xaa) {
      const tried: string[] = [];
      for (let i = 0; i < 4 && why; i++) {
        const lba = u32(s0, 446 + 16 * i + 8);
        if (!s0[446 + 16 * i + 4] || !lba) continue;
        const w =
          lba * SECTOR + SECTOR <= img.size
            ? notFat(img.read(lba * SECTOR, SECTOR))
            : "past the end of the image";
        tried.push(`partition ${i + 1} at sector ${lba}: ${w}`);
        if (!w) ((base = lba * SECTOR), (why = ""));
      }
      if (why)
        why = tried.length
          ? tried.join("; ")
          : "sector 0 is neither a FAT boot sector nor a partition table with a partition";
    }
    if (why) throw new Error(`no FAT volume: ${why}`);
    const b = img.read(base, SECTOR).slice();
    const spc = b[13],
      reserved = u16(b, 14),
      fats = b[16],
      rootEntries = u16(b, 17);
    const total = u16(b, 19) || u32(b, 32),
      fatSectors = u16(b, 22) || u32(b, 36);
    const rootSectors = Math.ceil((rootEntries * 32) / SECTOR),
      firstData = reserved + fats * fatSectors + rootSectors;
    if (firstData >= total)
      throw new Error(
        `no FAT volume: its ${total} sectors leave no room for data after ${firstData} sectors of FAT and directory`
      );
    this.clusters = Math.floor((total - firstData) / spc);
    this.fatType = this.clusters < 4085 ? 12 : this.clusters < 65525 ? 16 : 32;
    const fatBytes =
      this.fatType === 12
        ? Math.ceil(((this.clusters + 2) * 3) / 2)
        : (this.clusters + 2) * (this.fatType / 8);
    if (fatSectors * SECTOR < fatBytes)
      throw new Error(
        `no FAT volume: a FAT of ${fatSectors} sectors cannot hold ${this.clusters} clusters`
      );
    if (this.fatType === 32 ? rootEntries !== 0 : rootEntries === 0)
      throw new Error(
        `no FAT volume: ${rootEntries} root directory entries for FAT${this.fatType}`
      );
    this.clusterBytes = spc * SECTOR;
    this.fat = base + reserved * SECTOR;
    this.data = base + firstData * SECTOR;
    this.rootEntries = rootEntries;
    this.root = this.fatType === 32 ? u32(b, 44) : base + (reserved + fats * fatSectors) * SECTOR;
  }

  /** The FAT's entry for cluster c. */
  private next(c: number): number {
    const t = this.fatType;
    if (t === 12) {
      const v = u16(this.img.read(this.fat + c + (c >> 1), 2), 0);
      return c & 1 ? v >> 4 : v & 0xfff;
    }
    const b = this.img.read(this.fat + c * (t / 8), t / 8);
    return b.length < t / 8 ? 0 : t === 16 ? u16(b, 0) : u32(b, 0) & 0x0fffffff;
  }
  private isEnd = (v: number) =>
    v >= (this.fatType === 12 ? 0xff8 : this.fatType === 16 ? 0xfff8 : 0x0ffffff8);

  /**
   * The clusters of the chain from first, at most `most` of them; `lost` says
   * why the chain stops short of that (at an end mark it stops when most is
   * Infinity): a loop, a free or bad cluster, a number outside the volume, or
   * a cluster past the end of the image.
   */
  private chain(first: number, most: number): { clusters: number[]; lost: string } {
    const clusters = (n: number) => `${n} cluster${n === 1 ? "" : "s"}`;
    const out: number[] = [],
      seen = new Set<number>(),
      end = Math.floor((this.img.size - this.data) / this.clusterBytes) + 2;
    let c = first;
    while (out.length < most) {
      if (c < 2 || c >= this.clusters + 2)
        return {
          clusters: out,
          lost: `its cluster chain breaks after ${clusters(out.length)}: ${c < 2 ? (c ? "a reserved cluster" : "a free cluster") : c === (this.fatType === 12 ? 0xff7 : this.fatType === 16 ? 0xfff7 : 0x0ffffff7) ? "a bad cluster" : `cluster ${c}, outside the volume`} follows`,
        };
      if (seen.has(c))
        return {
          clusters: out,
          lost: `its cluster chain loops back to cluster ${c} after ${clusters(out.length)}`,
        };
      if (c >= end)
        return {
          clusters: out,
          lost: `its cluster ${c} lies past the end of the image (the image is cut short)`,
        };
      seen.add(c);
      out.push(c);
      if (out.length === most) break;
      const n = this.next(c);
      if (this.isEnd(n))
        return {
          clusters: out,
          lost: most === Infinity ? "" : `its cluster chain ends after ${clusters(out.length)}`,
        };
      c = n;
    }
    return { clusters: out, lost: "" };
  }

  /** The bytes of a file, read as they are asked for; it holds what its cluster chain gives of the size its entry claims. */
  open(e: FatEntry): FatFile {
    const cb = this.clusterBytes,
      room = this.clusters * cb;
    let lost = "",
      size = e.size;
    if (size > room)
      ((lost = `its entry claims ${size} bytes, more than the volume holds (${room})`),
        (size = room));
    const ch = size ? this.chain(e.cluster, Math.ceil(size / cb)) : { clusters: [], lost: "" };
    if (ch.lost) lost = lost ? `${lost}; ${ch.lost}` : ch.lost;
    size = Math.min(size, ch.clusters.length * cb);
    const { data, img } = this,
      clusters = ch.clusters;
    return {
      size,
      lost,
      read(at: number, n: number): Uint8Array {
        n = Math.min(n, size - at);
        if (!(n > 0)) return new Uint8Array(0);
        const i = Math.floor(at / cb),
          o = at - i * cb;
        // within one cluster: a view of the image's bytes; across clusters: gathered
        if (o + n <= cb) return img.read(data + (clusters[i] - 2) * cb + o, n);
        const out = new Uint8Array(n);
        for (let got = 0; got < n;) {
          const j = Math.floor((at + got) / cb),
            k = at + got - j * cb,
            m = Math.min(n - got, cb - k);
          out.set(img.read(data + (clusters[j] - 2) * cb + k, m), got);
          got += m;
        }
        return out;
      },
    };
  }

  /** The entries of a directory (null: the root), and why some of them could not be read. */
  list(dir: FatEntry | null): { entries: FatEntry[]; lost: string } {
    let bytes: Uint8Array,
      lost = "";
    if (!dir && this.fatType !== 32) bytes = this.img.read(this.root, this.rootEntries * 32);
    else {
      const ch = this.chain(dir ? dir.cluster : this.root, Infinity),
        cb = this.clusterBytes;
      lost = ch.lost;
      bytes = new Uint8Array(ch.clusters.length * cb);
      ch.clusters.forEach((c, i) => bytes.set(this.img.read(this.data + (c - 2) * cb, cb), i * cb));
    }
    return { entries: entries(bytes, dir ? dir.path : "", this.fatType === 32), lost };
  }
}

/** Checksum of a short name, which its long-name entries carry. */
function sfnSum(b: Uint8Array, p: number): number {
  let s = 0;
  for (let i = 0; i < 11; i++) s = ((((s & 1) << 7) | (s >> 1)) + b[p + i]) & 0xff;
  return s;
}
const LFN_AT = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];

/** The directory entries in b: long names where whole and matching, else the 8.3 name (lower case where its NT flags say). */
function entries(b: Uint8Array, dir: string, fat32: boolean): FatEntry[] {
  const out: FatEntry[] = [];
  let lfn: string[] = [],
    want = 0,
    sum = -1;
  for (let p = 0; p + 32 <= b.length; p += 32) {
    const first = b[p],
      attr = b[p + 11];
    if (first === 0) break; // the end of the directory
    if (first === 0xe5) {
      want = 0;
      continue;
    }
    if ((attr & 0x3f) === 0x0f) {
      const ord = first & 0x3f;
      if (first & 0x40) ((lfn = []), (want = ord), (sum = b[p + 13]));
      if (!ord || ord !== want || b[p + 13] !== sum) {
        want = 0;
        continue;
      }
      let part = "";
      for (const o of LFN_AT) {
        const c = u16(b, p + o);
        if (c === 0 || c === 0xffff) break;
        part += String.fromCharCode(c);
      }
      lfn[ord - 1] = part;
      want--;
      continue;
    }
    const whole = want === 0 && lfn.length > 0 && sum === sfnSum(b, p);
    const long = whole ? lfn.join("") : "";
    lfn = [];
    want = 0;
    if (attr & 0x08) continue; // the volume label
    let base = "",
      ext = "";
    for (let i = 0; i < 8; i++)
      base += String.fromCharCode(i === 0 && b[p] === 0x05 ? 0xe5 : b[p + i]);
    for (let i = 8; i < 11; i++) ext += String.fromCharCode(b[p + i]);
    base = base.trimEnd();
    ext = ext.trimEnd();
    if (base === "." || base === "..") continue;
    if (b[p + 12] & 0x08) base = base.toLowerCase();
    if (b[p + 12] & 0x10) ext = ext.toLowerCase();
    const name = long || (ext ? base + "." + ext : base),
      isDir = (attr & 0x10) !== 0;
    out.push({
      name,
      path: dir ? dir + "/" + name : name,
      dir: isDir,
      size: isDir ? 0 : u32(b, p + 28),
      cluster: ((fat32 ? u16(b, p + 20) << 16 : 0) | u16(b, p + 26)) >>> 0,
    });
  }
  return out;
}
