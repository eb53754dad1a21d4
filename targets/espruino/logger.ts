// The logger firmware's core loop, for Espruino boards and the simulator:
// boot, keep the seed in internal flash, mount the card's log, then every
// `interval` seconds take the sensors' values and append one signed reading.
// (LED codes, the no-card queue, deep sleep and the watchdog: issue 4.)
import { createLog, Disk, openLog } from "../../src/card";
import { parseConfig } from "../../src/config";
import { append, Feed, openFeed, readingBody } from "../../src/logger";
import { board } from "../../src/engine";
import { identity, keys } from "../../src/index";

declare var E: any, getTime: any, setInterval: any, analogRead: any, print: any;
declare var PIGEON_SENSORS: any;

var SEED = "pigeon.seed", BOOTS = "pigeon.boots", BOOT_ROOM = 2048;

/** The 32-byte seed from internal flash, made from hardware noise on first boot. Never on the card. */
function seed(S: any): Uint8Array {
  var s = S.read(SEED), b = new Uint8Array(32), i;
  if (s && s.length == 32) {
    for (i = 0; i < 32; i++) b[i] = s.charCodeAt(i);
    return b;
  }
  // E.hwRand is hardware noise on STM32 and nRF52 (plain rand() on ESP32: see the README)
  for (i = 0; i < 32; i++) b[i] = E.hwRand() ^ (E.hwRand() >> 8) ^ (getTime() * 1000);
  S.write(SEED, E.toString(b));
  return b;
}
/** Counts this boot in internal flash: one more byte of a file whose unwritten bytes are 0xFF. */
function countBoot(S: any): number {
  var s = S.read(BOOTS), n = 0;
  if (!s) {
    S.write(BOOTS, "\x00", 0, BOOT_ROOM);
    return 1;
  }
  while (n < s.length && s.charCodeAt(n) != 255) n++;
  if (n >= BOOT_ROOM) {
    S.write(BOOTS, "\x00", 0, BOOT_ROOM); // full: start again (the count wraps)
    return 1;
  }
  S.write(BOOTS, "\x00", n);
  return n + 1;
}

/** A file's text, or undefined when it is missing (readFileSync throws then) or empty. */
function readText(fs: any, path: string): string | undefined {
  try {
    return fs.readFileSync(path);
  } catch (e) {
    return undefined;
  }
}

/** The value of one sensor: user-defined ones first (a global PIGEON_SENSORS of functions), then the board's. */
function sample(name: string): number | string {
  if (typeof PIGEON_SENSORS != "undefined" && PIGEON_SENSORS[name]) return PIGEON_SENSORS[name]();
  if (name == "temp") return E.getTemperature();
  if (name == "vbat") return E.getAnalogVRef();
  if (/^[a-h][0-9]+$/.test(name)) return analogRead(name.toUpperCase());
  throw new Error("unknown sensor " + name);
}

export var state: {
  feed?: Feed;
  keys?: Uint8Array;
  boot: number;
  config: any;
  ident: string;
  rows: (number | string)[][];
  t0: number;
  status: string; // "logging", "no card", "card full", "error"
  timer?: any;
} = { boot: 0, config: {}, ident: "", rows: [], t0: 0, status: "" };

declare var PIGEON_ON_APPEND: any, PIGEON_ON_STATUS: any, clearInterval: any;

/** Says what the logger is doing, once per change: on the console, and to PIGEON_ON_STATUS(status, why) when defined. */
function report(status: string, why: string) {
  if (status == state.status) return;
  state.status = status;
  print("pigeon: " + status + (why ? ": " + why : ""));
  if (typeof PIGEON_ON_STATUS == "function") PIGEON_ON_STATUS(status, why);
}

// SD card SPI pins sck,mosi,miso,cs when PIGEON.CFG does not say: the README's wiring
var SD_PINS: { [board: string]: string } = { ESP32: "D18,D23,D19,D5" };
var SD_DEFAULT = "B3,B5,B4,B6";

/** Sets up SPI1 for the card: pins from the configuration, or the board's defaults. */
function connectCard(sd: string | undefined) {
  var env = typeof process != "undefined" && process.env ? process.env.BOARD : "";
  var p = (sd || SD_PINS[env] || SD_DEFAULT).split(","), pin = function (n: string) {
    return (0, eval)(n);
  }, spi = (0, eval)("SPI1");
  spi.setup({ sck: pin(p[0]), mosi: pin(p[1]), miso: pin(p[2]) });
  E.connectSDCard(spi, pin(p[3]));
}
declare var process: any;

/** Opens (or makes) the own feed's log on the card; false when there is no usable card. */
function mount(): boolean {
  var fs = board("fs"), disk: Disk = { openFile: E.openFile }, path = state.ident.slice(1, 9) + ".LOG";
  try {
    if (readText(fs, "IDENT.TXT") != state.ident + "\n") fs.writeFileSync("IDENT.TXT", state.ident + "\n");
    if (!fs.statSync(path)) createLog(disk, path, state.ident, Math.floor((state.config.log_mb * 1048576) / 1024) - 64, E.hwRand() >>> 0);
    state.feed = openFeed(openLog(disk, path), E.openFile(path, "r"), state.keys!);
    report("logging", path);
    return true;
  } catch (e) {
    state.feed = undefined;
    report("no card", (e as Error).message);
    return false;
  }
}

/**
 * Boots the logger: configuration, seed, card; then samples every interval.
 * The configuration comes from PIGEON.CFG in Storage (saved when flashing),
 * else from the card (read with the default SD pins). A bad configuration
 * stops here, with the reason; a missing card is looked for again at each
 * message.
 */
export function start() {
  var S = board("Storage"), fs = board("fs"), cfg = S.read("PIGEON.CFG");
  state.boot = countBoot(S);
  try {
    connectCard(cfg ? parseConfig(cfg).sd : undefined);
    cfg = cfg || readText(fs, "PIGEON.CFG"); // no PIGEON.CFG anywhere: the defaults
    state.config = parseConfig(cfg || "");
    if (state.config.per_message * state.config.sensors.split(",").length > 61)
      throw new Error("PIGEON.CFG: per_message times the number of sensors must be at most 61 (a message holds 64 entries)");
  } catch (e) {
    report("error", (e as Error).message);
    return;
  }
  state.keys = keys(seed(S));
  state.ident = identity(state.keys);
  mount();
  state.timer = setInterval(step, state.config.interval * 1000);
}

/** One sampling: a row of values; every per_message rows, one message onto the card. */
export function step() {
  var c = state.config, names = c.sensors.split(","), row = [], i, t;
  if (!state.rows.length) state.t0 = getTime();
  for (i = 0; i < names.length; i++) row.push(sample(names[i]));
  state.rows.push(row);
  if (state.rows.length < c.per_message) return;
  if (state.feed || mount())
    try {
      t = append(state.feed!, "reading", readingBody(state.t0, state.boot, c.interval, names, state.rows));
      if (typeof PIGEON_ON_APPEND == "function") PIGEON_ON_APPEND(t);
    } catch (e) {
      if (/log full/.test((e as Error).message)) {
        report("card full", (e as Error).message + "; logging stopped, the card keeps what it has");
        clearInterval(state.timer);
      } else {
        // the card went away mid-run: look for it again next time
        state.feed = undefined;
        report("no card", (e as Error).message);
      }
    }
  state.rows = [];
}
