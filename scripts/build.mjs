// npm run build: the device bundle dist/pigeon.js (ES5, minified, global
// Pigeon). esbuild bundles the TypeScript as one flat module, TypeScript 5.9
// lowers it to ES5 (esbuild cannot lower let/const/classes that far), and
// esbuild minifies. The entry's exports become the global object's members.
import { build, transform } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import ts from "typescript";
import { buildNative } from "./native.mjs";
import { checkHoisted, hoistFunctions } from "./hoist.mjs";
import { bootCode } from "./pretokenise.mjs";

const root = new URL("..", import.meta.url).pathname;

/**
 * Bundles an entry of src/ or targets/ to one ES5 script defining the global `name`. With firmware, code
 * under `typeof PIGEON_FIRMWARE == "undefined"` is left out: the logger runs only on Espruino (a board, the
 * Linux build, the simulator's shim), and a Pico's 48 KB of Storage holds it with the kernels and the user's code.
 * Without link, the firmware's pull server (spec/link.md) is left out too (dist/firmware-nolink.js).
 */
export async function bundleES5(entry, name, { firmware = false, link = true } = {}) {
  const bundled = await build({
    entryPoints: [root + entry],
    bundle: true,
    write: false,
    format: "esm",
    target: "es2015",
    platform: "neutral",
    legalComments: "none",
    define: firmware
      ? { PIGEON_FIRMWARE: "true", PIGEON_LINK: String(link) }
      : { PIGEON_LINK: String(link) },
    minifySyntax: !!firmware, // drops the branches the define decides
  });
  let code = bundled.outputFiles[0].text;
  const m = /\nexport \{([^}]*)\};\s*$/.exec(code);
  if (!m) throw new Error(`${entry}: expected one export list at the end of the bundle`);
  const members = m[1]
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [local, as] = s.split(/\s+as\s+/);
      return `${as || local}: ${local}`;
    });
  code = `var ${name} = (function () {\n${code.slice(0, m.index)}\nreturn { ${members.join(", ")} };\n})();\n`;
  if (/__require/.test(code)) throw new Error(`${entry}: require() must not be bundled`);
  const es5 = ts.transpileModule(code, {
    compilerOptions: {
      target: ts.ScriptTarget.ES5,
      module: ts.ModuleKind.None,
      removeComments: true,
    },
    transformers: { after: [hoistFunctions] },
  }).outputText;
  const min = (
    await transform(es5, { minify: true, target: "es5", legalComments: "none" })
  ).code.trim();
  checkHoisted(min, entry);
  return min + `\nif(typeof module!="undefined")module.exports=${name};\n`;
}

mkdirSync(root + "dist", { recursive: true });
// the Thumb-2 blob, checked against its sources, and the harness that runs it under qemu-arm
buildNative();
const core = await bundleES5("src/index.ts", "Pigeon");
writeFileSync(root + "dist/pigeon.js", core);
console.log(`dist/pigeon.js ${core.length} bytes`);
// the logger: core + card store + the sampling loop, as a board (or the simulator) runs it
const logger = await bundleES5("targets/espruino/firmware.ts", "PigeonLogger", { firmware: true });
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
  })) + "PigeonLogger.start();\n";
writeFileSync(root + "dist/firmware-nolink.js", noLink);
console.log(`dist/firmware-nolink.js ${noLink.length} bytes`);
// a reading in marked steps, for npm run emu -- --profile (not shipped): the firmware with bench/board.ts
writeFileSync(
  root + "dist/board-bench.js",
  (await bundleES5("bench/board.ts", "PigeonLogger", { firmware: true })) +
    "PigeonLogger.start();\n"
);
// the store timed under duk by the benchmark (not shipped)
writeFileSync(root + "dist/card-duk.js", await bundleES5("bench/card-duk.ts", "CardBench"));
// the simulator and host tools, for Node (npm start runs dist/sim.mjs); the
// banner gives the ES module what the sources use: require and __dirname
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
  await build({
    entryPoints: [root + entry],
    outfile: root + out,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    logLevel: "warning",
    banner: {
      js:
        'import{createRequire as __cr}from"node:module";import{fileURLToPath as __fu}from"node:url";import{dirname as __dn}from"node:path";' +
        "const require=__cr(import.meta.url);const __filename=__fu(import.meta.url);const __dirname=__dn(__filename);",
    },
  });

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
