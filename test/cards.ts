// Card images for the readers' tests: one written by the simulated logger, one
// formatted as a computer formats a card (a partition table, mkfs.fat -F 16,
// files copied with mtools), where a file of a FAT16 volume lies (to damage it
// on purpose), and the seeded damage the property test applies.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { loggerBoard } from "../sim/loggerboard";
import { readGeometry } from "../sim/card/device";
import { createImage, type FatImage } from "../sim/card/image";
import { prng } from "../sim/prng";

/** A 16 MiB card on which the simulated logger wrote `days` of 10-minute readings (log_mb=1: a log of 960 pages). */
export async function loggerCard(path: string, days: number): Promise<FatImage> {
  const img = await createImage(path, 16 << 20);
  loggerBoard({
    profile: "bare",
    image: img,
    clock: 1764000000,
    seedBytes: Array.from({ length: 32 }, (_, i) => i),
    config: "log_mb=1\n",
  }).runFor(days * 86400 + 1);
  img.save();
  return img;
}

/** Runs a command, throwing with its output when it fails. */
export function run(cmd: string, args: string[]) {
  const p = spawnSync(cmd, args, { encoding: "utf8" });
  if (p.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${p.stderr}${p.error ?? ""}`);
  return p.stdout;
}

/**
 * A volume made by mkfs.fat (40 MiB of FAT16 unless said: 4 MiB of FAT12, or 40 MiB of
 * FAT32 in 512-byte clusters), with copy(volume) run on it (mtools) and change(its
 * bytes), then behind a partition table (one partition from sector 2048).
 */
export function pcCard(
  path: string,
  copy: (volume: string) => void,
  change?: (volume: Buffer) => void,
  fat: 12 | 16 | 32 = 16
): Buffer {
  const volume = path + ".part";
  writeFileSync(volume, Buffer.alloc(0));
  run("truncate", ["-s", fat === 12 ? "4M" : "40M", volume]);
  run("mkfs.fat", ["-F", String(fat), ...(fat === 32 ? ["-s", "1"] : []), volume]);
  copy(volume);
  const part = readFileSync(volume),
    mbr = Buffer.alloc(1 << 20);
  change?.(part);
  mbr[446 + 4] = fat === 12 ? 0x01 : fat === 16 ? 0x06 : 0x0c;
  mbr.writeUInt32LE(2048, 446 + 8);
  mbr.writeUInt32LE(part.length / 512, 446 + 12);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  const img = Buffer.concat([mbr, part]);
  writeFileSync(path, img);
  return img;
}

/** Where a file or directory of a FAT16 volume (in buf, from its first byte) lies: its directory entry, its clusters, its sectors. */
export function where(buf: Buffer, path: string) {
  const g = readGeometry(buf)!,
    cb = g.sectorsPerCluster * 512;
  const fat = (c: number) => g.firstFatSector * 512 + 2 * c,
    data = (c: number) => (g.firstDataSector + (c - 2) * g.sectorsPerCluster) * 512;
  const chain = (c: number) => {
    const out: number[] = [];
    for (; c >= 2 && c < 0xfff8 && !out.includes(c); c = buf.readUInt16LE(fat(c))) out.push(c);
    return out;
  };
  let dir = { at: g.firstRootSector * 512, bytes: g.rootEntries * 32 },
    entry = -1;
  for (const part of path.split("/")) {
    const [base, ext = ""] = part.toUpperCase().split("."),
      name = base.padEnd(8) + ext.padEnd(3);
    entry = -1;
    for (let e = dir.at; e < dir.at + dir.bytes && entry < 0; e += 32)
      if (buf.toString("latin1", e, e + 11) === name) entry = e;
    if (entry < 0) throw new Error(`${path}: ${part} not found`);
    dir = { at: data(buf.readUInt16LE(entry + 26)), bytes: cb };
  }
  const clusters = chain(buf.readUInt16LE(entry + 26));
  return {
    /** Offset of its directory entry. */
    entry,
    size: buf.readUInt32LE(entry + 28),
    clusters,
    /** Offset of the FAT entry of cluster c (the first FAT). */
    fat,
    /** Offset of the first byte of cluster c. */
    data,
    clusterBytes: cb,
    /** Offset in the image of byte at of the file. */
    offset: (at: number) => data(clusters[Math.floor(at / cb)]) + (at % cb),
  };
}

/** A log header's text with its check (spec/card.md), as a sector: for headers that pass their check yet say something wrong. */
export function header(text: string): Buffer {
  const s = Buffer.alloc(512, 32);
  s.write(text, 0, "latin1");
  createHash("sha256").update(s.subarray(0, 504)).digest().copy(s, 504, 0, 8);
  return s;
}

/** One seeded damage to a card image holding the log `log`: what it hit, and the byte ranges of the log's file it changed (for pages). */
export interface Damage {
  what: string;
  /** Ranges [from, to) of the log file's bytes changed (empty when the damage is to the directory or the FAT). */
  logBytes: [number, number][];
}
const ENTRY_FIELDS = ["size", "cluster", "attr", "name0", "name"] as const;

/**
 * Damages img (a FAT16 card image) in place at random, seeded: the log's
 * header, its pages (bytes, sectors, runs of sectors, zeroed or random), its
 * index sectors, its directory entry (size, first cluster, attributes, name)
 * or its FAT entries (an early end, a loop, a free or bad cluster, a number
 * outside the volume, another cluster). used: the log's bytes in use (header,
 * index and written pages). Returns what it did.
 */
export function damage(img: Buffer, log: string, used: number, seed: number): Damage {
  const r = prng(seed),
    w = where(img, log),
    pick = <T>(xs: readonly T[]) => xs[r.int(xs.length)];
  const bytes = (from: number, n: number, how: "random" | "zero" | "flip"): Damage => {
    n = Math.min(n, w.size - from);
    for (let i = 0; i < n; i++) {
      const o = w.offset(from + i);
      img[o] = how === "zero" ? 0 : how === "flip" ? img[o] ^ (1 << r.int(8)) : r.int(256);
    }
    return { what: `${how} ${n} bytes at ${from} of ${log}`, logBytes: [[from, from + n]] };
  };
  const kind = r.int(10);
  if (kind === 0)
    return bytes(r.int(512), 1 + r.int(16), pick(["random", "flip", "zero"] as const)); // the header
  if (kind <= 4) {
    // pages in use: a few bytes, a sector, or a run of sectors
    const at = 512 + r.int(used - 512),
      n = pick([1, 4, 512, 1024, 2048, 8192]);
    return bytes(n >= 512 ? at - (at % 512) : at, n, pick(["random", "flip", "zero"] as const));
  }
  if (kind === 5) return bytes(512 * r.int(Math.floor(w.size / 512)), 512, "random"); // anywhere in the file, mostly pages never written
  if (kind <= 7) {
    const field = pick(ENTRY_FIELDS),
      e = w.entry,
      g = readGeometry(img)!;
    if (field === "size")
      img.writeUInt32LE(
        pick([
          0,
          1,
          w.size >> 1,
          w.size - 1,
          w.size + 1,
          w.size * 4,
          2 ** 31,
          2 ** 32 - 1,
          r.u32(),
        ]),
        e + 28
      );
    if (field === "cluster")
      img.writeUInt16LE(
        pick([0, 1, 2, w.clusters[0] + 1, g.clusters + 2, 0xfff7, 0xffff, r.int(65536)]),
        e + 26
      );
    if (field === "attr") img[e + 11] = pick([0x10, 0x08, 0x0f, 0x02, 0x04, r.int(256)]);
    if (field === "name0") img[e] = pick([0xe5, 0x00, 0x05, 0x20]);
    if (field === "name") img[e + 1 + r.int(10)] = pick([0x41, 0x7a, 0x20, 0x2f, 0x00, r.int(256)]);
    return {
      what: `directory entry of ${log}: ${field} now ${img.subarray(e, e + 32).toString("hex")}`,
      logBytes: [],
    };
  }
  // the FAT: one entry of the log's chain
  const i = r.int(w.clusters.length),
    c = w.clusters[i],
    g = readGeometry(img)!;
  const v = pick([
    0xffff,
    0xfff8,
    0,
    0xfff7,
    1,
    g.clusters + 2 + r.int(100),
    w.clusters[r.int(i + 1)],
    2 + r.int(g.clusters),
  ]);
  img.writeUInt16LE(v, w.fat(c));
  return {
    what: `FAT entry of cluster ${c} (${i + 1} of ${w.clusters.length} of ${log}) now ${v}`,
    logBytes: [],
  };
}
