// npm run flash, offline: the espruino CLI processes the firmware with a local
// board file (-n, -o), and the code it would send still runs in the simulator.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { Board } from "../sim/espruino";
import { readCard } from "../sim/card/read";
import { createImage } from "../sim/card/image";
import { Pigeon } from "./pigeon";
import { bootCode } from "../scripts/pretokenise.mjs";

const root = resolve(__dirname, "..");

const stored = (b: Board, name: string) =>
  Buffer.from(b.load(`require("Storage").read(${JSON.stringify(name)})`) as string, "latin1");
/**
 * What the board does with what npm run flash sent (--out): the Storage files, then load(), which
 * boots from .bootcde: the firmware tokenised (test/pretokenise.test.ts), which the simulator
 * reads back as Espruino's lexer does.
 */
function receive(b: Board, out: string) {
  const sent = readFileSync(out, "latin1"),
    firmware = readFileSync(join(root, "dist/firmware.js"), "latin1");
  expect(sent).toMatch(/\nload\(\)\n$/);
  b.load(sent.replace(/load\(\)\n$/, ""));
  expect(stored(b, ".bootcde").toString("latin1")).toBe(bootCode(firmware));
  b.reboot();
}

describe("npm run flash", () => {
  it("sends the firmware, PIGEON.CFG and the user's sensors; what it sends logs on a simulated Pico", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "pigeon-flash-"));
    const out = join(tmp, "sent.js");
    writeFileSync(join(tmp, "PIGEON.CFG"), "interval=300\nsensors=depth_m,temp\n");
    writeFileSync(
      join(tmp, "sensors.js"),
      "var PIGEON_SENSORS = { depth_m: function () { return 12.5; } };\n"
    );
    const p = spawnSync(
      "node",
      [
        join(root, "scripts/flash.mjs"),
        "--board",
        join(__dirname, "fixtures/board-pico.json"),
        "--config",
        join(tmp, "PIGEON.CFG"),
        "--sensors",
        join(tmp, "sensors.js"),
        "--out",
        out,
      ],
      { encoding: "utf8" }
    );
    expect(p.status, p.stderr + p.stdout).toBe(0);
    const img = await createImage(join(tmp, "card.img"), 32 << 20);
    const b = new Board({ profile: "pico", image: img, clock: 1764000000 });
    receive(b, out);
    // the kernels' blob, byte for byte, for the firmware to bind on Cortex-M4 boards
    expect(
      stored(b, "pigeon.bin").equals(
        readFileSync(join(root, "targets/espruino/native/kernels.bin"))
      )
    ).toBe(true);
    // load() booted it, .boot0 (the sensors) first; it logs on across resets
    b.reboot();
    b.runFor(3600);
    b.reboot();
    b.runFor(3600);
    expect(b.errors).toEqual([]);
    const [feed] = readCard(img);
    expect(feed.messages.length).toBe(24);
    for (const t of feed.messages) expect(Pigeon.verify(t)).toBe(true);
    expect(feed.messages[0]).toContain('\ndepth_m:"12.5"\ntemp:"');
    expect(feed.messages[23]).toContain('\nboot:"3"\n');
  });
  it("--new-seed saves 32 random bytes as the board's seed, and the board signs with them", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "pigeon-flash-"));
    const out = join(tmp, "sent.js");
    const p = spawnSync(
      "node",
      [
        join(root, "scripts/flash.mjs"),
        "--board",
        join(__dirname, "fixtures/board-pico.json"),
        "--new-seed",
        "--out",
        out,
      ],
      { encoding: "utf8" }
    );
    expect(p.status, p.stderr + p.stdout).toBe(0);
    const img = await createImage(join(tmp, "card.img"), 32 << 20);
    const b = new Board({ profile: "esp32", image: img, clock: 1764000000 });
    receive(b, out);
    const seed = stored(b, "pigeon.seed");
    expect(seed.length).toBe(32);
    b.runFor(600);
    const [feed] = readCard(img);
    expect(feed.author).toBe(Pigeon.identity(Uint8Array.from(seed)));
  });
  it("refuses to run without a board and a port or --out", () => {
    const p = spawnSync("node", [join(root, "scripts/flash.mjs")], { encoding: "utf8" });
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(/usage: npm run flash/);
  });
});
