// The logger on an emulated board: Espruino's real firmware with the logger in
// its Storage as `npm run flash` leaves it (.bootcde = dist/firmware.js tokenised,
// PIGEON.CFG, the user's .boot0, pigeon.bin), a FAT16 card made by mkfs.fat on
// SPI1, a number of readings, then the card and the flash back on the host.
//
// The board is told nothing over its console: what the run needs it finds in
// .boot0, as a user's own code would be (PIGEON_ON_STATUS / PIGEON_ON_APPEND
// hooks that mark the instruction count with peek8 and print a few words).
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { bootCode } from "../scripts/pretokenise.mjs";
// @ts-ignore: a build script
import { sensorCode } from "../scripts/sensors.mjs";
import { readGeometry } from "../sim/card/device";
import {
  BOARDS,
  BoardName,
  flashImage,
  runQemu,
  RunResult,
  storageOf,
  Symbols,
  Toolkit,
} from "./qemu";

const root = resolve(__dirname, "..");
export const FIRMWARE = join(root, "dist/firmware.js");
export const BLOB = join(root, "targets/espruino/native/kernels.bin");
/** The emulator's SD wiring (SPI1: sck A5, mosi A7, miso A6; CS is not modelled, B1 as in the toolkit's README). */
export const SD_PINS = "A5,A7,A6,B1";

// peek8(n) from the hooks: the probe reads n (r0) at jswrap_io_peek
const AT_LOGGING = 1,
  AT_APPEND = 2;
/** Console sentinels, split so that an echo of the code cannot match them. */
const DONE = "<<" + "EMU DONE>>";

/**
 * The hooks a run needs, as a user's code in .boot0: after the first
 * "logging" status, the variables in use and whether the kernels are bound;
 * after each append its depth and a piece of its signature (what was
 * acknowledged); after `readings` appends, the variables again, then every
 * timer stops, so that nothing runs while the host ends QEMU. `marks`: peek8
 * marks for the instruction counts (the simulator has no peek8). `clock`:
 * getTime() gives clock + 600 s per append so far, so that the messages'
 * times are a 10-minute logger's, the same on any board at any speed.
 * `after`: code run once the readings are done (the run ends after it).
 */
export function hooks(
  readings: number,
  o: { marks: boolean; clock?: number; after?: string }
): string {
  const mark = (n: number) => (o.marks ? `peek8(${n}); ` : "");
  return `var PIGEON_EMU = 0;
${o.clock ? `global.getTime = function () { return ${o.clock} + 600 * PIGEON_EMU; };\n` : ""}function PIGEON_ON_STATUS(s, why) {
  if (s == "logging" && !PIGEON_EMU) { ${mark(AT_LOGGING)}print("<<MEM boot " + JSON.stringify(process.memory()) + ">>"); print("<<NATIVE " + PigeonLogger.state.native + ">>"); print("<<STORAGE " + require("Storage").getFree() + ">>"); }
}
function PIGEON_ON_APPEND(t) {
  ${mark(AT_APPEND)}var d = /\\ndepth (\\d+)\\n/.exec(t)[1];
  print("<<ACK " + d + " " + t.slice(-33, -13) + ">>");
  if (++PIGEON_EMU == ${readings}) {
    clearInterval();
    clearTimeout();
    print("<<MEM end " + JSON.stringify(process.memory()) + ">>");
    ${o.after ? `setTimeout(function () { try { ${o.after}; } catch (e) { print("<<AFTER " + e + ">>"); } print("<<" + "EMU DONE>>"); }, 1);` : `print("<<" + "EMU DONE>>");`}
  }
}
`;
}

/**
 * Sensor values that do not depend on the board: temp is 20 + appends / 8 (so
 * two boards' messages can be compared byte for byte). It still calls
 * E.getTemperature, where a reading's instruction count starts.
 */
export const STEADY_SENSORS =
  "var PIGEON_SENSORS = { temp: function () { E.getTemperature(); return 20 + PIGEON_EMU / 8; } };\n";

/** A fresh card image (replacing any file there): mkfs.fat -F 16, as a user formats one. */
export function makeCard(path: string, mib: number) {
  rmSync(path, { force: true });
  const r = spawnSync("mkfs.fat", ["-F", "16", "-C", path, String(mib * 1024)], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`mkfs.fat: ${r.stderr || r.error?.message}`);
}

export interface FlashOptions {
  board: BoardName;
  config: string;
  /** The user's sensor code (what npm run flash saves as .boot0); the hooks follow it. */
  sensors?: string;
  readings: number;
  /** Saves the kernels' blob (pigeon.bin), as npm run flash does; without it the firmware takes the JavaScript way. */
  native: boolean;
  /** A seed saved as pigeon.seed (npm run flash --new-seed); else the board makes its own on first boot. */
  seed?: Uint8Array;
  /** See hooks(). */
  clock?: number;
  after?: string;
  /** The boot code (default: dist/firmware.js), saved tokenised as npm run flash saves it. */
  code?: string;
}

/** Emulator runs' directories (a card and a flash image, up to 128 MiB each). */
const scratch: string[] = [];
/** Removes them: when the process ends, and when a test suite is done (vitest ends its workers without an exit). */
export function removeScratch() {
  for (const d of scratch.splice(0)) rmSync(d, { recursive: true, force: true });
}
process.on("exit", removeScratch);
/** A directory for one run's images, removed by removeScratch (a card kept with --card lies elsewhere). */
export function scratchDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(d);
  return d;
}

/** Writes the board's flash image with the logger in Storage. */
export function prepareFlash(kit: Toolkit, path: string, o: FlashOptions) {
  const files: [string, string | Uint8Array][] = [
    [".bootcde", bootCode(o.code ?? readFileSync(FIRMWARE, "latin1"))],
    ["PIGEON.CFG", o.config],
    // the hooks are this harness's, not the user's: minified as npm run flash minifies sensor code, so
    // that they take as little of the Storage a user's code would have; the code to run after the
    // readings stays as it is given (the minifier writes some names as escapes Espruino cannot read)
    [
      ".boot0",
      (o.sensors ?? "") +
        sensorCode(
          hooks(o.readings, {
            marks: true,
            clock: o.clock,
            after: o.after ? "PIGEON_AFTER()" : undefined,
          })
        ) +
        (o.after ? `\nfunction PIGEON_AFTER() {\n${o.after};\n}\n` : ""),
    ],
  ];
  if (o.native) files.push(["pigeon.bin", readFileSync(BLOB)]);
  if (o.seed) files.push(["pigeon.seed", o.seed]);
  writeFileSync(path, flashImage(kit.firmware(o.board).image, o.board, files));
}

/** Writes a file into the Storage of a board's flash image, as require("Storage").write would (an older one is deleted first). */
export function setStorageFile(
  path: string,
  board: BoardName,
  name: string,
  data: string | Uint8Array
) {
  const image = readFileSync(path),
    flash = storageOf(image, board),
    nm = Buffer.alloc(28),
    bytes = typeof data === "string" ? Buffer.from(data, "latin1") : Buffer.from(data);
  nm.write(name, "latin1");
  const old = flash.find(nm);
  if (old) flash.erase(old.addr);
  const at = flash.create(nm, bytes.length);
  if (!at) throw new Error(`${name}: no room in the ${board}'s Storage`);
  flash.program(at, bytes);
  flash.bytes.copy(image, BOARDS[board].storage - 0x08000000);
  writeFileSync(path, image);
}

/** A file of the board's Storage, read back from its flash image (undefined when absent). */
export function storageFile(path: string, board: BoardName, name: string): Buffer | undefined {
  const flash = storageOf(readFileSync(path), board),
    nm = Buffer.alloc(28);
  nm.write(name, "latin1");
  const f = flash.find(nm);
  return f ? Buffer.from(flash.bytes.subarray(f.addr, f.addr + f.size)) : undefined;
}

export interface Reading {
  /** Instructions from the sensor call to PIGEON_ON_APPEND. */
  insns: number;
}
export interface LoggerResult {
  run: RunResult;
  /** Instructions from power-on to the "logging" status (undefined when it never came). */
  boot?: number;
  readings: Reading[];
  /** (depth, a piece of the signature) of every append acknowledged. */
  acks: [number, string][];
  memory: { boot?: any; end?: any };
  /** PigeonLogger.state.native at boot: the kernels are bound. */
  native?: boolean;
  /** Storage's free bytes at boot (require("Storage").getFree()). */
  storageFree?: number;
  /** Sector writes to the card (disk_write's sector and count), in order, with the instruction count. */
  writes: { sector: number; count: number; at: number }[];
  /** Console lines of the logger ("pigeon: ..."), and errors the firmware printed. */
  lines: string[];
}

export interface LoggerOptions {
  kit: Toolkit;
  board: BoardName;
  flash: string;
  card: string;
  /** Power cut after this many instructions. */
  stop?: number;
  profile?: boolean;
  /** Wall seconds. */
  timeout: number;
  onOutput?: (text: string) => void;
}

/** Boots the prepared board on its card and runs until its hooks say done (or the stop, or the timeout). */
export async function runLogger(o: LoggerOptions): Promise<LoggerResult> {
  const syms = new Symbols(o.kit.firmware(o.board).syms);
  const peek = syms.address("jswrap_io_peek"),
    temp = syms.address("jswrap_espruino_getTemperature"),
    write = syms.address("disk_write");
  const run = await runQemu({
    kit: o.kit,
    board: o.board,
    flash: o.flash,
    card: o.card,
    stop: o.stop,
    profile: o.profile,
    timeout: o.timeout,
    marks: [temp],
    args: [peek, write],
    until: DONE,
    fail: /Uncaught |OUT OF MEMORY/,
    onOutput: o.onOutput,
  });
  const r: LoggerResult = { run, readings: [], acks: [], memory: {}, writes: [], lines: [] };
  let sensor = -1;
  for (const e of run.events) {
    if (e.pc === temp) sensor = e.count;
    else if (e.pc === write) r.writes.push({ sector: e.r[2], count: e.r[3], at: e.count });
    else if (e.pc !== peek) continue;
    else if (e.r[0] === AT_LOGGING && r.boot === undefined) r.boot = e.count;
    else if (e.r[0] === AT_APPEND && sensor >= 0) {
      r.readings.push({ insns: e.count - sensor });
      sensor = -1;
    }
  }
  for (const m of run.console.matchAll(/<<ACK (\d+) (\S+)>>/g)) r.acks.push([Number(m[1]), m[2]]);
  for (const m of run.console.matchAll(/<<MEM (\w+) (\{.*?\})>>/g))
    (r.memory as any)[m[1]] = JSON.parse(m[2]);
  const nat = /<<NATIVE (\w+)>>/.exec(run.console);
  if (nat) r.native = nat[1] === "true";
  const st = /<<STORAGE (\d+)>>/.exec(run.console);
  if (st) r.storageFree = Number(st[1]);
  r.lines = run.console
    .split(/\r?\n/)
    .map((l) => l.replace(/^[>\s]*(\x1b\[J)?/, ""))
    .filter((l) =>
      /^(pigeon: |Uncaught |ERROR|Error|WARNING|Execution Interrupted|New interpreter error)/.test(
        l
      )
    );
  return r;
}

export interface Emulated extends LoggerResult {
  dir: string;
  card: string;
  flash: string;
}
/**
 * A fresh board (flash with the logger, a fresh card of cardMiB, 128 by default,
 * or a copy of the image cardFrom) run for `readings` appends, or until `stop`
 * instructions (a power cut).
 */
export async function emulate(
  kit: Toolkit,
  o: FlashOptions & {
    cardMiB?: number;
    cardFrom?: string;
    stop?: number;
    timeout?: number;
    card?: string;
    profile?: boolean;
  }
): Promise<Emulated> {
  const dir = scratchDir("pigeon-emu-"),
    card = o.card ?? join(dir, "card.img"),
    flash = join(dir, "flash.img");
  if (o.cardFrom) copyFileSync(o.cardFrom, card);
  else makeCard(card, o.cardMiB ?? 128);
  prepareFlash(kit, flash, o);
  const r = await runLogger({
    kit,
    board: o.board,
    flash,
    card,
    stop: o.stop,
    profile: o.profile,
    timeout: o.timeout ?? 600,
  });
  return { ...r, dir, card, flash };
}
/** The same board powered up again on its card and flash (after a cut, say), its hooks set for `readings` more appends. */
export async function powerUp(
  kit: Toolkit,
  em: Emulated,
  o: {
    board: BoardName;
    readings: number;
    sensors?: string;
    clock?: number;
    stop?: number;
    timeout?: number;
  }
): Promise<Emulated> {
  setStorageFile(
    em.flash,
    o.board,
    ".boot0",
    (o.sensors ?? "") + hooks(o.readings, { marks: true, clock: o.clock })
  );
  const r = await runLogger({
    kit,
    board: o.board,
    flash: em.flash,
    card: em.card,
    stop: o.stop,
    timeout: o.timeout ?? 600,
  });
  return { ...r, dir: em.dir, card: em.card, flash: em.flash };
}

/** fsck.fat -n (reads only): clean when it exits 0 and says nothing is wrong. */
export function fsck(card: string): { clean: boolean; output: string } {
  const r = spawnSync("fsck.fat", ["-n", card], { encoding: "utf8" });
  return { clean: r.status === 0, output: (r.stdout + r.stderr).trim() };
}
/** Names in the card's root directory that are not plain 8.3 entries: long-name entries (attribute 0x0F) or lower case. */
export function notShortNames(card: string): string[] {
  const img = readFileSync(card),
    g = readGeometry(img);
  if (!g) throw new Error(`${card}: no FAT boot sector`);
  const out: string[] = [];
  for (let i = 0; i < g.rootEntries; i++) {
    const e = img.subarray(g.firstRootSector * 512 + 32 * i, g.firstRootSector * 512 + 32 * i + 32);
    if (e[0] === 0) break;
    if (e[0] === 0xe5) continue;
    const name = e.subarray(0, 11).toString("latin1");
    if (e[11] === 0x0f || name !== name.toUpperCase()) out.push(name);
  }
  return out;
}
