// The logger firmware's core loop, for Espruino boards and the simulator:
// boot, keep the seed in internal flash, mount the card's log, then every
// `interval` seconds take the sensors' values and append one signed reading.
// (LED codes, the no-card queue, deep sleep and the watchdog: issue 4.)
import {
  createLog,
  Disk,
  File,
  find,
  LOG_FULL,
  mayHoldRecords,
  NO_HEADER,
  openLog,
} from "../../src/log";
import { parseConfig } from "../../src/config";
import { append, latest, openFeed, readingBody, REFUSED, type OwnFeed } from "../../src/ownfeed";
import { board } from "../../src/engine";
import { serve } from "../../src/link";
import { identity, keys } from "../../src/message";
import { useNative } from "./native";

/** false in dist/firmware-nolink.js (npm run flash -- --no-link): on a Pico, Storage for a larger sensor driver in place of the pull server (spec/link.md) */
declare var PIGEON_LINK: boolean;
declare var E: any, getTime: any, setInterval: any, analogRead: any, print: any, global: any;
declare var PIGEON_SENSORS: any;

var SEED = "pigeon.seed",
  BOOTS = "pigeon.boots",
  BOOT_ROOM = 128; // written again every 120 boots or so: a Pico's Storage is kept for the user's sensor code

/** The 32-byte seed from internal flash, made from hardware noise on first boot. Never on the card. */
function seed(S: any): Uint8Array {
  var s = S.read(SEED),
    b = new Uint8Array(32),
    i;
  if (s && s.length == 32) {
    for (i = 0; i < 32; i++) b[i] = s.charCodeAt(i);
    return b;
  }
  // E.hwRand is hardware noise on STM32 and nRF52 (plain rand() on ESP32: see the README)
  for (i = 0; i < 32; i++) b[i] = E.hwRand() ^ (E.hwRand() >> 8) ^ (getTime() * 1000);
  S.write(SEED, E.toString(b));
  return b;
}
/**
 * Counts this boot in internal flash: one more byte of a file whose unwritten
 * bytes are 0xFF, after the count its file began at ("<count>,"). Full, it is
 * written again from the count reached, so the count only grows (the queue's
 * (boot, t) order depends on it). 0 when Storage has no room for it: said,
 * and the logger runs on.
 */
function countBoot(S: any): number {
  var s = S.read(BOOTS) || "",
    c = s.indexOf(","),
    base = c > 0 ? +s.slice(0, c) || 0 : 0,
    n = c + 1;
  try {
    while (n < s.length && s.charCodeAt(n) != 255) n++;
    if (c < 1 || n >= s.length) {
      base += n - c - 1;
      S.write(BOOTS, base + ",\x00", 0, BOOT_ROOM);
      return base + 1;
    }
    S.write(BOOTS, "\x00", n);
    return base + n - c;
  } catch (e) {
    print("pigeon: no boot count: " + (e as Error).message);
    return 0;
  }
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
  feed?: OwnFeed;
  keys?: Uint8Array;
  boot: number;
  config: any;
  ident: string;
  rows: (number | string)[][];
  t0: number;
  status: string; // "logging", "no card", "card full", "error"
  halted?: boolean; // a bad configuration or a missing sensor: no readings until it is mended
  native?: boolean; // the Thumb-2 kernels are bound
  timer?: any;
} = { boot: 0, config: {}, ident: "", rows: [], t0: 0, status: "" };

declare var PIGEON_ON_APPEND: any, PIGEON_ON_STATUS: any, process: any;

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
  if (env == "LINUX") return; // Espruino's Linux build: files are the host's, there is no SD card
  var p = (sd || SD_PINS[env] || SD_DEFAULT).split(","),
    pin = function (n: string) {
      return (0, eval)(n);
    },
    spi = (0, eval)("SPI1");
  spi.setup({ sck: pin(p[0]), mosi: pin(p[1]), miso: pin(p[2]) });
  E.connectSDCard(spi, pin(p[3]));
}

/**
 * A collector's request on the card (LATEST.REQ: a number n) is answered when
 * the card is mounted: LATEST/MESSAGES.PGN gets the newest n messages after
 * their certificate path, then the request goes. A power cut before that
 * leaves the request, answered again at the next mount (spec/card.md).
 */
function answerLatest(fs: any) {
  var req = readText(fs, "LATEST.REQ"),
    n,
    f: File,
    first = true;
  if (req == undefined) return;
  n = +req;
  if (!fs.statSync("LATEST")) fs.mkdirSync("LATEST");
  if (!(n >= 1 && n <= 100000 && n % 1 == 0))
    fs.writeFileSync(
      "LATEST/ERROR.TXT",
      "LATEST.REQ: expected a number of messages from 1 to 100000, not " +
        JSON.stringify(req) +
        "\n"
    );
  else {
    f = E.openFile("LATEST/MESSAGES.PGN", "w");
    latest(state.feed!, n, function (t) {
      f.write(first ? t : "\n\n" + t);
      first = false;
    });
    f.write("\n");
    f.close();
  }
  fs.unlinkSync("LATEST.REQ");
}

/** Opens the own feed's log, making it when it is missing or when its making was cut short (it has no header and holds nothing). */
function openOwnLog(fs: any, disk: Disk, path: string) {
  var pages = Math.floor((state.config.log_mb * 1048576) / 1024) - 64,
    st = fs.statSync(path),
    log;
  if (!st) createLog(disk, path, state.ident, pages, E.hwRand() >>> 0);
  try {
    log = openLog(disk, path);
  } catch (e) {
    // no header: made again only when nothing can be lost (spec/card.md, "Making a log")
    if ((e as any).code != NO_HEADER || !st || mayHoldRecords(disk, path, st.size)) throw e;
    createLog(disk, path, state.ident, pages, E.hwRand() >>> 0);
    log = openLog(disk, path);
  }
  if (log.broken) throw storeError(log.broken);
  return log;
}
function storeError(why: string) {
  var e = new Error(why);
  (e as any).code = "BAD_TAIL";
  return e;
}
/** The status a failed card operation means: the card's own errors carry a code; the file system's mean the card is not there. */
function failed(e: any) {
  report(
    e.code == LOG_FULL ? "card full" : e.code ? "error" : "no card",
    e.message + (e.code == LOG_FULL ? "; logging stopped, the card keeps what it has" : "")
  );
}

/** Opens (or makes) the own feed's log on the card; false when there is no usable card (readings then wait in flash). */
function mount(): boolean {
  var fs = board("fs"),
    disk: Disk = { openFile: E.openFile },
    path = state.ident.slice(1, 9) + ".LOG";
  try {
    if (readText(fs, "IDENT.TXT") != state.ident + "\n")
      fs.writeFileSync("IDENT.TXT", state.ident + "\n");
    state.feed = openFeed(openOwnLog(fs, disk, path), E.openFile(path, "r"), state.keys!);
    answerLatest(fs);
    report("logging", path);
    return true;
  } catch (e) {
    state.feed = undefined;
    failed(e);
    return false;
  }
}

/**
 * Kicks the watchdog every ms from a timer of its own. Made out here: a closure keeps
 * the whole scope it was made in, and start()'s holds PIGEON.CFG's text and Storage.
 */
function kickEvery(ms: number) {
  setInterval(function () {
    E.kickWatchdog();
  }, ms);
}

/**
 * Boots the logger: configuration, seed, card; then samples every interval.
 * The configuration comes from PIGEON.CFG in Storage (saved when flashing),
 * else from the card (read with the default SD pins). A bad configuration
 * stops here, with the reason; a missing card is looked for again at each
 * message.
 */
export function start() {
  var S = board("Storage"),
    fs = board("fs"),
    cfg = S.read("PIGEON.CFG"),
    w;
  state.boot = countBoot(S);
  if (typeof setDeepSleep == "function") setDeepSleep(1); // STM32: sleep between timers
  try {
    connectCard(cfg ? parseConfig(cfg).sd : undefined);
    cfg = cfg || readText(fs, "PIGEON.CFG"); // no PIGEON.CFG anywhere: the defaults
    state.config = parseConfig(cfg || "");
    if (state.config.per_message * state.config.sensors.split(",").length > 61)
      throw new Error(
        "PIGEON.CFG: per_message times the number of sensors must be at most 61 (a message holds 64 entries)"
      );
  } catch (e) {
    state.halted = true;
    report("error", (e as Error).message);
    state.config = parseConfig(""); // only to keep blinking the error at the default interval
    state.timer = setInterval(step, state.config.interval * 1000);
    return;
  }
  // a hang reboots the board: the watchdog is kicked by a timer of its own, so deep sleep keeps working
  if ((w = state.config.watchdog)) {
    try {
      E.enableWatchdog(w, false);
      kickEvery(w * 500);
    } catch (e) {
      // a watchdog that cannot start (an STM32 without its LSI clock: "Timeout on LSI ready") is said, and logging goes on
      print("pigeon: no watchdog: " + (e as Error).message);
    }
  }
  // Cortex-M4 boards: the Thumb-2 kernels saved in Storage (E.convolve and JavaScript elsewhere, same bytes)
  state.native = useNative(
    E,
    S,
    typeof process != "undefined" && process.env ? process.env.BOARD : ""
  );
  state.keys = keys(seed(S));
  state.ident = identity(state.keys);
  mount(); // a card that is not there, or not usable, is looked for again at the first message
  state.timer = setInterval(step, state.config.interval * 1000);
}

// ---- LED codes (LED1): logging 1 short blink per message; no card 2; card full 3; error one long ----
declare var LED1: any, digitalWrite: any, setTimeout: any, setDeepSleep: any;
function blink(n: number, ms: number) {
  if (typeof LED1 == "undefined") return;
  for (var i = 0; i < n; i++) {
    setTimeout(
      function () {
        digitalWrite(LED1, 1);
      },
      2 * i * ms + 1
    );
    setTimeout(
      function () {
        digitalWrite(LED1, 0);
      },
      2 * i * ms + ms + 1
    );
  }
}
var CODES: { [status: string]: number } = { logging: 1, "no card": 2, "card full": 3 };

// ---- readings kept in internal flash while there is no card ----
// pigeon.q: lines "boot,t,v1,v2...\n" appended into a file reserved full of 0xFF
// (flash bits only go from 1 to 0: appending never rewrites a byte). When a
// card is back they become messages, in order, then the file is erased. After a
// power cut between those two steps, readings already on the card are skipped
// by their (boot, t), which only grow. The file takes 4 KiB, or what Storage
// has left (a Pico with the kernels and the pull server keeps about 2 KB).
var QUEUE = "pigeon.q",
  QUEUE_ROOM = 4096;
function queued(S: any): string {
  var q = S.read(QUEUE) || "",
    n = q.indexOf("\xff");
  return n < 0 ? q : q.slice(0, n);
}
/** Keeps one reading in flash; false when the queue is full, or Storage has no room for one (the reading is dropped). */
function enqueue(t: number, row: (number | string)[]): boolean {
  var S = board("Storage"),
    f = S.read(QUEUE) || "",
    used = f.indexOf("\xff"),
    room = f.length || Math.min(QUEUE_ROOM, S.getFree() - 128), // a file's header, and a little to spare
    line = state.boot + "," + Math.floor(t) + "," + row.join(",") + "\n";
  if (used < 0) used = f.length;
  if (used + line.length > room) return false;
  if (!used) S.write(QUEUE, line, 0, room);
  else S.write(QUEUE, line, used);
  return true;
}
/** Writes the queued readings onto the card, oldest first, skipping any already there. */
function flushQueue() {
  var S = board("Storage"),
    q = queued(S),
    lines,
    names = state.config.sensors.split(","),
    i,
    f,
    last;
  if (!q) return;
  lines = q.split("\n");
  last = lastStamp();
  for (i = 0; i < lines.length; i++) {
    if (!lines[i]) continue;
    f = lines[i].split(",");
    if (+f[0] < last[0] || (+f[0] == last[0] && +f[1] <= last[1])) continue;
    try {
      appendReading(+f[1], +f[0], names, [f.slice(2)]);
    } catch (e) {
      if ((e as any).code != REFUSED) throw e;
      report("error", (e as Error).message); // never storable: said, and passed over
    }
  }
  S.erase(QUEUE);
}
/** (boot, t) of the newest message on the card. */
function lastStamp(): number[] {
  var feed = state.feed!,
    t = feed.log.next ? find(feed.log, feed.reader, feed.log.next - 1) : "",
    m = /\nt:"(\d+)"\nboot:"(\d+)"/.exec(t || "");
  return m ? [+m[2], +m[1]] : [-1, -1];
}
function appendReading(t0: number, boot: number, names: string[], rows: (number | string)[][]) {
  var t = append(state.feed!, "reading", readingBody(t0, boot, state.config.interval, names, rows));
  report("logging", state.feed!.log.path); // after a refused reading, logging again
  if (typeof PIGEON_ON_APPEND == "function") PIGEON_ON_APPEND(t);
}

/** One sampling: a row of values; every per_message rows, one message onto the card (or into the queue). */
export function step() {
  var c = state.config,
    names = c.sensors.split(","),
    row = [],
    i,
    rows;
  blink(
    state.status == "error" ? 1 : CODES[state.status] || 0,
    state.status == "error" ? 1000 : 60
  );
  if (state.halted || state.status == "card full") return;
  if (!state.rows.length) state.t0 = getTime();
  try {
    for (i = 0; i < names.length; i++) row.push(sample(names[i]));
  } catch (e) {
    state.halted = true;
    report("error", (e as Error).message); // a sensor named in PIGEON.CFG that the board does not have
    return;
  }
  state.rows.push(row);
  if (state.rows.length < c.per_message) return;
  rows = state.rows;
  state.rows = [];
  if (!state.feed && !mount()) {
    for (i = 0; i < rows.length; i++) enqueue(state.t0 + i * c.interval, rows[i]);
    return;
  }
  try {
    flushQueue(); // readings kept while there was no card go first
    appendReading(state.t0, state.boot, names, rows);
  } catch (e) {
    failed(e);
    if (state.status == "card full" || (e as any).code == REFUSED) return; // a refused reading can never be stored: said, and dropped
    // the card went away mid-run, or its log cannot take more: keep the readings in flash and
    // look for the card again next time; connecting the SD card anew drops the dead mount, so a
    // card put back is mounted fresh
    state.feed = undefined;
    if (state.status == "no card") connectCard(state.config.sd);
    for (i = 0; i < rows.length; i++) enqueue(state.t0 + i * c.interval, rows[i]);
  }
}

/**
 * A pull over the console (spec/link.md): the host's request line calls this
 * with its tag, have-line, first depth, most messages and check; the answer
 * is printed. It ends within about half a second, and a reading that fell due
 * meanwhile is taken when it returns.
 */
export function pull(tag: number, have: string, from: number, max: number, check: string) {
  var feed = state.feed,
    con = global[E.getConsole()]; // the console's device (USB, Serial1, Bluetooth): its write sends bytes as they are
  // without the server, the console's "Uncaught Error: ..." line is the answer (spec/link.md)
  if (PIGEON_LINK)
    serve(
      feed && feed.log,
      feed ? feed.reader : (undefined as any),
      state.ident,
      state.status || "not started",
      tag,
      have,
      from,
      max,
      check,
      function (b) {
        con.write(b);
      },
      function () {
        return Date.now();
      }
    );
  else throw new Error("flashed with --no-link");
}
