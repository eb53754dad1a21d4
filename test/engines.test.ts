// dist/pigeon.js under other engines: es-check, Duktape, Node vm contexts with
// Espruino's missing built-ins deleted (with and without native-helper
// stand-ins), and the real Espruino interpreter when ESPRUINO names one.
// Every engine must give exactly Node's results on the vectors, the
// invalid texts and non-ASCII messages.
import { spawnSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  checkReference,
  driver,
  espruinoLikeContext,
  has,
  installNatives,
  nodeResults,
  results,
  runFile,
  runInContext,
  tasks,
  espruinoInterpreter,
  noEspruino,
} from "./engines";
import { DIST } from "./pigeon";

const ROOT = resolve(__dirname, "..");
const tmp = mkdtempSync(join(tmpdir(), "pigeon-engines-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ALL = tasks();
let reference: Record<string, unknown> | undefined;
/** Node's results for ALL, checked against the vectors once. */
function node() {
  if (!reference) {
    reference = nodeResults(ALL);
    expect(checkReference(reference), "Node's own results disagree with the vectors").toEqual([]);
  }
  return reference;
}

describe("dist/pigeon.js under other engines", () => {
  it("es-check: the bundle is ES5", () => {
    const r = spawnSync("npx", ["es-check", "es5", DIST], { cwd: ROOT, encoding: "utf8" });
    expect(r.status, `es-check es5 failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
  });

  it("Duktape: every vector, invalid and non-ASCII text gives Node's results", () => {
    if (!has("duk"))
      throw new Error(
        "duk (Duktape) is not installed: install it with  apt-get install duktape  (npm test does it when run as root)"
      );
    const file = join(tmp, "duk-driver.js");
    writeFileSync(file, driver(ALL));
    const r = runFile("duk", [file], 600_000);
    expect(r.status, `duk exited with ${r.status}:\n${r.stderr}\n${r.stdout.slice(-2000)}`).toBe(0);
    expect(results(ALL, r.stdout)).toEqual(node());
  }, 600_000);

  describe("Node vm context without what Espruino lacks", () => {
    it("(a) plain, no E: the pure-JS paths give Node's results", () => {
      const ctx = espruinoLikeContext();
      expect(runInContext(ctx, ALL)).toEqual(node());
    });

    it("(b) Espruino Linux build: E.convolve, E.toUint8Array, native SHA256 and SHA512", () => {
      const ctx = espruinoLikeContext();
      const n = installNatives(ctx, false);
      expect(runInContext(ctx, ALL)).toEqual(node());
      expect(n.require).toContain("crypto");
      expect(n.convolve).toBeGreaterThan(0);
      expect(n.toUint8Array).toBeGreaterThan(0);
      expect(n.SHA256).toBeGreaterThan(0);
      expect(n.SHA512).toBeGreaterThan(0);
    });

    it("(c) Pico: E.convolve and native SHA256, but pure-JS SHA-512", () => {
      const ctx = espruinoLikeContext();
      const n = installNatives(ctx, true);
      expect(runInContext(ctx, ALL)).toEqual(node());
      expect(n.require).toContain("crypto");
      expect(n.convolve).toBeGreaterThan(0);
      expect(n.toUint8Array).toBeGreaterThan(0);
      expect(n.SHA256).toBeGreaterThan(0);
      expect(n.SHA512).toBe(0);
    });
  });

  const ESPRUINO = espruinoInterpreter();
  if (!ESPRUINO) console.log(noEspruino("Espruino interpreter test"));
  it.skipIf(!ESPRUINO)(
    "Espruino interpreter: vectors, invalid and non-ASCII texts give Node's results",
    () => {
      accessSync(ESPRUINO!, constants.X_OK);
      // kept small: a verify takes about 2 s on the -O0 build
      const some = tasks({ full: false, signVectors: 3, nonAscii: 3, surrogate: false });
      const file = join(tmp, "espruino-driver.js");
      writeFileSync(file, driver(some));
      const r = runFile(ESPRUINO!, [file], 600_000);
      expect(
        r.status,
        `${ESPRUINO} exited with ${r.status}:\n${r.stderr}\n${r.stdout.slice(-2000)}`
      ).toBe(0);
      const got = results(some, r.stdout);
      const want = node();
      expect(got).toEqual(Object.fromEntries(some.map((t) => [t.label, want[t.label]])));
    },
    600_000
  );
});
