// npm run flash -- --port <serial port> [--config PIGEON.CFG] [--sensors my-sensors.js]
// npm run flash -- --board <BOARD or board.json> --out file.js [...]
// Uploads the logger firmware (dist/firmware.js, or dist/firmware-nolink.js with --no-link) with the espruino CLI
// (espruino-tools), tokenised (scripts/pretokenise.mjs), into Storage as the boot code
// (.bootcde, run at every boot; functions parsed from flash keep their code
// there), then starts it (load()). It sets the board's clock (-t), and can save a PIGEON.CFG and your
// own sensor functions (.boot0, run before the firmware, minified) into Storage.
// It also saves the Thumb-2 kernels (pigeon.bin), which the firmware uses on
// Cortex-M4 boards. --new-seed saves a seed made by this computer's CSPRNG (node:crypto) as the
// board's key: an ESP32's E.hwRand is plain rand(), too weak to make one.
// With --out it connects to nothing and writes what it would send for --board.
// With --port the CLI asks the board itself (process.env): given --board, it
// would take the firmware version from the board file instead, and with none
// there (a local file, or no internet to fetch espruino.com's) it uploads the
// old way, by E.setBootCode, which saves nothing of a 28 KB firmware on a Pico
// (found on the emulated Pico, npm run emu); the firmware now goes as a Storage file, as the kernels do. For a serial or tcp:// port (and
// --out) the CLI is told --no-ble, so that it does not look for D-Bus, which
// a machine without Bluetooth lacks; a Bluetooth address keeps it.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { join } from "node:path";
import { bootCode } from "./pretokenise.mjs";
import { sensorCode } from "./sensors.mjs";

const require = createRequire(import.meta.url);
const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const port = opt("--port"),
  board = opt("--board"),
  out = opt("--out"),
  config = opt("--config"),
  sensors = opt("--sensors");
if (port ? out : !(board && out)) {
  console.error(
    "usage: npm run flash -- --port <serial port> [--config PIGEON.CFG] [--sensors file.js] [--new-seed] [--no-link]\n" +
      "       npm run flash -- --board <BOARD name or board.json> --out file.js [...]: writes what would be sent instead of connecting (no board needed)"
  );
  process.exit(2);
}
for (const f of [config, sensors])
  if (f && !existsSync(f)) (console.error(`flash: ${f}: no such file`), process.exit(2));
let seedFile, sensorsFile;
if (sensors) {
  // minified, as Storage is scarce on a Pico (scripts/sensors.mjs)
  sensorsFile = join(mkdtempSync(join(tmpdir(), "pigeon-sensors-")), "sensors.js");
  writeFileSync(sensorsFile, sensorCode(readFileSync(sensors, "utf8")));
}
if (args.includes("--new-seed")) {
  // written for the CLI to upload, then never kept: the seed lives only in the board's flash
  seedFile = join(mkdtempSync(join(tmpdir(), "pigeon-seed-")), "seed.bin");
  writeFileSync(seedFile, randomBytes(32), { mode: 0o600 });
}
// --no-link: the firmware without its pull server (spec/link.md), 2.6 KB less of a Pico's 48 KB of Storage for sensor code
const firmware = join(
  root,
  args.includes("--no-link") ? "dist/firmware-nolink.js" : "dist/firmware.js"
);
if (!existsSync(firmware))
  spawnSync("node", [join(root, "scripts/build.mjs")], { stdio: "inherit" });
// the boot code as a Storage file, and what the CLI then runs: reset() first (its default), load() last
const sendDir = mkdtempSync(join(tmpdir(), "pigeon-flash-")),
  bootFile = join(sendDir, "bootcde"),
  loadFile = join(sendDir, "load.js");
writeFileSync(bootFile, bootCode(readFileSync(firmware, "latin1")), "latin1");
writeFileSync(loadFile, "load()\n");
const cli = join(require.resolve("espruino/package.json"), "../bin/espruino-cli.js");
const p = spawnSync(
  "node",
  [
    cli,
    ...(out ? ["-n", "-o", out, "--board", board] : ["-p", port, "-t"]),
    ...(out || /^(\/dev\/|tcp:\/\/|COM\d)/i.test(port) ? ["--no-ble"] : []),
    ...(config ? ["--storage", `PIGEON.CFG:${config}`] : []),
    ...(sensorsFile ? ["--storage", `.boot0:${sensorsFile}`] : []),
    ...(seedFile ? ["--storage", `pigeon.seed:${seedFile}`] : []),
    // the Thumb-2 kernels: the firmware binds them on Cortex-M4 boards (Pico, WiFi, nRF52) and leaves them alone elsewhere
    "--storage",
    `pigeon.bin:${join(root, "targets/espruino/native/kernels.bin")}`,
    "--storage",
    `.bootcde:${bootFile}`,
    loadFile,
  ],
  { stdio: "inherit" }
);
if (seedFile) writeFileSync(seedFile, Buffer.alloc(32)); // overwrite the copy on this computer
rmSync(sendDir, { recursive: true, force: true });
process.exit(p.status ?? 1);
