// npm run flash -- --port <serial port> --board <BOARD or board.json> [--out file.js]
// Uploads the device bundle into the board's Storage (flash, not RAM) with the
// espruino CLI (espruino-tools), where code loaded with
// eval(require("Storage").read("pigeon.js")) keeps its function bodies in flash.
// With --out it connects to nothing and writes what it would send.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const port = opt("--port"), board = opt("--board"), out = opt("--out");
if (!board || (!port && !out)) {
  console.error("usage: npm run flash -- --port <serial port> --board <BOARD name or board.json> [--out file.js]\n" +
    "  --out writes what would be sent instead of connecting (no board needed)");
  process.exit(2);
}
const bundle = join(root, "dist/pigeon.js");
if (!existsSync(bundle)) spawnSync("node", [join(root, "scripts/build.mjs")], { stdio: "inherit" });
const cli = join(require.resolve("espruino/package.json"), "../bin/espruino-cli.js");
const p = spawnSync(
  "node",
  [cli, ...(out ? ["-n", "-o", out] : ["-p", port]), "--board", board, "--storage", `pigeon.js:${bundle}`,
    "-e", 'print("pigeon.js in Storage: " + require("Storage").read("pigeon.js").length + " bytes")'],
  { stdio: "inherit" },
);
process.exit(p.status ?? 1);
