// Where a reading's instructions go on the emulated board: the firmware's
// readings, then readings done in marked steps by bench/board.ts
// (dist/board-bench.js as the boot code), each step's instructions split by
// what ran them: the interpreter, FatFs and the SPI driver, the kernels'
// blob, the firmware's SHA-256 and E.convolve.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { makeCard, prepareFlash, runLogger, scratchDir, SD_PINS } from "./board";
import { STEPS } from "../bench/board";
import { BOARDS, BoardName, storageOf, Symbols, Toolkit } from "./qemu";

const root = resolve(__dirname, "..");

/** What ran an instruction, by firmware function (or the blob's address range). */
export const KINDS = ["interpreter", "FatFs", "SPI", "kernels", "SHA-256", "E.convolve"] as const;
export type Kind = (typeof KINDS)[number];
const FATFS =
  /^(f_|disk_|sync_window|move_window|get_fat|put_fat|dir_|remove_chain|create_chain|check_fs|find_volume|follow_path|create_name|sync_fs|ld_clust|st_clust|clust2sect|validate|jswrap_file_|jswrap_fs_|jsfs|fileGetFromVar)/;
const SPI =
  /^(jsspi|jshSPI|SPI\d?_IRQHandler|spi_|xmit_datablock|rcvr_datablock|send_cmd|wait_ready|release_spi|write_spi_buf|xfer_spi_buf|read_spi_byte|power_o)/;
export function kindOf(name: string | undefined): Kind {
  if (!name) return "interpreter";
  if (FATFS.test(name)) return "FatFs";
  if (SPI.test(name)) return "SPI";
  if (/^(mbedtls_sha256|jswrap_crypto_SHA|sha256_)/.test(name)) return "SHA-256";
  if (name === "jswrap_espruino_convolve") return "E.convolve";
  return "interpreter";
}

export interface Step {
  name: string;
  insns: number;
  by: Record<Kind, number>;
  /** Instructions by firmware function (the blob's as "kernels"), most first. */
  fns: [string, number][];
}
export interface Profile {
  /** The firmware's own readings (sensor call to append), for comparison with the steps' sum. */
  readings: number[];
  steps: Step[];
  /** Power-on to the first "logging" (the default 64 MiB log made on a fresh card), split the same way. */
  boot: Step;
}

/** Boots a board, logs `warm` readings, then one reading in marked steps; returns the steps of that reading. */
export async function profileReading(
  kit: Toolkit,
  board: BoardName,
  native: boolean,
  warm = 3
): Promise<Profile> {
  const tmp = scratchDir("pigeon-prof-"),
    flash = join(tmp, "flash.img"),
    card = join(tmp, "card.img");
  makeCard(card, 128);
  prepareFlash(kit, flash, {
    board,
    config: `sd=${SD_PINS}\ninterval=1\n`,
    readings: warm,
    native,
    code: readFileSync(join(root, "dist/board-bench.js"), "latin1"),
    after: "PigeonLogger.reading()",
  });
  const r = await runLogger({ kit, board, flash, card, profile: true, timeout: 1200 });
  if (!r.run.done) throw new Error(`the profile run did not finish: ${r.run.console.slice(-1500)}`);
  const syms = new Symbols(kit.firmware(board).syms),
    peek = syms.address("jswrap_io_peek");
  const blob = blobRange(flash, board);
  const steps: Step[] = [];
  /** The instructions of the probe's spans that end in (from, to], by kind and by function. */
  const split = (name: string, from: number, to: number): Step => {
    const by = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>,
      fns = new Map<string, number>();
    // the spans between every probe event in the range (disk writes split them too)
    for (const x of r.run.events) {
      if (x.count <= from || x.count > to || !x.profile) continue;
      for (const [pc, n] of x.profile) {
        const inBlob = blob && pc >= blob[0] && pc < blob[1],
          fn = inBlob ? "kernels" : (syms.at(pc) ?? "?");
        by[inBlob ? "kernels" : kindOf(syms.at(pc))] += n;
        fns.set(fn, (fns.get(fn) ?? 0) + n);
      }
    }
    return { name, insns: to - from, by, fns: [...fns].sort((a, b) => b[1] - a[1]) };
  };
  let from = -1;
  for (const e of r.run.events) {
    if (e.pc !== peek || e.r[0] < 9 || e.r[0] > 9 + STEPS.length) continue;
    if (e.r[0] > 9 && from >= 0) steps.push(split(STEPS[e.r[0] - 10], from, e.count));
    from = e.count;
  }
  if (r.boot === undefined) throw new Error("the profile run never said logging");
  return { readings: r.readings.map((x) => x.insns), steps, boot: split("first boot", 0, r.boot) };
}

/** Where pigeon.bin lies in the board's flash (the firmware runs it in place), or undefined. */
function blobRange(flash: string, board: BoardName): [number, number] | undefined {
  const f = storageOf(readFileSync(flash), board),
    nm = Buffer.alloc(28);
  nm.write("pigeon.bin", "latin1");
  const at = f.find(nm);
  return at
    ? [BOARDS[board].storage + at.addr, BOARDS[board].storage + at.addr + at.size]
    : undefined;
}
