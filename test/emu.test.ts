// The firmware on Espruino's own firmware images for the Pico and the WiFi,
// under the emulator toolkit's QEMU (PIGEON_EMU, or ../shared/emu): booted
// from Storage as a flashed board keeps it, logging onto a mkfs.fat card on
// SPI1; the host reads the card back. Skipped, saying why, where the toolkit is
// absent. Runs are deterministic (no console input), so counts and bytes repeat.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensure } from "../scripts/debian.mjs";
import { bootCode } from "../scripts/pretokenise.mjs";
// @ts-ignore: a build script
import { sensorCode } from "../scripts/sensors.mjs";
import { loggerBoard } from "../sim/loggerboard";
import { cardSummary } from "../sim/summary";
import { openLog } from "../src/log";
import { readGeometry } from "../sim/card/device";
import { openImage } from "../sim/card/image";
import { MemDisk } from "../sim/card/memdisk";
import {
  BLOB,
  emulate,
  Emulated,
  FIRMWARE,
  fsck,
  hooks,
  makeCard,
  notShortNames,
  removeScratch,
  scratchDir,
  SD_PINS,
  STEADY_SENSORS,
  storageFile,
} from "../emu/board";
import { cutAndCheck, cutPoint, lostClusters, writesOf } from "../emu/cuts";
import { findToolkit, flashImage, runQemu, type Toolkit } from "../emu/qemu";
import { prng } from "../sim/prng";
import { checkFeed } from "./feed";

const kit = findToolkit();
const absent = typeof kit === "string" ? kit : "";
if (absent) console.log(`emulated-board tests skipped: ${absent}`);
const K = kit as Toolkit;
const root = resolve(__dirname, "..");
const LONG = 20 * 60 * 1000;
const SEED = Uint8Array.from({ length: 32 }, (_, i) => (i * 29 + 3) & 255);
const CLOCK = 1767225600; // the emulator's RTC at power-on: 2026-01-01T00:00:00Z
const config = (extra = "") => `sd=${SD_PINS}\ninterval=1\nlog_mb=4\n${extra}`;

beforeAll(() => {
  expect(ensure(["fsck.fat", "mkfs.fat"])).toEqual([]);
});
afterAll(removeScratch); // the runs' card and flash images

/** The board's own complaints: anything it printed but logging (and the emulator's missing watchdog). */
const complaints = (r: Emulated) =>
  r.lines.filter((l) => !/^pigeon: (logging|no watchdog: Timeout on LSI ready)/.test(l));

/** The card, checked as a collector would: verified (0 refused), nothing lost, fsck.fat clean, 8.3 names; its messages. */
async function checkCard(r: Emulated, messages: number) {
  const s = cardSummary(await openImage(r.card));
  expect(s.refused).toBe(0);
  expect(s.messages.length).toBe(messages);
  expect(s.feeds.map((f) => f.bad)).toEqual([[]]);
  checkFeed(s.messages);
  const f = fsck(r.card);
  expect(f.clean, f.output).toBe(true);
  expect(notShortNames(r.card)).toEqual([]);
  return s.messages;
}

describe.skipIf(!!absent)("the logger on Espruino's own Pico and WiFi firmware, emulated", () => {
  for (const board of ["pico", "wifi"] as const)
    it(
      `${board}: boots from Storage, binds the kernels, logs 30 readings; the host verifies the card (0 refused), fsck.fat -n is clean, names are 8.3`,
      async () => {
        const r = await emulate(K, {
          board,
          config: config(),
          readings: 30, // 100 in npm run emu -- --figures; 30 keep CI within its time
          native: true,
          timeout: 900,
        });
        expect(r.run.done, r.run.console.slice(-1500)).toBe(true);
        expect(complaints(r)).toEqual([]);
        expect(r.native).toBe(true);
        expect(r.readings.length).toBe(30);
        const messages = await checkCard(r, 30);
        // every acknowledged reading is on the card
        expect(r.acks.map((a) => a[0])).toEqual(messages.map((_, d) => d));
        expect(r.acks.map((a) => a[1])).toEqual(messages.map((t) => t.slice(-33, -13)));
      },
      LONG
    );

  it(
    "pico: the same configuration, seed and sensor values give the simulator's card: the log file byte for byte, the same sector writes in the same order",
    async () => {
      // the log's epoch is E.hwRand's at its making: read from the real card, it is given to the simulated board's E.hwRand;
      // the clock is the hooks' (a 10-minute logger's times at any speed), the sensor values STEADY_SENSORS'
      const pristine = join(scratchDir("pigeon-emu-"), "pristine.img");
      makeCard(pristine, 128);
      const r = await emulate(K, {
        board: "pico",
        config: config(),
        readings: 12,
        native: true,
        seed: SEED,
        sensors: STEADY_SENSORS,
        clock: CLOCK,
        cardFrom: pristine,
        timeout: 600,
      });
      expect(r.run.done, r.run.console.slice(-1500)).toBe(true);
      const real = await openImage(r.card),
        name = real.readdir("")!.find((e) => /\.LOG$/.test(e.name))!.name,
        disk = new MemDisk();
      disk.files.set(name, real.readFile(name)!);
      const epoch = openLog(disk, name).epoch;
      const sim = await openImage(pristine);
      sim.device.trace = [];
      const b = loggerBoard({
        profile: "pico",
        image: sim,
        clock: CLOCK,
        seedBytes: [...SEED],
        config: config(),
        before:
          STEADY_SENSORS +
          hooks(12, { marks: false, clock: CLOCK }) +
          `E.hwRand = function () { return ${epoch}; };\n`,
      });
      b.runFor(60);
      expect(b.errors).toEqual([]);
      expect(b.output.filter((l) => /^<<ACK/.test(l))).toEqual(
        r.run.console.match(/<<ACK [^>]*>>/g)
      );
      expect(Buffer.compare(sim.readFile(name)!, real.readFile(name)!), "the log file").toBe(0);
      expect(sim.readFile("IDENT.TXT")).toEqual(real.readFile("IDENT.TXT"));
      // the sectors written, in order: the log's making (FAT, directory, header), then each append's slot and directory entry
      const writes = r.writes.flatMap((w) =>
        Array.from({ length: w.count }, (_, i) => w.sector + i)
      );
      expect(sim.device.trace.map((t) => t[0])).toEqual(writes);
      // the whole card: the same but for the directory entries' times (the real board's clock ran during its boot)
      const g = readGeometry(real.buffer)!,
        root = [g.firstRootSector * 512, g.firstDataSector * 512];
      const untimed = (b: Buffer) => {
        const c = Buffer.from(b);
        for (let e = root[0]; e < root[1]; e += 32)
          c.fill(0, e + 13, e + 20).fill(0, e + 22, e + 26);
        return c;
      };
      expect(
        Buffer.compare(untimed(sim.buffer), untimed(real.buffer)),
        "the card outside the directory entries' times"
      ).toBe(0);
    },
    LONG
  );

  it(
    "pico: the kernels bound at the blob's flash address give the same messages as the JavaScript way without them",
    async () => {
      const run = (native: boolean) =>
        emulate(K, {
          board: "pico",
          config: config(),
          readings: 2,
          native,
          seed: SEED,
          sensors: STEADY_SENSORS,
          clock: CLOCK,
          timeout: 900,
        });
      const [withK, without] = [await run(true), await run(false)];
      for (const r of [withK, without]) {
        expect(r.run.done, r.run.console.slice(-1500)).toBe(true);
        expect(complaints(r)).toEqual([]);
      }
      expect([withK.native, without.native]).toEqual([true, false]);
      expect(await checkCard(without, 2)).toEqual(await checkCard(withK, 2));
    },
    LONG
  );

  it(
    "pico: a user's sensor module of realistic size (a 140-line BME280 driver) fits in Storage beside the firmware as npm run flash saves it (tokenised, with its pull server), and runs alongside for 100 readings without running out of memory",
    async () => {
      // as npm run flash saves it: the driver minified (scripts/sensors.mjs); before the firmware went tokenised, only --no-link left room for it
      const driver = sensorCode(
        BUS + readFileSync(join(__dirname, "fixtures/bme280.js"), "latin1")
      );
      const r = await emulate(K, {
        board: "pico",
        config: config("sensors=bme_t,bme_p,bme_h,dew\n"),
        readings: 100,
        native: true,
        sensors: driver,
        timeout: 900,
      });
      expect(r.run.done, r.run.console.slice(-1500)).toBe(true);
      expect(complaints(r)).toEqual([]);
      expect(r.run.console).not.toMatch(/OUT OF MEMORY|LOW_MEMORY|MEMORY/);
      const messages = await checkCard(r, 100);
      expect(messages[99]).toContain(
        '\nbme_t:"25.082"\nbme_p:"1006.533"\nbme_h:"41.944"\ndew:"11.246"\n'
      ); // as Node computes them
    },
    LONG
  );
});

describe.skipIf(!!absent)("power cuts on the emulated Pico, and the CLI path", () => {
  it(
    "seeded power cuts while the board writes (the log's making, a slot, a directory entry): after each, the board logs on; no acknowledged reading is lost, the chain verifies, fsck.fat is clean (but for unused clusters after a cut making: spec/card.md)",
    async () => {
      // npm run emu -- --cuts 50 does the same over more cuts, index sectors included
      const o = {
        board: "pico" as const,
        config: config(),
        readings: 8,
        native: true,
        sensors: STEADY_SENSORS,
      };
      const ref = await emulate(K, { ...o, timeout: 600 });
      expect(ref.run.done).toBe(true);
      const writes = await writesOf(ref),
        rnd = prng(20);
      expect(new Set(writes.map((w) => w.kind))).toEqual(new Set(["making", "slot", "directory"]));
      for (let i = 0; i < 3; i++) {
        const p = cutPoint(writes, i, rnd),
          c = await cutAndCheck(K, o, p.at, p.kind, 2);
        expect(c.wrong, `cut ${i} at ${p.at} (${p.kind})`).toBe("");
        expect(c.messages).toBeGreaterThanOrEqual(c.acked + 2);
        if (p.kind != "making") expect(c.lostClusters).toBe(0);
      }
    },
    LONG
  );

  it("fsck.fat's report of unused clusters alone is told apart from any other", () => {
    const head = "fsck.fat 4.2 (2021-01-31)\n",
      tail = "\nLeaving filesystem unchanged.\n/tmp/c.img: 3 files, 1540/65443 clusters";
    expect(
      lostClusters(head + "Reclaimed 1534 unused clusters (3141632 bytes) in 1 chain." + tail)
    ).toBe(1534);
    expect(
      lostClusters(
        head +
          "Reclaimed 1534 unused clusters (3141632 bytes) in 1 chain.\n/X.LOG\n  File size is 0 bytes, cluster chain length is > 0 bytes." +
          tail
      )
    ).toBe(0);
    expect(lostClusters(head + tail)).toBe(0);
  });

  it(
    "npm run flash over the emulated serial port (the espruino CLI) saves the Storage files these tests put there, and the board logs from them",
    async () => {
      const dir = scratchDir("pigeon-cli-"),
        flash = join(dir, "flash.img"),
        card = join(dir, "card.img");
      writeFileSync(flash, flashImage(K.firmware("pico").image, "pico", []));
      writeFileSync(join(dir, "PIGEON.CFG"), config());
      writeFileSync(
        join(dir, "sensors.js"),
        "// the user's sensor\nvar PIGEON_SENSORS = { depth_m: function () { return 12.5; } };\n"
      );
      const port = await freePort();
      let stop = () => {};
      const q = runQemu({
        kit: K,
        board: "pico",
        flash,
        timeout: 600,
        serialTcp: port,
        started: (s) => (stop = s),
      });
      await waitForPort(port);
      // not spawnSync: this process must keep draining QEMU's pipes meanwhile
      const cli = await new Promise<{ status: number | null; stdout: string }>((done) => {
        const c = spawn("node", [
          join(root, "scripts/flash.mjs"),
          "--port",
          `tcp://127.0.0.1:${port}`,
          "--config",
          join(dir, "PIGEON.CFG"),
          "--sensors",
          join(dir, "sensors.js"),
        ]);
        let out = "";
        c.stdout.on("data", (d) => (out += d));
        c.stderr.on("data", (d) => (out += d));
        c.on("close", (status) => done({ status, stdout: out }));
      });
      expect(cli.status, cli.stdout).toBe(0);
      // the board takes the upload at its baud rate, then load() starts the firmware, which makes its seed
      for (let t = 0; t < 300 && !storageFile(flash, "pico", "pigeon.seed"); t++)
        await new Promise((r) => setTimeout(r, 1000));
      stop();
      await q;
      expect(storageFile(flash, "pico", "pigeon.seed"), cli.stdout).toBeDefined();
      expect(storageFile(flash, "pico", ".bootcde")).toEqual(
        Buffer.from(bootCode(readFileSync(FIRMWARE, "latin1")), "latin1")
      );
      expect(storageFile(flash, "pico", "pigeon.bin")).toEqual(readFileSync(BLOB));
      expect(storageFile(flash, "pico", "PIGEON.CFG")!.toString("latin1")).toBe(config());
      expect(storageFile(flash, "pico", ".boot0")!.toString("latin1")).toBe(
        sensorCode(readFileSync(join(dir, "sensors.js"), "utf8"))
      );
      expect(storageFile(flash, "pico", "pigeon.seed")!.length).toBe(32);
      // powered up again with a card: it logs (the CLI set its clock; the emulator's RTC starts over)
      makeCard(card, 128);
      const r = await runQemu({
        kit: K,
        board: "pico",
        flash,
        card,
        timeout: 300,
        until: "pigeon: logging",
      });
      expect(r.done, r.console.slice(-1000)).toBe(true);
    },
    LONG
  );
});

async function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => done(p));
    });
  });
}
async function waitForPort(port: number) {
  for (let t = 0; t < 100; t++) {
    const ok = await new Promise((done) => {
      const c = connect(port, "127.0.0.1", () => (c.end(), done(true))).on("error", () =>
        done(false)
      );
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`nothing listens on ${port}`);
}

/**
 * The BME280's registers as a real part answers (the datasheet's calibration example), for the
 * driver in test/fixtures/bme280.js: the emulator has no I2C, so the board is given this bus.
 */
const BUS = (() => {
  const reg = new Uint8Array(256),
    le = (at: number, ...v: number[]) =>
      v.forEach((x, i) => ((reg[at + 2 * i] = x & 255), (reg[at + 2 * i + 1] = (x >> 8) & 255)));
  reg[0xd0] = 0x60;
  le(0x88, 27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000);
  reg[0xa1] = 75;
  le(0xe1, 362);
  reg.set([0, 0x13, 0x3a, 0x03, 30], 0xe3); // H3 0, H4 313, H5 50, H6 30
  reg.set([0x65, 0x5a, 0xc0, 0x7e, 0xed, 0x00, 0x6c, 0x4c], 0xf7); // pressure 415148, temperature 519888, humidity 27724
  const blocks = [
    [0x88, 0xa2],
    [0xd0, 0xd1],
    [0xe1, 0xe8],
    [0xf7, 0xff],
  ]
    .map(([a, b]) => `R.set([${[...reg.subarray(a, b)].join(",")}], ${a});`)
    .join(" ");
  return `var R = new Uint8Array(256); ${blocks}
var BME280_BUS = { reg: 0, writeTo: function (a, d) { this.reg = typeof d == "number" ? d : d[0]; }, readFrom: function (a, n) { return new Uint8Array(R.buffer, this.reg, n); } };
`;
})();
