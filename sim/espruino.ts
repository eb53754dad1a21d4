// The Espruino shim: a Node `vm` context shaped like an Espruino board, in which
// the device's ES5 bundle runs unchanged. /work/shared/ESPRUINO.md (read from
// Espruino's sources) is the ground truth; the behaviour below follows it and
// the C it cites (libs/filesystem/jswrap_file.c, jswrap_fs.c, src/jsflash.c,
// src/jswrap_interactive.c, src/jswrap_espruino.c), odd parts included.
//
// - Files: E.openFile / File / require("fs") over an SD card image through real
//   FatFs (targets/node/fat.ts). Names must be 8.3 (our rule, see below).
// - require("Storage"): the internal flash, laid out as Espruino lays it out
//   (32-byte headers, 4-byte alignment, deletion by zeroing the name), kept in
//   memory and saved to its own file per board.
// - require("crypto"), E.convolve, E.toUint8Array, E.toString, E.hwRand, sensors,
//   watchdog, pins and LEDs, print/console.log, and timers on a VIRTUAL clock:
//   nothing waits in real time; `board.run(t)` jumps from timer to timer.
//
// What a profile lacks is absent (typeof ... == "undefined"), never a stub.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { crc32 } from "node:zlib";
import vm from "node:vm";
import * as FatFsLib from "js-fatfs";
import { frName } from "./card/fatfs";
import { PowerCut } from "./card/fault";
import type { FatImage } from "./card/image";
import { prng } from "./prng";
import { addressOf, machineFor, nativeCallAt } from "./native";
// @ts-ignore: a build script
import { bootCode, detokenise } from "../scripts/pretokenise.mjs";

// ---- profiles -------------------------------------------------------------------

export type ProfileName = "pico" | "wifi" | "esp32" | "bare";

export interface Profile {
  name: ProfileName;
  /** Espruino's port: setDeepSleep exists only on "stm32"; E.hwRand is libc-style rand() on "esp32". */
  family: "stm32" | "esp32" | "other";
  /** JsVars (process.memory().total). */
  variables: number;
  /** require("crypto") with SHA1, and SHA256/SHA512 where true. */
  crypto: boolean;
  sha256: boolean;
  sha512: boolean;
  convolve: boolean;
  /** The CPU runs Thumb-2 (Cortex-M4): E.nativeCall can run the kernels' blob (with BoardOptions.native). */
  cortexM4: boolean;
  /** Bytes of flash given to Storage (the board file's saved_code area). */
  storageBytes: number;
  /** LED1, LED2, ... as pin names. */
  leds: string[];
  /** Pin globals (A0, B2, D5, ...). */
  pins: string[];
  /** Hardware SPI globals. */
  spis: string[];
}

const range = (p: string, n: number) => Array.from({ length: n }, (_, i) => p + i);
const STM32_PINS = [...range("A", 16), ...range("B", 16), ...range("C", 16)];

export const PROFILES: Record<ProfileName, Profile> = {
  // Espruino Pico (STM32F401): boards/PICO_R1_3.py: SHA256 but no SHA512, 5,100 variables, 3 x 16 KB Storage
  pico: {
    name: "pico",
    family: "stm32",
    variables: 5100,
    crypto: true,
    sha256: true,
    sha512: false,
    convolve: true,
    cortexM4: true,
    storageBytes: 3 * 16384,
    leds: ["B2", "B12"],
    pins: STM32_PINS,
    spis: ["SPI1", "SPI2", "SPI3"],
  },
  // Espruino WiFi (STM32F411): boards/ESPRUINOWIFI.py: SHA256 and SHA512, 8,190 variables, 64 KB Storage
  wifi: {
    name: "wifi",
    family: "stm32",
    variables: 8190,
    crypto: true,
    sha256: true,
    sha512: true,
    convolve: true,
    cortexM4: true,
    storageBytes: 65536,
    leds: ["B2", "B12"],
    pins: STM32_PINS,
    spis: ["SPI1", "SPI2", "SPI3"],
  },
  // ESP32: boards/ESP32.py: SHA256 and SHA512, 16,383 variables, 896 KB Storage, one LED (D2)
  esp32: {
    name: "esp32",
    family: "esp32",
    variables: 16383,
    crypto: true,
    sha256: true,
    sha512: true,
    convolve: true,
    cortexM4: false,
    storageBytes: 224 * 4096,
    leds: ["D2"],
    pins: range("D", 40),
    spis: ["SPI1", "SPI2"],
  },
  // A build with nothing native for the core: no require("crypto"), no E.convolve,
  // and no STM32 extras (no setDeepSleep). Pico-sized otherwise.
  bare: {
    name: "bare",
    family: "other",
    variables: 5100,
    crypto: false,
    sha256: false,
    sha512: false,
    convolve: false,
    cortexM4: false,
    storageBytes: 3 * 16384,
    leds: ["B2", "B12"],
    pins: STM32_PINS,
    spis: ["SPI1", "SPI2"],
  },
};

/** What Espruino lacks (ESPRUINO.md), and later globals; deleted from every board context. */
export const REMOVED = [
  "Map",
  "Set",
  "WeakMap",
  "WeakSet",
  "Symbol",
  "Promise",
  "BigInt",
  "Proxy",
  "Reflect",
  "Math.imul",
  "Math.clz32",
  "Math.trunc",
  "Math.log2",
  "Array.from",
  "Number.isInteger",
  "ArrayBuffer.isView",
  "Object.freeze",
  "String.prototype.codePointAt",
  "Array.prototype.lastIndexOf",
  "Object.getPrototypeOf(Uint8Array).from",
  "TextEncoder",
  "TextDecoder",
  "escape",
  "unescape",
  "Intl",
  "WeakRef",
  "FinalizationRegistry",
  "queueMicrotask",
  "structuredClone",
  "SharedArrayBuffer",
  "Atomics",
  "WebAssembly",
  "BigInt64Array",
  "BigUint64Array",
  "AggregateError",
  "Iterator",
];

// ---- sensors ----------------------------------------------------------------------

/** Physical inputs at simulated time t (seconds since the simulation began; setTime does not move them). */
export interface SensorModel {
  /** °C, what E.getTemperature() reads on STM32 (ESP32 adds its own uncalibrated offset). */
  temperature(t: number): number;
  /** 0..1 of VRef for analogRead(pin). */
  analog(pin: string, t: number): number;
  /** Volts, E.getAnalogVRef() on STM32. */
  vref(t: number): number;
}

/** A day-long temperature swing, a slow analog wave, a steady 3.3 V, each with seeded noise. */
export function defaultSensors(seed = 1): SensorModel {
  const noise = prng(seed ^ 0x5e45).float;
  const day = (t: number) => Math.sin((2 * Math.PI * t) / 86400);
  return {
    temperature: (t) => 18 + 6 * day(t) + (noise() - 0.5) * 0.2,
    analog: (_pin, t) => 0.5 + 0.3 * Math.sin((2 * Math.PI * t) / 3600) + (noise() - 0.5) * 0.01,
    vref: () => 3.3 + (noise() - 0.5) * 0.01,
  };
}

// ---- internal flash: require("Storage") ------------------------------------------------

const HEADER = 32,
  NAME = 28,
  ALIGN = 4;
const align = (n: number) => (n + ALIGN - 1) & ~(ALIGN - 1);

/**
 * The Storage area of a board's flash, as src/jsflash.c lays it out: files one
 * after another from the start, each a 32-byte header (size in the low 24 bits,
 * flags in the top 8, then a 28-byte name, NUL-padded) and its data padded to 4
 * bytes; erased flash is 0xFF; a deleted file has its name's first 4 bytes
 * zeroed (flash bits only go from 1 to 0). Space comes back only by compaction.
 * Kept in memory; `save()` writes it to its file.
 */
export class Flash {
  readonly bytes: Buffer;

  constructor(
    readonly size: number,
    public path?: string
  ) {
    if (path && existsSync(path)) {
      const b = readFileSync(path);
      if (b.length !== size)
        throw new Error(`${path}: ${b.length} bytes, the profile's Storage is ${size}`);
      this.bytes = b;
    } else this.bytes = Buffer.alloc(size, 0xff);
  }

  save(path = this.path): void {
    if (!path) throw new Error("Flash.save: no path");
    writeFileSync(path, this.bytes);
  }

  /** Every file header: address, name (raw 28 bytes), size, flags, deleted. */
  *headers(): Generator<{
    addr: number;
    name: Buffer;
    size: number;
    flags: number;
    deleted: boolean;
  }> {
    for (let a = 0; a + HEADER <= this.size;) {
      const word = this.bytes.readUInt32LE(a);
      if (word === 0xffffffff) return;
      const size = word & 0xffffff;
      yield {
        addr: a,
        name: this.bytes.subarray(a + 4, a + HEADER),
        size,
        flags: word >>> 24,
        deleted: this.bytes.readUInt32LE(a + 4) === 0,
      };
      a += HEADER + align(size);
    }
  }
  /** The first free address (after the last header). */
  end(): number {
    let e = 0;
    for (const h of this.headers()) e = h.addr + HEADER + align(h.size);
    return e;
  }
  find(name: Buffer): { addr: number; size: number; flags: number } | null {
    for (const h of this.headers())
      if (!h.deleted && h.name.equals(name))
        return { addr: h.addr + HEADER, size: h.size, flags: h.flags };
    return null;
  }
  /** Programs bytes: like flash, only clears bits. */
  program(addr: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) this.bytes[addr + i] &= data[i];
  }
  isErased(addr: number, len: number): boolean {
    for (let i = 0; i < len; i++) if (this.bytes[addr + i] !== 0xff) return false;
    return true;
  }
  erase(addr: number): void {
    this.program(addr - HEADER + 4, Buffer.alloc(4));
  }
  /** Creates a file of `size` erased bytes; compacts when the end is full; returns its data address or 0. */
  create(name: Buffer, size: number, flags = 0): number {
    for (let pass = 0; pass < 2; pass++) {
      const at = this.end();
      if (at + HEADER + align(size) <= this.size) {
        const h = Buffer.alloc(HEADER);
        h.writeUInt32LE((((flags & 0xff) << 24) | (size & 0xffffff)) >>> 0, 0);
        name.copy(h, 4);
        this.program(at, h);
        return at + HEADER;
      }
      if (pass === 0) this.compact();
    }
    return 0;
  }
  /** Moves live files to the front and erases the rest (a power cut during it is not modelled). */
  compact(): void {
    const live: Buffer[] = [];
    for (const h of this.headers())
      if (!h.deleted)
        live.push(Buffer.from(this.bytes.subarray(h.addr, h.addr + HEADER + align(h.size))));
    this.bytes.fill(0xff);
    let a = 0;
    for (const f of live) {
      f.copy(this.bytes, a);
      a += f.length;
    }
  }
  stats() {
    let fileBytes = 0,
      fileCount = 0,
      trashBytes = 0,
      trashCount = 0,
      end = 0;
    for (const h of this.headers()) {
      const n = HEADER + align(h.size);
      if (h.deleted) ((trashBytes += n), trashCount++);
      else ((fileBytes += n), fileCount++);
      end = h.addr + n;
    }
    return {
      total: this.size,
      free: this.size - end,
      fileBytes,
      fileCount,
      trashBytes,
      trashCount,
    };
  }
}

// ---- the board ---------------------------------------------------------------------------

export interface BoardOptions {
  profile: ProfileName | Profile;
  /** The card in the slot; null or absent: an empty slot (mounting fails with NOT_READY). */
  image?: FatImage | null;
  /** The Storage flash: a Flash to share, or a file to load (if present) and save to. */
  storage?: Flash;
  storageFile?: string;
  /** Seeds hardware noise (E.hwRand on STM32, sensor noise, Math.random's boot seed). */
  seed?: number;
  sensors?: Partial<SensorModel>;
  /** getTime() at first power-on, in seconds (0: a board nobody has set the time on). */
  clock?: number;
  /** Does the clock survive a power cut? (false: RTC lost, getTime() restarts at 0; it always survives a reset). */
  rtcBackup?: boolean;
  /** Called with every console line as well as collecting it in `output`. */
  console?: (line: string) => void;
  /**
   * Real milliseconds one script or callback may run before the board counts as hung
   * (0 or absent: no limit, and a device-side endless loop hangs the test). A hung board
   * with a watchdog enabled reboots ("watchdog"); without one, run/load throw.
   */
  cpuLimitMs?: number;
  /**
   * E.nativeCall and E.getAddressOf (not simulated by default): machine code runs
   * for real under qemu-arm on the Cortex-M4 profiles (sim/native.ts); on the
   * others it crashes the board, as Thumb code would on an ESP32.
   */
  native?: boolean;
  /**
   * The console's line as a host sees it (spec/link.md talks over it): the
   * device it is (E.getConsole(): "USB", "Serial1", "Bluetooth"; default
   * "USB"), and its speed in baud: each byte then takes 10 bit times, and
   * print waits while more than Espruino's 256-byte transmit buffer is queued,
   * as on a UART (virtual time passes). Absent: output costs no time.
   */
  consoleLine?: { device?: string; baud?: number };
}

export interface PinEvent {
  t: number;
  pin: string;
  value: number;
}
export interface LedEvent {
  t: number;
  led: string;
  value: number;
}
export interface ResetEvent {
  t: number;
  reason: "power-on" | "reset" | "watchdog" | "E.reboot" | "power-cut";
}

interface Timer {
  id: number;
  at: number;
  interval: number;
  fn: unknown;
  args: unknown[];
}
interface OpenFile {
  fp: number;
  mode: "r" | "w" | "rw";
  open: boolean;
  mount: Mount;
}
interface Mount {
  img: FatImage;
  fs: number;
}

/** Thrown through device code by E.reboot(); the board reboots when it reaches the top. */
class Reboot extends Error {}
/** Device code ran past cpuLimitMs: on a board it would spin until the watchdog bites. */
class Hung extends Error {}

const FLAG_NAMES = [
  "deepSleep",
  "unsafeFlash",
  "unsyncFiles",
  "pretokenise",
  "jitDebug",
  "onErrorSave",
  "onErrorFlash",
];
const TIMER_MIN_MS = 0.1,
  TIMER_MAX_MS = 31536000001000;
/** The SFN characters FatFs accepts besides A-Z and 0-9 (ASCII only here). */
const SFN_EXTRA = "!#$%&'()-@^_`{}~";

/** Is `name` (one path component) a valid 8.3 name, upper-casing allowed? */
export function is83(name: string): boolean {
  const dot = name.indexOf(".");
  const body = dot < 0 ? name : name.slice(0, dot),
    ext = dot < 0 ? "" : name.slice(dot + 1);
  if (!body.length || body.length > 8 || ext.length > 3 || (dot >= 0 && !ext.length)) return false;
  for (const c of body + ext) {
    const u = c.toUpperCase();
    if (!((u >= "A" && u <= "Z") || (u >= "0" && u <= "9") || SFN_EXTRA.includes(u))) return false;
  }
  return true;
}

/**
 * An Espruino board: a vm context with the profile's globals, an SD card slot,
 * a Storage flash and a virtual clock.
 *
 * - `load(code)` runs an ES5 script now (as the IDE uploads to RAM); its errors throw.
 * - `setBootCode(code)` writes `.bootcde` to Storage, tokenised as `npm run flash` sends it
 *   (so that it takes the room it takes on a board), run at every boot (then `onInit()`
 *   and `E.on("init")` handlers).
 * - `run(until)` runs timers in time order up to getTime() == until (seconds);
 *   `runFor(seconds)` likewise. Timer errors are printed as on a board ("Uncaught ...").
 * - `reboot()`: a hardware reset (watchdog, reset button): fresh context, RAM lost,
 *   open files NOT closed, same card and Storage; clock kept.
 * - `powerCut()`: everything stops; `powerOn()` boots again (clock lost unless rtcBackup).
 *   A fault armed on the card's BlockDevice cuts power the same way at its sector
 *   write: the file call throws PowerCut through the device code, `load`/`run` catch
 *   it and leave the board off (`board.off`, `board.cut`).
 */
// The last code tokenised and read back (boards of one run boot the same firmware, often).
const memo = { code: "", tok: "", read: "", source: "" };
/** Code as a board's .bootcde holds it (scripts/pretokenise.mjs bootCode). */
function tokenised(code: string): string {
  if (memo.code !== code) memo.tok = bootCode((memo.code = code));
  return memo.tok;
}
/** Tokenised code as Espruino's lexer reads it: Node reads the source text the tokens stand for. */
function sourceOf(tok: string): string {
  if (memo.read !== tok) memo.source = detokenise((memo.read = tok));
  return memo.source;
}

export class Board {
  readonly profile: Profile;
  readonly flash: Flash;
  readonly sensors: SensorModel;
  /** The card in the slot. */
  image: FatImage | null;
  /** Console lines, LED and pin changes, resets, uncaught errors. */
  output: string[] = [];
  errors: string[] = [];
  leds: LedEvent[] = [];
  pinTrace: PinEvent[] = [];
  resets: ResetEvent[] = [];
  /** Off after a power cut (until powerOn). */
  off = false;
  /** The PowerCut that stopped the board, if any. */
  cut: PowerCut | null = null;
  /** Boots so far. */
  boots = 0;

  /** Simulated ms since the simulation began (never goes back). */
  private ms = 0;
  /** getTime() * 1000 - ms. */
  private offsetMs: number;
  private readonly seed: number;
  private readonly opts: BoardOptions;
  private ctx!: vm.Context;
  private g!: any;
  private timers: Timer[] = [];
  private flags: Record<string, number> = {};
  private watchdog: { timeout: number; auto: boolean; kicked: number } | null = null;
  private hw!: () => number;
  private randW = 0;
  private randZ = 0;
  private spi: unknown = null;
  private mount: Mount | null = null;
  private files = new WeakMap<object, OpenFile>();
  private openFiles = new Set<OpenFile>();
  private pinValues = new Map<string, number>();
  private initHandlers: unknown[] = [];
  // the console (src/jsinteractive.c): its device, the line being typed, echo, and what was sent when
  private consoleDevice = "USB";
  private inputLine = "";
  private echoOffForLine = false;
  private inputLineRemoved = false;
  private escape = 0; // in an escape sequence: characters of it still to skip
  private hadCR = false;
  private sent: { at: number; bytes: string }[] = []; // console bytes, each piece with the ms its last byte went out
  private lineFree = 0; // ms when the line has sent everything queued
  /** The context's File constructor (E.openFile's results are its instances). */
  private FileCtor: any;
  private callScript = new vm.Script("__sim.fn.apply(undefined, __sim.args)");

  constructor(opts: BoardOptions) {
    this.opts = opts;
    this.profile = typeof opts.profile === "string" ? PROFILES[opts.profile] : opts.profile;
    if (!this.profile) throw new Error(`unknown profile ${opts.profile}`);
    this.flash = opts.storage ?? new Flash(this.profile.storageBytes, opts.storageFile);
    this.seed = opts.seed ?? 1;
    this.sensors = { ...defaultSensors(this.seed), ...opts.sensors };
    this.image = opts.image ?? null;
    this.offsetMs = (opts.clock ?? 0) * 1000;
    this.boot("power-on");
  }

  // ---- host side ----

  /** getTime() on the board, in seconds. */
  get time(): number {
    return (this.ms + this.offsetMs) / 1000;
  }
  /** Simulated seconds since the simulation began. */
  get elapsed(): number {
    return this.ms / 1000;
  }
  /** The board's global object (for tests: read what the device code left there). */
  get global(): any {
    return this.g;
  }

  /** Runs an ES5 script in the board's context; returns its completion value. A power cut leaves the board off and returns undefined. */
  load(code: string, filename = "upload.js"): unknown {
    this.alive();
    try {
      return this.guard(() => {
        try {
          return this.exec(code, filename);
        } catch (e) {
          if ((e as { code?: string })?.code === "ERR_SCRIPT_EXECUTION_TIMEOUT") throw new Hung();
          throw e;
        }
      });
    } catch (e) {
      if (e instanceof PowerCut) return undefined;
      throw e;
    }
  }

  /** Writes `.bootcde` into Storage: the code every boot runs. */
  setBootCode(code: string): void {
    this.storageWrite(".bootcde", tokenised(code), 0, 0);
  }

  /** Runs timers (and the watchdog) up to getTime() == until. */
  run(until: number): void {
    this.runTo(until * 1000 - this.offsetMs);
  }
  runFor(seconds: number): void {
    this.runTo(this.ms + seconds * 1000);
  }
  /** The board's timers, for tests: [id, due in s, interval in s]. */
  pendingTimers(): [number, number, number][] {
    return this.timers.map((t) => [t.id, (t.at - this.ms) / 1000, t.interval / 1000]);
  }

  /** A hardware reset: fresh context, same card, Storage and clock. */
  reboot(reason: ResetEvent["reason"] = "reset"): void {
    this.boot(reason);
  }
  /** Power lost now (the card keeps what reached it). */
  powerCut(): void {
    this.die(new PowerCut("power cut"));
  }
  /** Power back: boots; after `afterSeconds` of darkness. */
  powerOn(afterSeconds = 0): void {
    this.ms += afterSeconds * 1000;
    if (!this.opts.rtcBackup) this.offsetMs = -this.ms;
    this.boot("power-on");
  }

  insertCard(img: FatImage): void {
    this.image = img;
    img.device.present = true;
  }
  /** Pulls the card out; a board that had it mounted gets disk errors until E.unmountSD() or a reset. */
  removeCard(): void {
    if (this.image) this.image.device.present = false;
    this.image = null;
  }

  /** Saves the card image and the Storage flash to their files. */
  save(): void {
    this.image?.save();
    if (this.flash.path) this.flash.save();
  }

  // ---- power, boot and time ----

  private boot(reason: ResetEvent["reason"]): void {
    // RAM is lost: FatFs structures of the old mount are freed without closing anything
    this.releaseMount();
    this.timers = [];
    this.watchdog = null;
    this.spi = null;
    this.openFiles.clear();
    this.files = new WeakMap();
    this.initHandlers = [];
    this.pinValues.clear();
    this.consoleDevice = this.opts.consoleLine?.device ?? "USB";
    this.inputLine = "";
    this.echoOffForLine = this.inputLineRemoved = this.hadCR = false;
    this.escape = 0;
    this.flags = Object.fromEntries(FLAG_NAMES.map((n) => [n, 0]));
    this.off = false;
    this.cut = null;
    this.boots++;
    this.resets.push({ t: this.time, reason });
    if (this.image) this.image.device.powerOn();
    // hardware noise for this boot
    const noise = prng((this.seed * 2654435761 + this.boots) >>> 0);
    this.hw = () => noise.u32() | 0;
    // Espruino's own rand() (src/jsutils.c), behind Math.random and, on ESP32, E.hwRand:
    // STM32 seeds it from hardware noise at boot, ESP32 never does (same sequence every boot)
    this.randW = 0xdeadbeef;
    this.randZ = 0xcafebabe;
    if (this.profile.family !== "esp32") this.srand(this.hw());
    this.makeContext();
    try {
      this.guard(() => {
        for (const f of [".boot0", ".boot1", ".boot2", ".boot3", ".bootcde"]) {
          const code = this.storageRead(f);
          if (code !== undefined)
            this.uncaught(() => this.exec(f === ".bootcde" ? sourceOf(code) : code, f));
        }
        const onInit = this.g.onInit;
        if (typeof onInit === "function") this.uncaught(() => this.call(onInit, []));
        for (const h of this.initHandlers) this.uncaught(() => this.call(h, []));
      });
    } catch (e) {
      if (!(e instanceof PowerCut)) throw e;
    }
  }

  private die(cut: PowerCut): void {
    this.off = true;
    this.cut = cut;
    this.timers = [];
    this.watchdog = null;
    this.resets.push({ t: this.time, reason: "power-cut" });
  }

  /** Every API call starts here: a board without power runs nothing. */
  private alive(): void {
    if (this.off) throw new PowerCut("the board is off");
  }

  /** Runs host-side work that may reboot (E.reboot, a hang under the watchdog) or cut power; reboots are taken here. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof Reboot) {
        this.boot("E.reboot");
        return undefined as T;
      }
      if (e instanceof Hung) {
        if (!this.watchdog)
          throw new Error(
            `the board hung: device code ran over ${this.opts.cpuLimitMs} ms with no watchdog to reset it`
          );
        this.boot("watchdog");
        return undefined as T;
      }
      throw e;
    }
  }

  private runTo(target: number): void {
    while (!this.off) {
      let next: Timer | null = null;
      for (const t of this.timers) if (!next || t.at < next.at) next = t;
      const wd = this.watchdogDeadline();
      if (wd !== null && wd <= target && (!next || wd < next.at)) {
        this.ms = Math.max(this.ms, wd);
        this.boot("watchdog");
        continue;
      }
      if (!next || next.at > target) break;
      this.ms = Math.max(this.ms, next.at);
      if (this.watchdog?.auto) this.watchdog.kicked = this.ms; // the idle loop kicks it on every wake
      if (next.interval) next.at += next.interval;
      else this.timers.splice(this.timers.indexOf(next), 1);
      try {
        this.guard(() =>
          this.uncaught(() =>
            typeof next!.fn === "string"
              ? this.exec(next!.fn, "timer")
              : this.call(next!.fn, next!.args)
          )
        );
        this.returnInputLine();
      } catch (e) {
        if (e instanceof PowerCut) break;
        throw e;
      }
    }
    // simulated time passes, with or without power
    this.ms = Math.max(this.ms, target);
  }

  /**
   * When the watchdog fires, or null. A manual watchdog fires `timeout` after the last
   * kick. An automatic one is kicked by the idle loop whenever the board wakes, which
   * on STM32 in deep sleep happens only for timers: sleeping longer than the timeout
   * reboots it (ESPRUINO notes for E.enableWatchdog); elsewhere the board never sleeps
   * that deeply, and JS here takes no virtual time, so it never fires.
   */
  private watchdogDeadline(): number | null {
    const w = this.watchdog;
    if (!w) return null;
    if (w.auto && !(this.profile.family === "stm32" && this.flags.deepSleep)) return null;
    return w.kicked + w.timeout * 1000;
  }

  /** Runs fn, printing an uncaught error as the board does (PowerCut and Reboot pass through). */
  private uncaught(fn: () => unknown): void {
    try {
      fn();
    } catch (e) {
      if (e instanceof PowerCut || e instanceof Reboot) throw e;
      if ((e as { code?: string })?.code === "ERR_SCRIPT_EXECUTION_TIMEOUT") throw new Hung();
      const msg = `Uncaught ${e && (e as Error).name ? (e as Error).name + ": " + (e as Error).message : String(e)}`;
      this.errors.push(msg);
      this.print(msg);
    }
  }

  private exec(code: string, filename: string): unknown {
    const limit = this.opts.cpuLimitMs;
    return vm.runInContext(code, this.ctx, { filename, ...(limit ? { timeout: limit } : {}) });
  }
  private call(fn: unknown, args: unknown[]): unknown {
    const limit = this.opts.cpuLimitMs;
    if (!limit) return (fn as Function).apply(undefined, args);
    this.g.__sim = { fn, args };
    return this.callScript.runInContext(this.ctx, { timeout: limit });
  }

  private print(line: string): void {
    this.output.push(line);
    this.opts.console?.(line);
    this.consoleOutput(line + "\n");
  }

  // ---- the console's line (src/jsinteractive.c, src/jsdevices.c) ----

  /** Console output: before the first output since the prompt, the input line is taken off the screen; LF goes out as CR LF. */
  private consoleOutput(text: string): void {
    if (!this.inputLineRemoved) {
      this.inputLineRemoved = true;
      if (!this.echoOffForLine) this.send("\r\x1b[J");
    }
    this.send(text.replace(/\n/g, "\r\n"));
  }
  /** After an event or a typed line: the prompt and the input line come back, if output took them away. */
  private returnInputLine(): void {
    if (!this.inputLineRemoved) return;
    this.inputLineRemoved = false;
    if (!this.echoOffForLine) this.send(">" + this.inputLine);
  }
  /** Bytes onto the console's line: at its speed, print waiting while more than the transmit buffer is queued. */
  private send(bytes: string): void {
    const line = this.opts.consoleLine;
    if (!line || this.consoleDevice !== (line.device ?? "USB")) return;
    if (!line.baud) return void this.sent.push({ at: this.ms, bytes });
    const byteMs = 10000 / line.baud;
    this.lineFree = Math.max(this.lineFree, this.ms) + bytes.length * byteMs;
    this.sent.push({ at: this.lineFree, bytes });
    this.ms = Math.max(this.ms, this.lineFree - 256 * byteMs); // the 256-byte buffer: print waits for room
  }

  /**
   * The host types on the console's line (spec/link.md's requests): Espruino's
   * line editing, in part: DLE at the start of a line turns echo off for it,
   * CR or LF runs a line whose brackets are closed (its value is printed as
   * "=..." when echo is on), backspace deletes, Ctrl-C clears the line, escape
   * sequences are skipped. Typed while the console is another device: lost.
   */
  type(chars: string): void {
    this.alive();
    const line = this.opts.consoleLine;
    if (!line || this.consoleDevice !== (line.device ?? "USB")) return;
    for (const ch of chars) {
      const c = ch.charCodeAt(0) & 255;
      if (this.escape === 1) {
        this.escape = c === 91 || c === 79 ? 2 : 0; // ESC [ or ESC O, then digits and a final character
        continue;
      }
      if (this.escape === 2) {
        if (c < 48 || c > 57) this.escape = 0;
        continue;
      }
      if (c === 10 && this.hadCR) {
        this.hadCR = false;
        continue;
      }
      this.hadCR = c === 13;
      if (c === 16) {
        if (this.inputLine === "") this.echoOffForLine = true;
      } else if (c === 27) this.escape = 1;
      else if (c === 3) this.inputLine = "";
      else if (c === 8 || c === 127) this.inputLine = this.inputLine.slice(0, -1);
      else if (c === 13 || c === 10) this.newLine();
      else if (c >= 32 || c === 9) {
        this.inputLine += c === 9 ? "    " : String.fromCharCode(c);
        if (!this.echoOffForLine && !this.inputLineRemoved)
          this.send(c === 9 ? "    " : String.fromCharCode(c));
      }
      if (this.off) return;
    }
  }
  private newLine(): void {
    if (bracketDepth(this.inputLine) > 0) {
      this.inputLine += "\n";
      if (!this.echoOffForLine) this.send("\r\n:");
      return;
    }
    const code = this.inputLine.trimEnd(),
      echo = !this.echoOffForLine;
    if (echo) {
      this.send("\r\n");
      this.inputLineRemoved = true;
    }
    this.inputLine = "";
    let value: unknown,
      failed = true;
    try {
      this.guard(() =>
        this.uncaught(() => {
          value = this.exec(code, "REPL");
          failed = false;
        })
      );
    } catch (e) {
      if (!(e instanceof PowerCut)) throw e;
      return;
    }
    if (echo && !failed && code !== "") {
      let v: string;
      try {
        v =
          value === undefined
            ? "undefined"
            : typeof value === "string"
              ? JSON.stringify(value)
              : (JSON.stringify(value) ?? String(value));
      } catch {
        v = String(value);
      }
      this.consoleOutput("=" + v + "\n");
    }
    this.echoOffForLine = false;
    this.returnInputLine();
  }
  /** What the board has sent on its console's line and that has gone out by now, since the last call. */
  received(): string {
    let out = "";
    while (this.sent.length && this.sent[0].at <= this.ms) out += this.sent.shift()!.bytes;
    return out;
  }
  /** When the console bytes queued next will have gone out (simulated seconds, as `elapsed`), or null when none are queued. */
  get nextSent(): number | null {
    return this.sent.length ? this.sent[0].at / 1000 : null;
  }

  // ---- the context ----

  private makeContext(): void {
    const ctx = vm.createContext({});
    this.ctx = ctx;
    const g = (this.g = vm.runInContext("this", ctx));
    vm.runInContext(
      REMOVED.map((p) => {
        const dot = p.lastIndexOf(".");
        return dot < 0
          ? `delete globalThis[${JSON.stringify(p)}];`
          : `delete ${p.slice(0, dot)}[${JSON.stringify(p.slice(dot + 1))}];`;
      }).join("\n") + "\ndelete globalThis.console;",
      ctx
    );
    const P = this.profile,
      self = this;
    // marks the Node-side functions handed to the device code (they throw the context's Errors)
    const host = <T extends Function>(f: T) => f;

    // Date.now() and new Date() read the virtual clock (Espruino's Date is getTime() based)
    vm.runInContext(
      `(function (now) {
      var D = Date;
      function SimDate(a, b, c, d, e, f, g) {
        if (!(this instanceof SimDate)) return new D(now()).toString();
        switch (arguments.length) {
          case 0: return new D(now());
          case 1: return new D(a);
          default: return new D(a, b, c === undefined ? 1 : c, d || 0, e || 0, f || 0, g || 0);
        }
      }
      SimDate.prototype = D.prototype;
      D.prototype.constructor = SimDate;
      SimDate.now = now; SimDate.UTC = D.UTC; SimDate.parse = D.parse;
      Date = SimDate;
      Math.random = arguments[1];
    })`,
      ctx
    )(
      host(() => this.time * 1000),
      host(() => this.rand() / 2147483648)
    );

    // global, globalThis (both exist on Espruino); btoa/atob on byte strings
    g.global = g;
    g.btoa = host((s: unknown) => Buffer.from(cropBytes(String(s)), "latin1").toString("base64"));
    g.atob = host((s: unknown) => Buffer.from(String(s), "base64").toString("latin1"));

    // ---- console ----
    const fmt = (v: unknown): string => {
      if (typeof v === "string") return v;
      try {
        return JSON.stringify(v) ?? String(v);
      } catch {
        return String(v);
      }
    };
    g.print = host((...a: unknown[]) => {
      this.alive();
      this.print(a.map(fmt).join(" "));
    });
    g.console = vm.runInContext("({})", ctx);
    g.console.log = g.print;
    // the serial devices' write (src/jswrap_serial.c): bytes as they are onto the device, no CR added and the
    // input line left where it is; only the console's line is modelled, writes to another device go nowhere
    for (const name of ["USB", "Serial1", "Bluetooth"]) {
      g[name] = vm.runInContext("({})", ctx);
      g[name].write = host((...a: unknown[]) => {
        this.alive();
        if (this.consoleDevice === name) this.send(byteString(...a));
      });
    }

    // ---- time ----
    g.getTime = host(() => (this.alive(), this.time));
    g.setTime = host((s: number) => {
      this.alive();
      this.offsetMs = Number(s) * 1000 - this.ms;
    });
    const addTimer = (fn: unknown, ms: unknown, args: unknown[], repeat: boolean) => {
      this.alive();
      if (typeof fn !== "function" && typeof fn !== "string")
        throw this.error("Function or String not supplied!");
      let iv = Number(ms);
      if (isNaN(iv) || iv < TIMER_MIN_MS) iv = TIMER_MIN_MS;
      if (iv > TIMER_MAX_MS) throw this.error("Interval is too long (>100 years)");
      // ids: one more than the newest timer's, from 1 (jsiTimerAdd / jsvArrayAddToEnd)
      const id = this.timers.length ? this.timers[this.timers.length - 1].id + 1 : 1;
      this.timers.push({ id, at: this.ms + iv, interval: repeat ? iv : 0, fn, args });
      return id;
    };
    g.setTimeout = host((fn: unknown, ms: unknown, ...args: unknown[]) =>
      addTimer(fn, ms, args, false)
    );
    g.setInterval = host((fn: unknown, ms: unknown, ...args: unknown[]) =>
      addTimer(fn, ms, args, true)
    );
    const clear = (name: string) =>
      host((...a: unknown[]) => {
        this.alive();
        if (!a.length) this.timers = [];
        else if (a[0] === undefined)
          throw this.error(`clear${name}(undefined) not allowed. Use clear${name}() instead`);
        else this.timers = this.timers.filter((t) => t.id !== Number(a[0]));
      });
    g.clearTimeout = clear("Timeout");
    g.clearInterval = clear("Interval");
    g.changeInterval = host((id: unknown, ms: unknown) => {
      this.alive();
      const t = this.timers.find((t) => t.id === Number(id));
      if (!t) throw this.error("Unknown Interval");
      const iv = Math.max(TIMER_MIN_MS, Number(ms) || 0);
      if (t.interval) t.interval = iv;
      t.at = this.ms + iv;
    });
    if (P.family === "stm32")
      g.setDeepSleep = host((on: unknown) => {
        this.alive();
        this.flags.deepSleep = on ? 1 : 0;
      });

    // ---- pins, LEDs, SPI ----
    const Pin = vm.runInContext("(function Pin() {})", ctx);
    const pins: Record<string, any> = {};
    const pinName = (p: unknown): string => {
      for (const [n, o] of Object.entries(pins)) if (o === p) return n;
      throw this.error(`Invalid pin: ${String(p)}`);
    };
    const ledName = (n: string) => {
      const i = P.leds.indexOf(n);
      return i < 0 ? null : "LED" + (i + 1);
    };
    const writePin = (n: string, v: unknown) => {
      const value = v ? 1 : 0;
      this.pinValues.set(n, value);
      this.pinTrace.push({ t: this.time, pin: n, value });
      const led = ledName(n);
      if (led) this.leds.push({ t: this.time, led, value });
    };
    Pin.prototype.write = host(function (this: object, v: unknown) {
      self.alive();
      writePin(pinName(this), v);
    });
    Pin.prototype.set = host(function (this: object) {
      self.alive();
      writePin(pinName(this), 1);
    });
    Pin.prototype.reset = host(function (this: object) {
      self.alive();
      writePin(pinName(this), 0);
    });
    Pin.prototype.toggle = host(function (this: object) {
      self.alive();
      const n = pinName(this),
        v = self.pinValues.get(n) ? 0 : 1;
      writePin(n, v);
      return !!v;
    });
    Pin.prototype.read = host(function (this: object) {
      self.alive();
      return !!self.pinValues.get(pinName(this));
    });
    Pin.prototype.mode = host(() => undefined);
    Pin.prototype.toString = host(function (this: object) {
      return pinName(this);
    });
    for (const n of P.pins) g[n] = pins[n] = new Pin();
    P.leds.forEach((n, i) => (g["LED" + (i + 1)] = pins[n]));
    g.Pin = Pin;
    g.digitalWrite = host((p: unknown, v: unknown) => {
      this.alive();
      writePin(pinName(p), v);
    });
    g.digitalRead = host((p: unknown) => (this.alive(), this.pinValues.get(pinName(p)) ?? 0));
    g.pinMode = host(() => undefined);
    g.analogRead = host((p: unknown) => {
      this.alive();
      const v = this.sensors.analog(pinName(p), this.elapsed);
      return Math.floor(Math.min(Math.max(v, 0), 4095 / 4096) * 4096) / 4096; // a 12-bit ADC, 0 <= v < 1
    });
    const SPI = vm.runInContext("(function SPI() {})", ctx);
    SPI.prototype.setup = host(() => undefined);
    SPI.prototype.send = host((d: unknown) => d);
    g.SPI = SPI;
    for (const n of P.spis) g[n] = new SPI();

    // ---- E ----
    const E = (g.E = vm.runInContext("({})", ctx));
    E.getTemperature = host(() => {
      this.alive();
      const t = this.sensors.temperature(this.elapsed);
      // ESP32: "raw and uncalibrated": a fixed per-board offset stands for that
      return P.family === "esp32" ? t + 20 + (this.seed % 13) : t;
    });
    E.getAnalogVRef = host(
      () => (this.alive(), P.family === "esp32" ? NaN : this.sensors.vref(this.elapsed))
    );
    E.hwRand = host(() => (this.alive(), P.family === "esp32" ? this.rand() : this.hw()));
    E.srand = host((s: unknown) => {
      this.alive();
      this.srand(Number(s) >>> 0);
    });
    E.enableWatchdog = host((timeout: unknown, isAuto: unknown) => {
      this.alive();
      let t = Number(timeout);
      if (t < 0 || isNaN(t)) t = 1;
      if (P.family === "esp32") t = Math.max(1, Math.round(t)); // rounded to the nearest second there
      this.watchdog = { timeout: t, auto: isAuto === undefined || !!isAuto, kicked: this.ms };
    });
    E.kickWatchdog = host(() => {
      this.alive();
      if (this.watchdog) this.watchdog.kicked = this.ms;
    });
    E.reboot = host(() => {
      this.alive();
      throw new Reboot();
    });
    E.on = host((ev: unknown, fn: unknown) => {
      if (ev === "init") this.initHandlers.push(fn);
    });
    E.getFlags = host(() => {
      const o = vm.runInContext("({})", ctx);
      for (const n of FLAG_NAMES) o[n] = this.flags[n];
      return o;
    });
    E.setFlags = host((o: any) => {
      for (const n of FLAG_NAMES) if (o && n in o) this.flags[n] = o[n] ? 1 : 0;
    });
    E.toUint8Array = host((...a: unknown[]) => {
      const b = flatten(a),
        u = new g.Uint8Array(b.length);
      for (let i = 0; i < b.length; i++) u[i] = b[i];
      return u;
    });
    E.toString = host(byteString);
    // a string's bytes as an ArrayBuffer: on a board a view of them, here a copy (the firmware never writes
    // through it to the string)
    E.toArrayBuffer = host((s: unknown) => {
      const b = Buffer.from(cropBytes(String(s)), "latin1"),
        a = new g.ArrayBuffer(b.length);
      new g.Uint8Array(a).set(b);
      return a;
    });
    // every board has it (the firmware's link relies on it): zip's CRC-32 of the bytes
    E.CRC32 = host((...a: unknown[]) => crc32(Buffer.from(flatten(a))));
    if (P.convolve) {
      // Typed arrays take a path compiled inside the board's own context, so the
      // device's field arithmetic calls it without crossing realms (several times
      // faster); anything else goes to the host function with every check.
      const slow = host(convolve(this));
      E.convolve = vm.runInContext(
        `(function (slow) {
          return function convolve(a, b, offset) {
            if (a && b && typeof a.subarray === "function" && typeof b.subarray === "function" && typeof offset === "number" && b.length) {
              var la = a.length, lb = b.length, j = (offset | 0) % lb, s = 0, i;
              if (j < 0) j += lb;
              for (i = 0; i < la; i++) { s += a[i] * b[j]; if (++j === lb) j = 0; }
              return s;
            }
            return slow(a, b, offset);
          };
        })`,
        ctx
      )(slow);
    }
    if (P.convolve) E.mapInPlace = host(mapInPlace(this));
    if (this.opts.native && P.name !== "bare") {
      E.getAddressOf = host((v: unknown, flat: unknown) => (flat ? addressOf(v) : 0));
      E.nativeCall = host((addr: unknown, sig: unknown, code: unknown) => {
        if (
          typeof addr !== "number" ||
          typeof sig !== "string" ||
          (code !== undefined && typeof code !== "string")
        )
          throw this.error("E.nativeCall(addr, signature, data)");
        if (!P.cortexM4)
          return host(() => {
            throw new Error(`the board crashed: Thumb code run on ${P.name}'s CPU`);
          });
        // with data: addr is an offset into it; without: an address, e.g. E.getAddressOf of a Storage file
        const f =
          code === undefined
            ? nativeCallAt(addr, sig)
            : machineFor(cropBytes(code)).nativeCall(addr, sig);
        return host((...a: unknown[]) => (this.alive(), f(...a)));
      });
    }
    E.connectSDCard = host((spi: unknown, cs: unknown) => {
      this.alive();
      if (!spi || typeof spi !== "object")
        throw this.error(`First argument is a ${typeof spi}, not an SPI object`);
      if (!Object.values(pins).includes(cs)) throw this.error("Second argument is not a valid pin");
      this.unmountSD();
      this.spi = spi;
    });
    E.unmountSD = host(() => {
      this.alive();
      this.unmountSD();
      this.spi = null;
    });
    E.openFile = host((path: unknown, mode: unknown) => this.openFile(path, mode));
    E.getConsole = host(() => this.consoleDevice);
    E.setConsole = host((device: unknown) => {
      this.alive();
      this.consoleDevice = String(device); // null: no console; output then goes nowhere
    });

    // File objects
    const File = vm.runInContext("(function File() {})", ctx);
    this.FileCtor = File;
    File.prototype.read = host(function (this: object, n: unknown) {
      return self.fileRead(this, n);
    });
    File.prototype.write = host(function (this: object, d: unknown) {
      return self.fileWrite(this, d);
    });
    File.prototype.skip = host(function (this: object, n: unknown) {
      self.fileSeek(this, n, true);
    });
    File.prototype.seek = host(function (this: object, n: unknown) {
      self.fileSeek(this, n, false);
    });
    File.prototype.close = host(function (this: object) {
      self.fileClose(this);
    });

    // ---- process ----
    g.process = vm.runInContext("({ version: '2v29', env: {} })", ctx);
    g.process.env.VERSION = "2v29";
    g.process.env.BOARD = { pico: "PICO_R1_3", wifi: "ESPRUINOWIFI", esp32: "ESP32", bare: "BARE" }[
      P.name
    ];
    // Rough figures only: no real variable accounting (a base, ~40 per open file, a few per timer)
    g.process.memory = host(() => {
      const usage = Math.min(P.variables, 300 + 40 * this.openFiles.size + 8 * this.timers.length);
      const o = vm.runInContext("({})", ctx);
      Object.assign(o, {
        free: P.variables - usage,
        usage,
        total: P.variables,
        history: 0,
        gc: 0,
        gctime: 0,
        blocksize: P.family === "esp32" ? 16 : 13,
      });
      return o;
    });

    // ---- modules ----
    const cache: Record<string, unknown> = {};
    g.require = host((name: unknown) => {
      this.alive();
      const n = String(name);
      if (n in cache) return cache[n];
      let m: unknown;
      if (n === "fs") m = this.fsModule();
      else if (n === "Storage") m = this.storageModule();
      else if (n === "crypto" && P.crypto) m = this.cryptoModule();
      else {
        // a module saved to Storage under its name, then node_modules/NAME.js on the card (errors swallowed)
        let src = n.length <= NAME ? this.storageRead(n) : undefined;
        if (src === undefined) {
          try {
            src = this.fsReadFile("node_modules/" + n + ".js");
          } catch (e) {
            if (e instanceof PowerCut) throw e;
          }
        }
        if (src !== undefined && src !== "")
          m = vm.runInContext(
            `(function () { var module = { exports: {} }, exports = module.exports;\n${src}\nreturn module.exports; })()`,
            ctx
          );
      }
      if (m === undefined) throw this.error(`Module ${JSON.stringify(n)} not found`);
      return (cache[n] = m);
    });
  }

  /** An Error of the board's realm (device code's instanceof Error holds). */
  private error(msg: string): Error {
    return new this.g.Error(msg);
  }

  // ---- random ----

  private srand(seed: number): void {
    this.randW = ((seed & 0xffff) | (seed << 16)) >>> 0;
    this.randZ = ((seed & 0xffff0000) | (seed >>> 16)) >>> 0;
  }
  /** Espruino's rand() (src/jsutils.c), RAND_MAX 0x7FFFFFFF. */
  private rand(): number {
    this.randZ = (36969 * (this.randZ & 65535) + (this.randZ >>> 16)) >>> 0;
    this.randW = (18000 * (this.randW & 65535) + (this.randW >>> 16)) >>> 0;
    return (((this.randZ << 16) + this.randW) >>> 0) & 0x7fffffff;
  }

  // ---- SD card: mounting ----

  /** jsfsInit: the first file call mounts; throws as the board does. */
  private fsInit(): Mount {
    this.alive();
    if (this.mount) return this.mount;
    if (!this.spi) throw this.error("SD card must be setup with E.connectSDCard first");
    const img = this.image;
    if (!img) throw this.error("Unable to mount media : NOT_READY");
    img.clock = () => this.time * 1000;
    const ff = img.ff,
      fs = ff.malloc(FatFsLib.sizeof_FATFS);
    const res = this.ff(img, () => ff.f_mount(fs, "", 1));
    if (res !== FatFsLib.FR_OK) {
      ff.free(fs);
      throw this.error(`Unable to mount media : ${frName(res)}`);
    }
    this.mount = { img, fs };
    return this.mount;
  }

  /** Every FatFs call goes through here: a card that lost power stops the board. */
  private ff<T>(img: FatImage, fn: () => T): T {
    const r = fn();
    if (img.device.dead) {
      const cut = new PowerCut(
        `power cut at sector ${img.device.fault?.sector ?? "?"} (${img.device.fault?.outcome ?? "lost"})`
      );
      this.die(cut);
      throw cut;
    }
    return r;
  }

  /** jswrap_file_kill_sw: close every file (writing what they hold), then unmount. */
  private unmountSD(): void {
    const m = this.mount;
    if (!m) return;
    for (const f of this.openFiles) if (f.open && f.mount === m) this.closeFile(f);
    this.openFiles.clear();
    this.ff(m.img, () => m.img.ff.f_mount(0, "", 0));
    m.img.ff.free(m.fs);
    this.mount = null;
  }

  /** After a reset: the old mount's memory is simply gone; nothing is written. */
  private releaseMount(): void {
    const m = this.mount;
    if (!m) return;
    m.img.ff.f_mount(0, "", 0);
    for (const f of this.openFiles) if (f.mount === m) m.img.ff.free(f.fp);
    m.img.ff.free(m.fs);
    this.mount = null;
  }

  /**
   * A path as FatFs gets it, or an error name. Paths over 63 characters throw (JS_DIR_BUF_SIZE).
   * Every component must be an 8.3 name (our rule: FAT16 and portability, as if the
   * board had no long file names); lower case is upper-cased, as FatFs stores it, so
   * no long-name entries or case flags ever reach the card.
   */
  private path(p: unknown): { ok: string } | { bad: string } {
    const s = cropBytes(String(p));
    if (s.length > 63) throw this.error("File path too long");
    let rest = s;
    if (/^[0-9]:/.test(rest)) {
      if (rest[0] !== "0") return { bad: "INVALID_DRIVE" };
      rest = rest.slice(2);
    }
    const parts = rest.split(/[/\\]/).filter((c) => c !== "");
    if (!parts.every(is83)) return { bad: "INVALID_NAME" };
    return { ok: parts.map((c) => c.toUpperCase()).join("/") };
  }

  // ---- E.openFile and File ----

  private openFile(path: unknown, mode: unknown): object | undefined {
    const m = this.fsInit();
    if (path === undefined) throw this.error("Path is undefined");
    const p = this.path(path);
    const ms = mode === undefined ? "r" : cropBytes(String(mode)).slice(0, 2);
    const flags: Record<string, [number, OpenFile["mode"]]> = {
      r: [FatFsLib.FA_READ | FatFsLib.FA_OPEN_EXISTING, "r"],
      "r+": [FatFsLib.FA_READ | FatFsLib.FA_WRITE | FatFsLib.FA_OPEN_EXISTING, "rw"],
      a: [FatFsLib.FA_WRITE | FatFsLib.FA_OPEN_ALWAYS, "w"],
      w: [FatFsLib.FA_WRITE | FatFsLib.FA_CREATE_ALWAYS, "w"],
      "w+": [FatFsLib.FA_READ | FatFsLib.FA_WRITE | FatFsLib.FA_OPEN_ALWAYS, "rw"],
    };
    const f = flags[ms];
    if (!f) return undefined; // an unknown mode: no file, no exception
    if ("bad" in p) throw this.error(`Could not open file : ${p.bad}`);
    const ff = m.img.ff,
      fp = ff.malloc(FatFsLib.sizeof_FIL);
    const res = this.ff(m.img, () => ff.f_open(fp, p.ok, f[0]));
    if (res !== FatFsLib.FR_OK) {
      ff.free(fp);
      throw this.error(`Could not open file : ${frName(res)}`);
    }
    // 'a': one seek to the end at open (FA_OPEN_APPEND came later in FatFs)
    if (ms === "a") this.ff(m.img, () => ff.f_lseek(fp, ff.f_size(fp)));
    const file = new this.FileCtor();
    const of: OpenFile = { fp, mode: f[1], open: true, mount: m };
    this.files.set(file, of);
    this.openFiles.add(of);
    return file;
  }

  /** The open file behind a File object, or null (closed, or from before an unmount). */
  private handle(file: object): OpenFile | null {
    this.fsInit();
    const f = this.files.get(file);
    return f && f.open && f.mount === this.mount ? f : null;
  }

  private fileRead(file: object, n: unknown): string | undefined {
    const f = this.handle(file);
    if (!f || f.mode === "w") return undefined;
    const length = Math.max(0, toInt32(n));
    const ff = f.mount.img.ff;
    let len = ff.f_size(f.fp) - ff.f_tell(f.fp);
    if (len <= 0) return undefined; // end of file: undefined, and the file stays open
    len = Math.min(len, length);
    const buf = ff.malloc(Math.max(1, len)),
      br = ff.malloc(4);
    try {
      const res = this.ff(f.mount.img, () => ff.f_read(f.fp, buf, len, br));
      const out = Buffer.from(ff.HEAPU8.subarray(buf, buf + ff.getValue(br, "i32"))).toString(
        "latin1"
      );
      if (res !== FatFsLib.FR_OK) throw this.error(`Unable to read file : ${frName(res)}`);
      return out;
    } finally {
      ff.free(buf);
      ff.free(br);
    }
  }

  private fileWrite(file: object, data: unknown): number {
    if (data === undefined) return 0;
    const f = this.handle(file);
    if (!f || f.mode === "r") return 0; // read-only or closed: 0, silently
    const bytes = flatten([data]),
      ff = f.mount.img.ff,
      img = f.mount.img;
    const buf = ff.malloc(32),
      bw = ff.malloc(4);
    let written = 0,
      res = 0;
    try {
      // 32-byte pieces, as jswrap_file_write's stack buffer
      for (let i = 0; i < bytes.length; i += 32) {
        const piece = bytes.subarray(i, i + 32);
        ff.HEAPU8.set(piece, buf);
        res = this.ff(img, () => ff.f_write(f.fp, buf, piece.length, bw));
        const w = ff.getValue(bw, "i32");
        written += w;
        if (w === 0) res = res || FatFsLib.FR_DISK_ERR;
        if (res) break;
      }
      // then f_sync: data sector, directory entry, FAT (its result is ignored on boards)
      if (!this.flags.unsyncFiles) this.ff(img, () => ff.f_sync(f.fp));
    } finally {
      ff.free(buf);
      ff.free(bw);
    }
    if (res) throw this.error(`Unable to write file : ${frName(res)}`);
    return written;
  }

  private fileSeek(file: object, n: unknown, skip: boolean): void {
    const k = toInt32(n);
    if (k < 0) {
      this.print(`WARNING: ${skip ? "Bytes to skip" : "Position to seek to"} must be >=0`);
      return;
    }
    const f = this.handle(file);
    if (!f) return;
    const ff = f.mount.img.ff;
    // with write access FatFs extends the file past its end; read-only clamps to the size
    const res = this.ff(f.mount.img, () => ff.f_lseek(f.fp, (skip ? ff.f_tell(f.fp) : 0) + k));
    if (res) throw this.error(`${skip ? "Unable to skip" : "Unable to seek"} : ${frName(res)}`);
  }

  private fileClose(file: object): void {
    const f = this.handle(file);
    if (f) this.closeFile(f); // closing twice is harmless
  }

  private closeFile(f: OpenFile): void {
    const ff = f.mount.img.ff;
    f.open = false;
    this.openFiles.delete(f);
    try {
      this.ff(f.mount.img, () => ff.f_close(f.fp));
    } finally {
      ff.free(f.fp);
    }
  }

  // ---- require("fs") ----

  private fsReadFile(path: unknown): string | undefined {
    const file = this.openFile(path, "r");
    if (!file) return undefined;
    const s = this.fileRead(file, 0x7fffffff);
    this.fileClose(file);
    return s;
  }
  private fsWrite(path: unknown, data: unknown, append: boolean): boolean {
    if (data === undefined) return false;
    const file = this.openFile(path, append ? "a" : "w");
    if (!file) return false;
    const n = this.fileWrite(file, data);
    this.fileClose(file);
    return n > 0;
  }

  private fsModule(): object {
    const fs = vm.runInContext("({})", this.ctx),
      g = this.g;
    const pathOf = (p: unknown) => this.path(p === undefined ? "" : p); // undefined: the root
    const readdir = (path: unknown) => {
      const p = pathOf(path);
      const m = this.fsInit();
      const ff = m.img.ff,
        dp = ff.malloc(FatFsLib.sizeof_DIR),
        fno = ff.malloc(FatFsLib.sizeof_FILINFO);
      try {
        if ("bad" in p) throw this.error(`Unable to list files : ${p.bad}`);
        const res = this.ff(m.img, () => ff.f_opendir(dp, p.ok));
        if (res) throw this.error(`Unable to list files : ${frName(res)}`);
        const out = new g.Array();
        // boards' FatFs (_FS_RPATH 2) lists "." and ".." in sub-directories; this FatFs does not
        if (p.ok !== "") out.push(".", "..");
        for (;;) {
          const r = this.ff(m.img, () => ff.f_readdir(dp, fno));
          if (r) throw this.error(`Unable to list files : ${frName(r)}`);
          const name = ff.FILINFO_fname(fno);
          if (!name) break;
          out.push(name);
        }
        ff.f_closedir(dp);
        return out;
      } finally {
        ff.free(dp);
        ff.free(fno);
      }
    };
    const unlink = (path: unknown) => {
      const p = pathOf(path);
      const m = this.fsInit();
      const res = "bad" in p ? p.bad : frName(this.ff(m.img, () => m.img.ff.f_unlink(p.ok)));
      if (res !== "OK") throw this.error(`Unable to delete file : ${res}`);
      return true;
    };
    const mkdir = (path: unknown) => {
      const p = pathOf(path);
      const m = this.fsInit();
      const res = "bad" in p ? p.bad : frName(this.ff(m.img, () => m.img.ff.f_mkdir(p.ok)));
      if (res !== "OK") throw this.error(`Unable to create the directory : ${res}`);
      return true;
    };
    const stat = (path: unknown) => {
      const p = pathOf(path);
      const m = this.fsInit();
      if ("bad" in p) return undefined;
      const ff = m.img.ff,
        fno = ff.malloc(FatFsLib.sizeof_FILINFO);
      try {
        if (this.ff(m.img, () => ff.f_stat(p.ok, fno)) !== FatFsLib.FR_OK) return undefined;
        const d = ff.FILINFO_fdate(fno),
          t = ff.FILINFO_ftime(fno);
        const o = vm.runInContext("({})", this.ctx);
        o.size = ff.FILINFO_fsize(fno);
        o.dir = (ff.FILINFO_fattrib(fno) & FatFsLib.AM_DIR) !== 0;
        // as jswrap_fs_stat decodes it, oddities included: seconds are taken as `ftime & 63`,
        // i.e. FAT's seconds/2 plus 32 when the minute is odd
        const ms = Date.UTC(
          1980 + ((d >> 9) & 127),
          ((d >> 5) & 15) - 1,
          d & 31,
          (t >> 11) & 31,
          (t >> 5) & 63,
          t & 63
        );
        o.mtime = new g.Date(ms);
        return o;
      } finally {
        ff.free(fno);
      }
    };
    fs.readdir = fs.readdirSync = (p: unknown) => readdir(p);
    fs.readFile = fs.readFileSync = (p: unknown) => this.fsReadFile(p);
    fs.writeFile = fs.writeFileSync = (p: unknown, d: unknown) => this.fsWrite(p, d, false);
    fs.appendFile = fs.appendFileSync = (p: unknown, d: unknown) => this.fsWrite(p, d, true);
    fs.unlink = fs.unlinkSync = unlink;
    fs.mkdir = fs.mkdirSync = mkdir;
    fs.statSync = stat;
    return fs;
  }

  // ---- require("Storage") ----

  private storageName(name: unknown): Buffer {
    const b = Buffer.alloc(NAME);
    Buffer.from(cropBytes(String(name)).slice(0, NAME), "latin1").copy(b); // beyond 28: silently truncated
    return b;
  }
  private storageRead(name: string, offset = 0, length = 0): string | undefined {
    const f = this.flash.find(this.storageName(name));
    if (!f) return undefined;
    if (offset < 0) offset = 0;
    if (length <= 0) length = f.size;
    if (offset > f.size) offset = f.size;
    if (offset + length > f.size) length = f.size - offset;
    return this.flash.bytes
      .subarray(f.addr + offset, f.addr + offset + Math.max(0, length))
      .toString("latin1");
  }
  /** jsfWriteFile. */
  private storageWrite(name: unknown, data: unknown, offset: number, size: number): boolean {
    if (offset < 0 || size < 0) return false;
    let d: Uint8Array;
    if (data !== null && typeof data === "object" && !Array.isArray(data) && !isBinary(data)) {
      d = Buffer.from(cropBytes(this.g.JSON.stringify(data)), "latin1"); // objects are written as JSON
      offset = 0;
      size = 0;
    } else d = rawBytes(data);
    if (!size) size = d.length;
    if (!size) throw this.error("Can't create zero length file");
    const nm = this.storageName(name),
      fl = this.flash;
    let f = fl.find(nm);
    if (
      (!f && offset === 0) ||
      (f && offset === 0 && (f.flags !== 0 || f.size !== size || !fl.isErased(f.addr, size)))
    ) {
      if (
        f &&
        offset === 0 &&
        f.size === size &&
        f.flags === 0 &&
        d.length === size &&
        fl.bytes.subarray(f.addr, f.addr + size).equals(d)
      )
        return true; // the same file is already there
      if (f) fl.erase(f.addr); // the old one is marked deleted before the new one is written
      const addr = fl.create(nm, size);
      f = addr ? { addr, size, flags: 0 } : null;
    }
    if (!f) throw this.error("Unable to find or create file");
    if (offset + d.length > f.size) throw this.error("Too much data for file size");
    if (!fl.isErased(f.addr + offset, d.length))
      throw this.error("File already written with different data");
    fl.program(f.addr + offset, d);
    return true;
  }

  private storageModule(): object {
    const S = vm.runInContext("({})", this.ctx),
      g = this.g;
    S.read = (name: unknown, offset?: unknown, length?: unknown) => (
      this.alive(),
      this.storageRead(String(name), toInt32(offset), toInt32(length))
    );
    S.readArrayBuffer = (name: unknown) => {
      this.alive();
      const s = this.storageRead(String(name));
      if (s === undefined) return undefined;
      const ab = new g.ArrayBuffer(s.length);
      new Uint8Array(ab).set(Buffer.from(s, "latin1"));
      return ab;
    };
    S.readJSON = (name: unknown, noExceptions: unknown) => {
      this.alive();
      const s = this.storageRead(String(name));
      if (s === undefined) return undefined;
      try {
        return g.JSON.parse(s);
      } catch (e) {
        if (noExceptions) return undefined;
        throw e;
      }
    };
    S.write = (name: unknown, data: unknown, offset?: unknown, size?: unknown) => (
      this.alive(),
      this.storageWrite(name, data, toInt32(offset), toInt32(size))
    );
    S.writeJSON = (name: unknown, data: unknown) => (
      this.alive(),
      this.storageWrite(name, cropBytes(g.JSON.stringify(data)), 0, 0)
    );
    S.erase = (name: unknown) => {
      this.alive();
      const f = this.flash.find(this.storageName(name));
      if (f) this.flash.erase(f.addr);
    };
    S.eraseAll = () => {
      this.alive();
      this.flash.bytes.fill(0xff);
    };
    S.list = (regex?: unknown) => {
      this.alive();
      const out = new g.Array();
      for (const h of this.flash.headers()) {
        if (h.deleted) continue;
        const end = h.name.indexOf(0);
        const n = h.name.subarray(0, end < 0 ? NAME : end).toString("latin1");
        if (regex === undefined || g.String.prototype.match.call(n, regex)) out.push(n);
      }
      return out;
    };
    S.getFree = () => (this.alive(), this.flash.stats().free);
    S.getStats = () => {
      this.alive();
      const o = vm.runInContext("({})", this.ctx);
      Object.assign(o, this.flash.stats());
      return o;
    };
    S.compact = () => {
      this.alive();
      this.flash.compact();
    };
    // require("Storage").open (StorageFile) is not simulated.
    return S;
  }

  // ---- require("crypto") ----

  private cryptoModule(): object {
    const C = vm.runInContext("({})", this.ctx),
      g = this.g,
      P = this.profile;
    const hash = (alg: string) => (data: unknown) => {
      this.alive();
      const h = createHash(alg).update(rawBytes(data)).digest();
      const ab = new g.ArrayBuffer(h.length);
      new Uint8Array(ab).set(h);
      return ab;
    };
    C.SHA1 = hash("sha1");
    if (P.sha256) C.SHA256 = hash("sha256");
    if (P.sha512) C.SHA512 = hash("sha512");
    return C;
  }
}

// ---- bytes, the way board builds see them ------------------------------------------

/** A board string is bytes: each character cropped to 8 bits. */
function cropBytes(s: string): string {
  for (let i = 0; i < s.length; i++)
    if (s.charCodeAt(i) > 255)
      return s.replace(/[^\x00-\xff]/g, (c) => String.fromCharCode(c.charCodeAt(0) & 255));
  return s;
}

function isBinary(v: unknown): v is ArrayBuffer | ArrayBufferView {
  return ArrayBuffer.isView(v) || Object.prototype.toString.call(v) === "[object ArrayBuffer]";
}

function toInt32(v: unknown): number {
  const n = Number(v);
  return isFinite(n) ? n | 0 : 0;
}

/** An element as jsvIteratorGetIntegerValue takes it, cropped to a byte. */
const byteOf = (x: unknown): number => {
  const n = typeof x === "string" ? parseInt(x, 10) : Number(x);
  return isFinite(n) ? Math.trunc(n) & 255 : 0;
};

/** E.toString's bytes of its arguments (a string cropped to bytes, else the arguments flattened): what a serial write sends too. */
function byteString(...a: unknown[]): string {
  if (a.length === 1 && typeof a[0] === "string") return cropBytes(a[0]);
  return Buffer.from(flatten(a)).toString("latin1");
}
/**
 * The bytes of E.toUint8Array / E.toString / File.write arguments (jsvIterateCallback):
 * strings byte by byte, numbers as one byte, arrays and typed arrays element by element,
 * ArrayBuffers byte by byte, {data, count} repeated, other objects by their values.
 */
function flatten(args: unknown[]): Uint8Array {
  if (args.length === 1) {
    const a = args[0];
    if (typeof a === "string") return Buffer.from(cropBytes(a), "latin1");
    if (a instanceof Uint8Array || Object.prototype.toString.call(a) === "[object Uint8Array]")
      return Uint8Array.from(a as Uint8Array);
  }
  const out: number[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === "string") for (let i = 0; i < v.length; i++) out.push(v.charCodeAt(i) & 255);
    else if (typeof v === "number" || typeof v === "boolean") out.push(byteOf(v));
    else if (Object.prototype.toString.call(v) === "[object ArrayBuffer]")
      out.push(...new Uint8Array(v as ArrayBuffer));
    else if (ArrayBuffer.isView(v))
      for (let i = 0; i < (v as any).length; i++) out.push(byteOf((v as any)[i]));
    else if (Array.isArray(v))
      for (let i = 0; i < v.length; i++) {
        const e = v[i];
        if (typeof e === "number" || e === undefined) out.push(byteOf(e));
        else walk(e);
      }
    else if (v && typeof v === "object") {
      const o = v as any;
      if ("data" in o && "count" in o) for (let k = 0; k < Number(o.count); k++) walk(o.data);
      else for (const k of Object.keys(o)) walk(o[k]);
    }
  };
  for (const a of args) walk(a);
  return Uint8Array.from(out);
}

/** The bytes of crypto / Storage data (JSV_GET_AS_CHAR_ARRAY): a typed array's raw bytes, else as `flatten`. */
function rawBytes(v: unknown): Uint8Array {
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
  if (v === undefined) return new Uint8Array(0);
  return flatten([v]);
}

/** E.convolve(a, b, offset): sum of a[i] * b[(i + offset) mod b.length]; a's length drives the loop. */
function convolve(board: Board) {
  const num = (x: any, i: number) => (typeof x === "string" ? x.charCodeAt(i) & 255 : +x[i]);
  const iterable = (x: unknown) => typeof x === "string" || Array.isArray(x) || isBinary(x);
  return (a: any, b: any, offset: unknown) => {
    if (!iterable(a) || !iterable(b))
      throw new board.global.Error(
        `Expecting first 2 arguments to be iterable, not ${typeof a} and ${typeof b}`
      );
    if (Object.prototype.toString.call(a) === "[object ArrayBuffer]")
      a = new Uint8Array(a as ArrayBuffer);
    if (Object.prototype.toString.call(b) === "[object ArrayBuffer]")
      b = new Uint8Array(b as ArrayBuffer);
    const la = a.length,
      lb = b.length;
    let j = toInt32(offset) % lb;
    if (j < 0) j += lb;
    let s = 0;
    if (typeof a !== "string" && typeof b !== "string") {
      for (let i = 0; i < la; i++) {
        s += a[i] * b[j];
        if (++j === lb) j = 0;
      }
      return s;
    }
    for (let i = 0; i < la; i++) {
      s += num(a, i) * num(b, j);
      if (++j === lb) j = 0;
    }
    return s;
  };
}

/**
 * E.mapInPlace(from, to, map, bits) (jswrap_espruino_mapInPlace): the elements of
 * `from` as one bit stream, cut into `bits`-bit groups (MSB first; LSB first when
 * negative; 0: one group per element), each looked up in `map` (an array, a typed
 * array or a function of (value, index)) or passed through, into `to`, until either runs out.
 */
function mapInPlace(board: Board) {
  return (from: any, to: any, map: any, bits: unknown) => {
    const isAB = (x: unknown) => ArrayBuffer.isView(x) && !(x instanceof DataView);
    if (!isAB(from) || !isAB(to))
      throw new board.global.Error("First 2 arguments should be array buffers");
    if (
      map !== undefined &&
      map !== null &&
      !Array.isArray(map) &&
      !isAB(map) &&
      typeof map !== "function"
    )
      throw new board.global.Error("Third argument should be a function or array");
    const bitsFrom = 8 * from.BYTES_PER_ELEMENT;
    let n = toInt32(bits),
      msb = true;
    if (n < 0) ((n = -n), (msb = false));
    if (!n) n = bitsFrom;
    let el = 0n,
      b = 0,
      i = 0,
      o = 0;
    const mask = (1n << BigInt(n)) - 1n;
    while ((i < from.length || b >= n) && o < to.length) {
      const index = i;
      while (b < n) {
        const x = BigInt.asUintN(bitsFrom, BigInt(Math.trunc(Number(from[i++] ?? 0))));
        if (msb) el = (el << BigInt(bitsFrom)) | x;
        else el |= x << BigInt(b);
        b += bitsFrom;
      }
      let v: bigint;
      if (msb) v = (el >> BigInt(b - n)) & mask;
      else ((v = el & mask), (el >>= BigInt(n)));
      b -= n;
      if (msb) el &= (1n << BigInt(b)) - 1n;
      const value = Number(v);
      to[o++] =
        map === undefined || map === null
          ? value
          : typeof map === "function"
            ? map(value, index)
            : map[value];
    }
  };
}

/** Open brackets left in a typed line (strings and comments skipped): Espruino runs a line only when none are (jsiCountBracketsInInput). */
function bracketDepth(code: string): number {
  let depth = 0,
    quote = "";
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'" || c === "`") quote = c;
    else if (c === "/" && code[i + 1] === "/") while (i < code.length && code[i] !== "\n") i++;
    else if (c === "(" || c === "{" || c === "[") depth++;
    else if (c === ")" || c === "}" || c === "]") depth--;
  }
  return depth;
}
