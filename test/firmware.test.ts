// The firmware's field behaviour on simulated Pico and ESP32 boards: LED codes,
// the watchdog, the queue in flash while there is no card, and a week of logging.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Board } from "../sim/espruino";
import { loggerBoard } from "../sim/loggerboard";
import { readCard } from "../sim/card/read";
import { createImage, FatImage } from "../sim/card/image";
import { Pigeon } from "./pigeon";

const tmp = mkdtempSync(join(tmpdir(), "pigeon-fw-"));
let blank: Buffer;
beforeAll(async () => {
  blank = Buffer.from((await createImage(join(tmp, "blank.img"), 32 << 20)).buffer);
});
const card = (name: string) => FatImage.fromBuffer(join(tmp, name), Buffer.from(blank));
const SEED = Array.from({ length: 32 }, (_, i) => 200 - i);

/** LED1 blinks from time a to b: [count, longest on-time in ms]. */
function blinks(b: Board, from: number, to: number): [number, number] {
  const ev = b.leds.filter((e) => e.led === "LED1" && e.t >= from && e.t < to);
  let n = 0,
    longest = 0,
    on = -1;
  for (const e of ev) {
    if (e.value && on < 0) ((on = e.t), n++);
    else if (!e.value && on >= 0)
      ((longest = Math.max(longest, Math.round((e.t - on) * 1000))), (on = -1));
  }
  return [n, longest];
}

describe("firmware field behaviour", () => {
  it("LED codes: one blink per message logged, two with no card, three with a full card, one long on an error", async () => {
    const t0 = 1764000000;
    const ok = loggerBoard({
      profile: "pico",
      image: await card("led.img"),
      clock: t0,
      seedBytes: SEED,
    });
    ok.runFor(3 * 600 + 5);
    expect(blinks(ok, t0 + 1200, t0 + 1205)).toEqual([1, 60]);
    const none = loggerBoard({ profile: "pico", image: null, clock: t0, seedBytes: SEED });
    none.runFor(3 * 600 + 5);
    expect(blinks(none, t0 + 1200, t0 + 1205)).toEqual([2, 60]);
    const full = loggerBoard({
      profile: "bare",
      image: await card("ledfull.img"),
      clock: t0,
      seedBytes: SEED,
      config: "log_mb=1\ninterval=1\n",
    });
    full.runFor(3600);
    expect(full.output.join("\n")).toMatch(/card full/);
    expect(blinks(full, t0 + 3590, t0 + 3591)).toEqual([3, 60]);
    const err = loggerBoard({
      profile: "pico",
      image: await card("lederr.img"),
      clock: t0,
      seedBytes: SEED,
      config: "sensors=nothere\n",
    });
    err.runFor(3 * 600 + 5);
    expect(err.output.join("\n")).toMatch(/pigeon: error: unknown sensor nothere/);
    expect(blinks(err, t0 + 1200, t0 + 1205)).toEqual([1, 1000]);
  });

  it("the watchdog reboots a board whose sensor hangs, and logging goes on after the reboot", async () => {
    const img = await card("wd.img");
    const hang =
      "var PIGEON_SENSORS = { flaky: function () { if (getTime() > 1764003000 && getTime() < 1764003700) for (;;); return 1; } };";
    const b = loggerBoard({
      profile: "pico",
      image: img,
      clock: 1764000000,
      seedBytes: SEED,
      config: "sensors=flaky\nwatchdog=30\n",
      before: hang,
      cpuLimitMs: 2000, // a hang is an endless loop: a long limit still catches it, and a loaded machine is not a hang
    });
    b.runFor(2 * 3600);
    expect(b.resets.map((r) => r.reason)).toContain("watchdog");
    const [feed] = readCard(img);
    expect(feed.messages.length).toBeGreaterThan(8);
    for (const t of feed.messages) expect(Pigeon.verify(t)).toBe(true);
    expect(feed.messages.at(-1)).toContain('\nboot:"2"\n'); // the first boot, then the watchdog's
  });

  it("a watchdog that cannot start is reported, and logging goes on without it", async () => {
    // the emulated Pico's firmware throws this from E.enableWatchdog (no LSI clock); a board whose LSI fails does too
    const img = await card("nowd.img");
    const broken = 'E.enableWatchdog = function () { throw new Error("Timeout on LSI ready"); };';
    const b = loggerBoard({
      profile: "pico",
      image: img,
      clock: 1764000000,
      seedBytes: SEED,
      before: broken,
    });
    b.runFor(3 * 600);
    expect(b.output).toContain("pigeon: no watchdog: Timeout on LSI ready");
    expect(b.errors).toEqual([]);
    expect(readCard(img)[0].messages.length).toBe(3);
  });

  it("a reading the message format refuses (a sensor's string with a control character) is said and dropped; the next ones are logged", async () => {
    const img = await card("refused.img");
    const odd =
      'var PIGEON_N = 0; var PIGEON_SENSORS = { odd: function () { return ++PIGEON_N == 2 ? "a\\u0001b" : "ok" + PIGEON_N; } };';
    const b = loggerBoard({
      profile: "pico",
      image: img,
      clock: 1764000000,
      seedBytes: SEED,
      config: "sensors=odd\n",
      before: odd,
    });
    b.runFor(4 * 600);
    expect(b.output.join("\n")).toMatch(
      /pigeon: error: a reading the message format refuses: draft: line 9: control character in string/
    );
    expect(b.output.at(-1)).toMatch(/^pigeon: logging/);
    const [feed] = readCard(img);
    expect(feed.messages.map((t) => /\nodd:"(\w+)"/.exec(t)![1])).toEqual(["ok1", "ok3", "ok4"]);
    expect(b.load(`require("Storage").read("pigeon.q")`)).toBeUndefined(); // nothing kept for later
  });

  it("the boot count only grows: a full count file starts again from the count reached, an older firmware's is carried on, and no room for it is said while logging goes on", async () => {
    const b = loggerBoard({ profile: "pico", image: null, clock: 1764000000, seedBytes: SEED });
    const boot = () => b.load("PigeonLogger.state.boot");
    const write = (name: string, data: string, size?: number) =>
      b.load(
        `require("Storage").write(${JSON.stringify(name)}, ${JSON.stringify(data)}, 0${size ? `, ${size}` : ""})`
      );
    expect(boot()).toBe(1);
    b.reboot("power-on");
    expect(boot()).toBe(2);
    write("pigeon.boots", "7," + "\0".repeat(254)); // 256 bytes: full after 254 boots from 7
    b.reboot("power-on");
    expect(boot()).toBe(262);
    b.reboot("power-on");
    expect(boot()).toBe(263);
    write("pigeon.boots", "\0".repeat(10), 2048); // the older firmware's file: ten boots, no count before them
    b.reboot("power-on");
    expect(boot()).toBe(11);
    b.reboot("power-on");
    expect(boot()).toBe(12);
    b.load(`require("Storage").erase("pigeon.boots"); require("Storage").compact()`);
    write("filler", "x", (b.load(`require("Storage").getFree()`) as number) - 64);
    b.reboot("power-on");
    expect(boot()).toBe(0);
    expect(b.output.join("\n")).toMatch(/pigeon: no boot count: /);
    b.runFor(180);
    expect(b.errors).toEqual([]);
    expect(b.output.at(-1)).toMatch(/^pigeon: no card/);
  });

  it("the queue in flash is bounded: readings beyond it are dropped, the ones kept are written in order", async () => {
    const b = loggerBoard({
      profile: "pico",
      image: null,
      clock: 1764000000,
      seedBytes: SEED,
      config: "interval=60\n",
    });
    b.runFor(400 * 60);
    const kept = b.load(`require("Storage").read("pigeon.q").indexOf("\\xff")`) as number;
    expect(kept).toBeGreaterThan(4000);
    expect(kept).toBeLessThanOrEqual(4096);
    const img = await card("queue.img");
    b.insertCard(img);
    b.runFor(60);
    const [feed] = readCard(img);
    const times = feed.messages.map((t) => Number(/\nt:"(\d+)"/.exec(t)![1]));
    expect(feed.messages.length).toBeGreaterThan(100);
    expect(feed.messages.length).toBeLessThan(400);
    expect(times[0]).toBe(1764000060);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(b.load(`require("Storage").read("pigeon.q")`)).toBeUndefined();
  });

  for (const profile of ["pico", "esp32"] as const)
    it(`logs a simulated week on the ${profile} profile: the card verifies and readings are in order`, async () => {
      const img = await card(`${profile}-week.img`);
      const b = loggerBoard({ profile, image: img, clock: 1764000000 });
      b.runFor(7 * 86400 + 1);
      expect(b.errors).toEqual([]);
      const [feed] = readCard(img);
      expect(feed.messages.length).toBe(7 * 144);
      const times = feed.messages.map((t) => Number(/\nt:"(\d+)"/.exec(t)![1]));
      expect(times).toEqual(times.map((_, i) => 1764000600 + 600 * i));
      feed.messages.forEach((t, d) => {
        expect(Pigeon.refusal(t)).toBe("");
        expect(t).toContain(`\ndepth ${d}\n`);
      });
      expect(blinks(b, 1764000000, 1764000000 + 7 * 86400 + 1)[0]).toBe(7 * 144);
    });
});
