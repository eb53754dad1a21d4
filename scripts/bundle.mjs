// The bundles the build makes: the device code as one ES5 script, and the
// project's Node programs (scripts/build.mjs writes them; tests use them too).
import { build, transform } from "esbuild";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { checkHoisted, hoistFunctions } from "./hoist.mjs";
import { countedLookups, hotFirst, inlineConstants } from "./scope.mjs";

const root = new URL("..", import.meta.url).pathname;
/** esbuild's options for a Node program of the project; the banner gives the ES module what the sources use: require and __dirname. */
export const NODE_BUNDLE = {
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
};

/** bundleES5's script before its constants are written in place, its names ordered and it is minified. */
export async function es5Bundle(entry, name, { firmware = false, link = true } = {}) {
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
  return ts.transpileModule(code, {
    compilerOptions: {
      target: ts.ScriptTarget.ES5,
      module: ts.ModuleKind.None,
      removeComments: true,
    },
    transformers: { after: [hoistFunctions] },
  }).outputText;
}

/**
 * The firmware's own properties that the minifier renames to short names: each use costs a Pico's Storage
 * (and the interpreter's lookups) its whole name. Only names no built-in object, configuration key
 * (PIGEON.CFG's keys are read by name), user hook or test reads: the card log's fields (src/log.ts Log,
 * part), a parsed message's (src/message.ts at), a feed's, the logger's state but for what tests read
 * (status, feed, native, boot), and the code of the errors the core throws.
 */
const FIRMWARE_PROPERTIES = new RegExp(
  "^(author|body|broken|code|config|count|depth|dirty|end|epoch|escape|first|frames|halted|held|ident|" +
    "index|indexed|indexSectors|kind|kindEnd|last|linked|lipmaa|log|next|page|pages|path|prev|reader|rows|" +
    "seq|sig|tail|timer|unsigned|used|version|waiting|wire)$"
);

/**
 * Bundles an entry of src/ or targets/ to one ES5 script defining the global `name`, minified. With firmware, code
 * under `typeof PIGEON_FIRMWARE == "undefined"` is left out: the logger runs only on Espruino (a board, the
 * Linux build, the simulator's shim), and a Pico's 48 KB of Storage holds it with the kernels and the user's code.
 * Without link, the firmware's pull server (spec/link.md) is left out too (dist/firmware-nolink.js).
 * With lookups (name: how often a reading looks it up), the bundle makes its names in that order (scripts/scope.mjs).
 */
export async function bundleES5(entry, name, { lookups, ...options } = {}) {
  let es5 = inlineConstants(await es5Bundle(entry, name, options));
  if (lookups) es5 = hotFirst(es5, lookups);
  const min = (
    await transform(es5, {
      minify: true,
      target: "es5",
      legalComments: "none",
      ...(options.firmware ? { mangleProps: FIRMWARE_PROPERTIES } : {}),
    })
  ).code.trim();
  checkHoisted(min, entry);
  return min + `\nif(typeof module!="undefined")module.exports=${name};\n`;
}

/** Where the firmware's lookups are kept (committed, as kernels.bin is, for machines that cannot count them). */
export const LOOKUPS = root + "targets/espruino/lookups.json";
/** The lookups kept, as the file holds them (its text, "" when there is none). */
export const keptLookups = () => (existsSync(LOOKUPS) ? readFileSync(LOOKUPS, "utf8") : "");
/**
 * How often the firmware's readings look up each of its names, counted in the simulator: { text }, as
 * LOOKUPS keeps it (most looked-up first), or { missing }: why they cannot be counted here.
 */
export async function countFirmwareLookups() {
  await build({
    entryPoints: [root + "sim/lookups.ts"],
    outfile: root + "dist/lookups.mjs",
    ...NODE_BUNDLE,
  });
  const { countLookups } = await import(join(root, "dist/lookups.mjs"));
  const { code, names } = countedLookups(
    inlineConstants(
      await es5Bundle("targets/espruino/firmware.ts", "PigeonLogger", { firmware: true })
    )
  );
  const dir = mkdtempSync(join(tmpdir(), "pigeon-lookups-")); // the simulated card, removed after
  let counts;
  try {
    counts = await countLookups(code + "PigeonLogger.start();\n", names, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (typeof counts == "string") return { missing: counts };
  const sorted = Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]));
  return { text: JSON.stringify(sorted, null, 1) + "\n" };
}
