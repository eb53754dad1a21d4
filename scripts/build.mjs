// npm run build: the device bundle dist/pigeon.js (ES5, minified, global
// Pigeon). esbuild bundles the TypeScript as one flat module, TypeScript 5.9
// lowers it to ES5 (esbuild cannot lower let/const/classes that far), and
// esbuild minifies. The entry's exports become the global object's members.
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { buildNative } from "./native.mjs";
import { bundleES5, countFirmwareLookups, keptLookups, LOOKUPS, NODE_BUNDLE } from "./bundle.mjs";
import { bootCode } from "./pretokenise.mjs";

const root = new URL("..", import.meta.url).pathname;

/**
 * The firmware's lookups (scripts/scope.mjs): counted again where the kernels can run, and kept in
 * targets/espruino/lookups.json when they changed; elsewhere as last kept there.
 */
async function firmwareLookups() {
  const kept = keptLookups(),
    { text, missing } = await countFirmwareLookups();
  if (missing) {
    console.log(`targets/espruino/lookups.json kept (${missing})`);
    return JSON.parse(kept);
  }
  if (text !== kept) writeFileSync(LOOKUPS, text);
  console.log(
    `targets/espruino/lookups.json ${text === kept ? "counted again, the same" : "updated"}`
  );
  return JSON.parse(text);
}

mkdirSync(root + "dist", { recursive: true });
// the Thumb-2 blob, checked against its sources, and the harness that runs it under qemu-arm
buildNative();
const core = await bundleES5("src/index.ts", "Pigeon");
writeFileSync(root + "dist/pigeon.js", core);
console.log(`dist/pigeon.js ${core.length} bytes`);
// the logger: core + card store + the sampling loop, as a board (or the simulator) runs it, its names made hottest first
const lookups = await firmwareLookups();
const logger = await bundleES5("targets/espruino/firmware.ts", "PigeonLogger", {
  firmware: true,
  lookups,
});
writeFileSync(root + "dist/logger.js", logger);
console.log(`dist/logger.js ${logger.length} bytes`);
// the flashable firmware: saved as .bootcde, so every boot starts the logger
const firmware = logger + "PigeonLogger.start();\n";
writeFileSync(root + "dist/firmware.js", firmware);
console.log(
  `dist/firmware.js ${firmware.length} bytes (${bootCode(firmware).length} in a board's Storage, tokenised)`
);
// the same without the pull server (npm run flash -- --no-link): room in a Pico's Storage for a larger sensor driver
const noLink =
  (await bundleES5("targets/espruino/firmware.ts", "PigeonLogger", {
    firmware: true,
    link: false,
    lookups,
  })) + "PigeonLogger.start();\n";
writeFileSync(root + "dist/firmware-nolink.js", noLink);
console.log(`dist/firmware-nolink.js ${noLink.length} bytes`);
// a reading in marked steps, for npm run emu -- --profile (not shipped): the firmware with bench/board.ts
writeFileSync(
  root + "dist/board-bench.js",
  (await bundleES5("bench/board.ts", "PigeonLogger", { firmware: true, lookups })) +
    "PigeonLogger.start();\n"
);
// the store timed under duk by the benchmark (not shipped)
writeFileSync(root + "dist/card-duk.js", await bundleES5("bench/card-duk.ts", "CardBench"));
// the simulator and host tools, for Node (npm start runs dist/sim.mjs)
for (const [entry, out] of [
  ["sim/main.ts", "dist/sim.mjs"],
  ["bench/card.ts", "dist/card-bench.mjs"],
  ["sim/fleet-main.ts", "dist/fleet.mjs"],
  ["bench/native.ts", "dist/native-bench.mjs"],
  ["bench/link.ts", "dist/link-bench.mjs"],
  ["targets/node/cli.ts", "dist/pigeon-cli.mjs"],
  ["targets/node/checker.ts", "dist/pigeon-checker.mjs"],
  ["emu/main.ts", "dist/emu.mjs"],
])
  await build({ entryPoints: [root + entry], outfile: root + out, ...NODE_BUNDLE });

// the card viewer (targets/web/): one HTML file with its styles, the page's
// script, and the worker's (the core dist/pigeon.js, then the worker) in a
// script element the page starts from a blob
const browser = (entry, extra = {}) =>
  build({
    entryPoints: [root + entry],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "es2020",
    minify: true,
    legalComments: "none",
    logLevel: "warning",
    define: { "import.meta.url": '"about:blank"' },
    ...extra,
  }).then((r) => r.outputFiles[0].text);
const workerJs = core + (await browser("targets/web/worker.ts"));
const mainJs = await browser("targets/web/main.ts", {
  define: { "import.meta.url": '"about:blank"', WORKER_SOURCE_ID: '"pigeon-worker"' },
});
const css =
  readFileSync(
    dirname(createRequire(import.meta.url).resolve("uplot")) + "/uPlot.min.css",
    "utf8"
  ) + readFileSync(root + "targets/web/viewer.css", "utf8");
for (const [what, text] of [
  ["worker", workerJs],
  ["page", mainJs],
  ["styles", css],
])
  if (/<\/(script|style)|<!--/i.test(text))
    throw new Error(`viewer: the ${what} holds text that would end its element early`);
const viewer = readFileSync(root + "targets/web/viewer.html", "utf8")
  .replace("/*STYLE*/", () => css)
  .replace("/*WORKER*/", () => workerJs)
  .replace("/*MAIN*/", () => mainJs);
writeFileSync(root + "dist/viewer.html", viewer);
console.log(`dist/viewer.html ${viewer.length} bytes`);
