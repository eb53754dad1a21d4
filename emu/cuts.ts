// Power cuts on the real firmware: QEMU stopped at a chosen instruction while
// the board writes its card (the probe's stop=N: the card and the flash keep
// exactly the writes that completed), then the board powered up again on the
// same card and flash to log on; the host then checks that no acknowledged
// reading was lost, the chain verifies and fsck.fat is clean.
//
// Runs are deterministic, so a reference run without a cut says where every
// card write happens (disk_write's sector and instruction count), and a cut
// run is the same up to its cut. Cuts are spread over the kinds of writes:
// the log's making (before the first "logging"), the tail page's slots, the
// directory entry each append's sync rewrites, and index sectors.
import { readGeometry } from "../sim/card/device";
import { openImage } from "../sim/card/image";
import { openLog } from "../src/log";
import { MemDisk } from "../sim/card/memdisk";
import type { Prng } from "../sim/prng";
import { cardSummary } from "../sim/summary";
import { emulate, Emulated, FlashOptions, fsck, powerUp } from "./board";
import { BoardName, Toolkit } from "./qemu";

export type WriteKind = "making" | "slot" | "directory" | "index";
export interface Write {
  at: number;
  sector: number;
  kind: WriteKind;
}
export interface Cut {
  /** Instructions from power-on to the cut. */
  at: number;
  /** The kind of the write it fell on or just before. */
  kind: WriteKind;
  /** Acknowledged appends (PIGEON_ON_APPEND seen on the console) before the cut. */
  acked: number;
  /** Messages on the card after the board logged on. */
  messages: number;
  /** What was wrong, or "" when every check passed. */
  wrong: string;
  /** Clusters fsck.fat found allocated but in no file: a cut making leaves them (space only: spec/card.md, Making a log). */
  lostClusters: number;
}

/**
 * Every card write of a reference run, with its kind: before the first
 * "logging" the log's making; after it, writes to the FAT region's root
 * directory (the sync of each append), the log's index sectors (spec/card.md:
 * sectors 1 .. ceil(pages / 60) of the log file), and the pages' slots.
 */
export async function writesOf(ref: Emulated): Promise<Write[]> {
  const img = await openImage(ref.card),
    g = readGeometry(img.buffer)!;
  const log = img.readdir("")!.find((e) => /\.LOG$/.test(e.name))!,
    disk = new MemDisk();
  disk.files.set(log.name, img.readFile(log.name)!);
  const l = openLog(disk, log.name),
    cluster = dirCluster(img.buffer, g, log.name);
  const start = g.firstDataSector + (cluster - 2) * g.sectorsPerCluster;
  return ref.writes.map((w) => {
    const kind: WriteKind =
      ref.boot === undefined || w.at < ref.boot
        ? "making"
        : w.sector < g.firstDataSector
          ? "directory"
          : w.sector > start && w.sector <= start + l.indexSectors
            ? "index"
            : "slot";
    return { at: w.at, sector: w.sector, kind };
  });
}
/** A root directory entry's first cluster. */
function dirCluster(
  b: Buffer,
  g: NonNullable<ReturnType<typeof readGeometry>>,
  name: string
): number {
  const [base, ext] = name.split(".");
  const want = base.padEnd(8) + (ext ?? "").padEnd(3);
  for (let e = g.firstRootSector * 512; e < g.firstDataSector * 512; e += 32)
    if (b.subarray(e, e + 11).toString("latin1") === want) return b.readUInt16LE(e + 26);
  throw new Error(`${name}: not in the root directory`);
}

/** A cut point: the n-th cut goes to kind n mod (kinds present), a random write of it, and a random instruction from just before it to its end. */
export function cutPoint(writes: Write[], n: number, rnd: Prng): { at: number; kind: WriteKind } {
  const kinds = (["making", "slot", "directory", "index"] as const).filter((k) =>
    writes.some((w) => w.kind === k)
  );
  const kind = kinds[n % kinds.length],
    of = writes.filter((w) => w.kind === kind),
    w = of[rnd.int(of.length)];
  // a sector write takes about 31,000 instructions (the SPI transfer); FatFs prepares it before disk_write
  return { at: w.at - 8000 + rnd.int(40000), kind };
}

/** Cuts a fresh board at `at`, powers it up again for `more` appends, and checks the card. */
export async function cutAndCheck(
  kit: Toolkit,
  o: FlashOptions,
  at: number,
  kind: WriteKind,
  more: number
): Promise<Cut & { run: Emulated }> {
  const cut = await emulate(kit, { ...o, stop: at, timeout: 900 });
  const acks = cut.acks;
  const wrongs: string[] = [];
  if (!cut.run.stopped)
    wrongs.push(
      `the run did not stop at ${at} (${cut.run.done ? "it finished first" : "timed out"})`
    );
  const again = await powerUp(kit, cut, {
    board: o.board as BoardName,
    readings: more,
    sensors: o.sensors,
    timeout: 900,
  });
  if (!again.run.done)
    wrongs.push(
      `after the cut the board did not log ${more} readings: ${again.lines.join(" | ") || again.run.console.slice(-300)}`
    );
  const s = cardSummary(await openImage(cut.card));
  if (s.refused) wrongs.push(`${s.refused} messages refused`);
  for (const f of s.feeds)
    if (f.bad.length) wrongs.push(`${f.path}: lost ${JSON.stringify(f.bad)}`);
  for (const [d, sig] of acks)
    if (!s.messages[d] || s.messages[d].slice(-33, -13) !== sig)
      wrongs.push(`acknowledged depth ${d} is ${s.messages[d] ? "another message" : "missing"}`);
  s.messages.forEach((t, d) => {
    if (!t.includes(`\ndepth ${d}\n`)) wrongs.push(`message ${d} has another depth`);
  });
  const f = fsck(cut.card),
    lost = lostClusters(f.output);
  if (!f.clean && !(kind == "making" && lost))
    wrongs.push(`fsck.fat: ${f.output.split("\n").slice(1).join(" ")}`);
  return {
    at,
    kind,
    acked: acks.length,
    messages: s.messages.length,
    wrong: wrongs.join("; "),
    lostClusters: lost,
    run: again,
  };
}

/** The clusters fsck.fat -n would reclaim when that is all it says is wrong, else 0. */
export function lostClusters(fsckOutput: string): number {
  const lines = fsckOutput
    .split("\n")
    .filter(
      (l) =>
        l.trim() &&
        !/^fsck\.fat |^Leaving filesystem unchanged|: \d+ files, \d+\/\d+ clusters$/.test(l)
    );
  const m =
    lines.length == 1 ? /^Reclaimed (\d+) unused clusters? \(\d+ bytes\)/.exec(lines[0]) : null;
  return m ? Number(m[1]) : 0;
}
