// Espruino's own firmware for the Pico and the WiFi, run under the patched QEMU
// of the emulator toolkit (../shared/emu, or wherever PIGEON_EMU points): a
// tool the user points to, like ESPRUINO=, never copied into the project.
// Its README describes the machine: USART1 console, an SD card on SPI1
// (A5/A6/A7), internal flash for Storage, an RTC on QEMU's virtual clock, and
// -icount, under which a run that needs no console input is deterministic.
//
// Here: finding the toolkit, building our instruction-counting plugin
// (emu/probe/probe.c) against its plugin header, laying Storage files into a
// flash image (with the simulator's model of Espruino's Storage, sim/espruino.ts
// Flash: the real firmware reading them checks that model), and one run of
// QEMU with its console output and the plugin's events.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Flash } from "../sim/espruino";

const root = resolve(__dirname, "..");

export type BoardName = "pico" | "wifi";

/** Each board's firmware image (the toolkit's file name) and Storage area (boards/*.py saved_code). */
export const BOARDS: Record<
  BoardName,
  { image: RegExp; storage: number; storageBytes: number; env: string }
> = {
  pico: {
    image: /_pico_1r3\.img$/,
    storage: 0x08004000,
    storageBytes: 3 * 16384,
    env: "PICO_R1_3",
  },
  wifi: { image: /_wifi\.img$/, storage: 0x08010000, storageBytes: 65536, env: "ESPRUINOWIFI" },
};
const FLASH_BASE = 0x08000000;

export interface Toolkit {
  dir: string;
  qemu: string;
  /** The plugin header (qemu-plugin.h) our probe is built against. */
  pluginDir: string;
  /** Firmware image and symbol table of a board. */
  firmware(board: BoardName): { image: string; syms: string };
}

/**
 * The toolkit, or the reason it cannot be used: PIGEON_EMU, else ../shared/emu
 * beside the project. A QEMU that does not start for want of libraries is
 * given them with apt-get when running as root (the toolkit's README names them).
 */
export function findToolkit(): Toolkit | string {
  const dir = process.env.PIGEON_EMU || resolve(root, "../shared/emu");
  const from = process.env.PIGEON_EMU ? "PIGEON_EMU" : "../shared/emu";
  const qemu = join(dir, "qemu-system-arm"),
    pluginDir = join(dir, "plugin"),
    fw = join(dir, "firmware");
  for (const p of [qemu, join(pluginDir, "qemu-plugin.h"), fw])
    if (!existsSync(p))
      return `no emulator toolkit: ${p} is missing (set PIGEON_EMU to the toolkit's directory, or put it at ${resolve(root, "../shared/emu")})`;
  const runs = () => spawnSync(qemu, ["--version"], { encoding: "utf8" });
  let v = runs();
  if (
    v.status !== 0 &&
    process.getuid?.() === 0 &&
    spawnSync("sh", ["-c", "command -v apt-get"]).status === 0
  ) {
    console.log("installing libfdt1 libglib2.0-0 (apt-get) for the emulator's QEMU");
    spawnSync(
      "sh",
      [
        "-c",
        "apt-get install -y -qq libfdt1 libglib2.0-0 || (apt-get update -qq && apt-get install -y -qq libfdt1 libglib2.0-0)",
      ],
      { stdio: "inherit" }
    );
    v = runs();
  }
  if (v.status !== 0)
    return `the emulator's QEMU (${from}) does not start: ${(v.stderr || v.error?.message || "").trim()} (apt-get install libfdt1 libglib2.0-0)`;
  const files = readdirSync(fw);
  return {
    dir,
    qemu,
    pluginDir,
    firmware(board) {
      const image = files.find((f) => BOARDS[board].image.test(f));
      if (!image) throw new Error(`${fw}: no firmware image for ${board}`);
      return { image: join(fw, image), syms: join(fw, image.replace(/\.img$/, ".syms")) };
    },
  };
}

/** The probe plugin (emu/probe/probe.c), compiled into dist/emu/ when its source is newer. */
export function probePlugin(kit: Toolkit): string {
  const src = join(root, "emu/probe/probe.c"),
    out = join(root, "dist/emu/probe.so");
  if (
    existsSync(out) &&
    statSync(out).mtimeMs >=
      Math.max(statSync(src).mtimeMs, statSync(join(root, "emu/probe/glib.h")).mtimeMs)
  )
    return out;
  mkdirSync(join(root, "dist/emu"), { recursive: true });
  const cc = spawnSync(
    "gcc",
    [
      "-O2",
      "-Wall",
      "-shared",
      "-fPIC",
      "-I",
      join(root, "emu/probe"),
      "-I",
      kit.pluginDir,
      src,
      "-o",
      out,
    ],
    { encoding: "utf8" }
  );
  if (cc.status !== 0)
    throw new Error(`building the probe plugin: ${cc.stderr || cc.error?.message}`);
  return out;
}

/** Function symbols of a firmware (the toolkit's `nm -nS` listing): address (Thumb bit clear) and size by name. */
export class Symbols {
  readonly byName = new Map<string, number>();
  private list: [number, number, string][] = [];
  constructor(path: string) {
    for (const line of readFileSync(path, "utf8").split("\n")) {
      const p = line.split(" ");
      if (p.length !== 4 || !/^[tTwW]$/.test(p[2])) continue;
      const a = parseInt(p[0], 16) & ~1;
      this.byName.set(p[3], a);
      this.list.push([a, parseInt(p[1], 16), p[3]]);
    }
    this.list.sort((x, y) => x[0] - y[0]);
  }
  address(name: string): number {
    const a = this.byName.get(name);
    if (a === undefined) throw new Error(`the firmware has no function ${name}`);
    return a;
  }
  /** The function holding address pc, or undefined. */
  at(pc: number): string | undefined {
    let lo = 0,
      hi = this.list.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.list[mid][0] <= pc) lo = mid;
      else hi = mid - 1;
    }
    const s = this.list[lo];
    return s && pc >= s[0] && pc < s[0] + Math.max(s[1], 1) ? s[2] : undefined;
  }
}

/** The Storage area of a flash image, in the simulator's model of it (Espruino's src/jsflash.c layout). */
export function storageOf(image: Buffer, board: BoardName): Flash {
  const b = BOARDS[board],
    flash = new Flash(b.storageBytes);
  flash.bytes.set(image.subarray(b.storage - FLASH_BASE, b.storage - FLASH_BASE + b.storageBytes));
  return flash;
}

/**
 * A board's firmware image with files in Storage, as if written there with
 * require("Storage").write: what `npm run flash` leaves (the espruino CLI
 * writes .bootcde and the --storage files that way; the emulator's test of
 * the CLI path checks the two agree).
 */
export function flashImage(
  firmware: string,
  board: BoardName,
  files: [string, string | Uint8Array][]
): Buffer {
  const image = readFileSync(firmware),
    b = BOARDS[board],
    flash = storageOf(image, board);
  for (const [name, data] of files) {
    const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : Buffer.from(data);
    const nm = Buffer.alloc(28);
    nm.write(name, "latin1");
    const at = flash.create(nm, bytes.length);
    if (!at) throw new Error(`${name}: no room in the ${board}'s Storage`);
    flash.program(at, bytes);
  }
  const out = Buffer.alloc(Math.max(image.length, b.storage - FLASH_BASE + b.storageBytes), 0xff);
  image.copy(out);
  out.set(flash.bytes, b.storage - FLASH_BASE);
  return out;
}

/** What the probe reported: marks ("mark"), arguments ("args": r0..r3), per-block counts between marks. */
export interface ProbeEvent {
  kind: "mark" | "args";
  pc: number;
  /** Instructions executed before this one. */
  count: number;
  r: number[];
  /** With profile: instructions by block start address since the previous mark. */
  profile?: Map<number, number>;
}

export interface RunOptions {
  kit: Toolkit;
  board: BoardName;
  /** The flash image file: read at power-on, and every program/erase is written back to it. */
  flash: string;
  /** An SD card image on SPI1. */
  card?: string;
  marks?: number[];
  args?: number[];
  /** Power cut: QEMU ends when this many instructions have run. */
  stop?: number;
  profile?: boolean;
  /** Console text that ends the run. */
  until?: string;
  /** Console text that ends the run as failed (done stays false). */
  fail?: RegExp;
  /** Wall-clock limit in seconds (the machine may be loaded: be generous). */
  timeout: number;
  /** The RTC at power-on (ISO; the toolkit's default keeps runs reproducible). */
  rtc?: string;
  /** Called with console output as it comes. */
  onOutput?: (text: string) => void;
  /** The console on tcp 127.0.0.1:port instead (for the espruino CLI): no output is collected then. */
  serialTcp?: number;
}

export interface RunResult {
  console: string;
  events: ProbeEvent[];
  /** Instructions when QEMU ended (at the stop, or when killed after `until`). */
  total: number;
  /** The run reached `until`; false: it hit `stop`, or timed out (see timedOut), or QEMU ended. */
  done: boolean;
  stopped: boolean;
  timedOut: boolean;
  /** The profile after the last mark (with profile). */
  tail?: Map<number, number>;
}

/**
 * Boots the board: QEMU's STM32F4 machine (netduinoplus2) as the toolkit's
 * run_js.py starts it (-icount shift=4,sleep=off, the RTC on the virtual
 * clock), the flash image persistent, the card on SPI1, our probe loaded, and
 * no console input: the firmware starts from its own Storage, so the run is
 * the same instruction for instruction every time.
 */
export function runQemu(
  o: RunOptions & { started?: (stop: () => void) => void }
): Promise<RunResult> {
  const log = `${o.flash}.probe.log`;
  const opts = [
    probePlugin(o.kit),
    ...(o.marks ?? []).map((a) => `mark=0x${a.toString(16)}`),
    ...(o.args ?? []).map((a) => `args=0x${a.toString(16)}`),
  ];
  if (o.stop) opts.push(`stop=${o.stop}`);
  if (o.profile) opts.push("profile=1");
  writeFileSync(log, "");
  const argv = [
    "-M",
    "netduinoplus2",
    "-icount",
    "shift=4,sleep=off",
    "-rtc",
    `base=${o.rtc ?? "2026-01-01T00:00:00"},clock=vm`,
    "-nographic",
    "-monitor",
    "none",
    "-serial",
    o.serialTcp ? `tcp:127.0.0.1:${o.serialTcp},server,nowait` : "stdio",
    "-global",
    `stm32f405-soc.flash-file=${o.flash}`,
    ...(o.card ? ["-drive", `if=sd,index=0,format=raw,file=${o.card}`] : []),
    "-plugin",
    opts.join(","),
    "-d",
    "plugin",
    "-D",
    log,
  ];
  return new Promise((done, fail) => {
    const q = spawn(o.kit.qemu, argv, { stdio: ["pipe", "pipe", "pipe"] });
    o.started?.(() => q.kill("SIGTERM"));
    let out = "",
      err = "",
      finished = false,
      failed = false,
      timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      q.kill("SIGKILL");
    }, o.timeout * 1000);
    q.stdout.setEncoding("latin1");
    q.stdout.on("data", (d: string) => {
      out += d;
      o.onOutput?.(d);
      if (o.until && !finished && out.includes(o.until)) {
        finished = true;
        q.kill("SIGTERM"); // QEMU ends cleanly: the plugin prints its total
      } else if (o.fail && !failed && o.fail.test(out)) {
        failed = true;
        setTimeout(() => q.kill("SIGTERM"), 500); // the rest of the message, then the end
      }
    });
    q.stderr.setEncoding("latin1");
    q.stderr.on("data", (d: string) => (err += d));
    q.on("error", fail);
    q.on("close", () => {
      clearTimeout(timer);
      const stopped = /\[probe\] stop (\d+)/.exec(err);
      if (
        !finished &&
        !stopped &&
        !timedOut &&
        !/terminating on signal/.test(err) &&
        /error|Error/.test(err)
      )
        return fail(new Error(`qemu: ${err.trim()}`));
      const r = parseProbe(readFileSync(log, "latin1"));
      done({
        console: out,
        events: r.events,
        total: stopped ? Number(stopped[1]) : r.total,
        done: finished,
        stopped: !!stopped,
        timedOut,
        tail: r.tail,
      });
    });
  });
}

function parseProbe(text: string): {
  events: ProbeEvent[];
  total: number;
  tail?: Map<number, number>;
} {
  const events: ProbeEvent[] = [];
  let total = 0,
    profile: Map<number, number> | undefined;
  for (const line of text.split("\n")) {
    const p = line.split(" ");
    if (p[0] === "pc") {
      profile ??= new Map();
      const pc = parseInt(p[1], 16);
      profile.set(pc, (profile.get(pc) ?? 0) + Number(p[2]));
    } else if (p[0] === "mark" || p[0] === "args") {
      // a mark's profile lines follow it: they are the span that ended at the mark
      if (events.length) events[events.length - 1].profile = profile;
      else if (profile) throw new Error("probe: profile lines before the first mark");
      profile = undefined;
      events.push({
        kind: p[0],
        pc: parseInt(p[1], 16),
        count: Number(p[2]),
        r: p.slice(3).map(Number),
      });
    } else if (p[0] === "end") {
      if (events.length) events[events.length - 1].profile = profile;
      profile = new Map();
    } else if (p[0] === "total") total = Number(p[1]);
  }
  return { events, total, tail: profile };
}
