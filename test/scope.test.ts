// The bundle's names made in the order a reading looks them up (scripts/scope.mjs):
// the lookups are counted as the code runs, the order changes nothing but the
// order, and Espruino's interpreter keeps its scope in that order. That the
// firmware's kept counts are what the simulator counts: the last test.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { countFirmwareLookups, keptLookups } from "../scripts/bundle.mjs";
import { bundleScope, countedLookups, hotFirst, inlineConstants } from "../scripts/scope.mjs";
import { nativeMissing } from "../sim/native";
import { espruinoInterpreter, noEspruino } from "./engines";

const LIB = `var Lib = (function () {
  var x = 1, y = 2;
  function f(n) { var i, r = 0; for (i = 0; i < n; i++) r += x + Math.floor(i / 2); return r; }
  function g() { y++; return typeof Q == "undefined" ? f(3) + y : 0; }
  return { f: f, g: g };
})();
`;
const run = (code: string, then: string) => new Function(code + "return " + then)();

describe("the bundle's scope in lookup order", () => {
  it("finds the bundle's names in the order its body makes them, and every use of them and of globals", () => {
    const { names, uses } = bundleScope(LIB);
    expect(names).toEqual(["x", "y", "f", "g"]);
    // locals (n, i, r) and property names (floor, f: and g: keys) are not uses
    expect(uses.map((u: { name: string }) => u.name).sort()).toEqual(
      ["x", "global:Math", "y", "global:Q", "f", "y", "f", "g"].sort()
    );
  });
  it("counts each lookup as the code runs: an assignment, ++ and typeof as one", () => {
    const { code, names } = countedLookups(LIB);
    const counts = run(code, "[Lib.g(), __lookups]") as [number, number[]];
    expect(counts[0]).toBe(run(LIB, "Lib.g()"));
    const by = Object.fromEntries(names.map((n: string, i: number) => [n, counts[1][i]]));
    // init: f and g once; g(): y twice, Q, f; f(3): x and Math three times
    expect(by).toEqual({ x: 3, "global:Math": 3, y: 2, "global:Q": 1, f: 2, g: 1 });
  });
  it("makes the counted names most looked-up first, Math through a name of its own, and the code means the same", () => {
    const hot = hotFirst(LIB, { f: 2, x: 3, g: 1, "global:Math": 9, "global:Q": 5 });
    expect(bundleScope(hot).names).toEqual(["$Math", "x", "f", "g", "y"]);
    expect(hot).toMatch(/^var Lib = \(function \(\) \{var \$Math=Math,x,f,g;/);
    expect(
      bundleScope(hot).uses.filter((u: { name: string }) => u.name.startsWith("global:"))
    ).toEqual([
      expect.objectContaining({ name: "global:Math" }), // the alias's own value
      expect.objectContaining({ name: "global:Q" }),
    ]);
    expect(run(hot, "[Lib.f(4), Lib.g()]")).toEqual(run(LIB, "[Lib.f(4), Lib.g()]"));
    expect(hotFirst(LIB, {})).toBe(LIB);
  });
  it("writes numeric constants where they are used: declared once with a number, never assigned, not shadowed", () => {
    const lib = `var Lib = (function () {
  var K = 504, S = 1, T = 2, U = "u";
  var V = 7;
  function f(K) { return K + T + V; }
  function g() { S++; return T * 0x10 + U; }
  return { f: f, g: g, T: T };
})();
`;
    const out = inlineConstants(lib);
    expect(bundleScope(out).names).toEqual(["S", "U", "f", "g"]);
    expect(out).toContain("return K + 2 + 7;"); // f's own K stays its parameter
    expect(out).toContain("return 2 * 0x10 + U;");
    expect(run(out, "[Lib.f(1), Lib.g(), Lib.T]")).toEqual(run(lib, "[Lib.f(1), Lib.g(), Lib.T]"));
  });
  const espruino = espruinoInterpreter();
  if (!espruino) console.log(noEspruino("the scope order on Espruino"));
  it.skipIf(!espruino)("on Espruino's interpreter the scope lists the names in that order", () => {
    const dir = mkdtempSync(join(tmpdir(), "pigeon-scope-"));
    const keys = (code: string) => {
      writeFileSync(
        join(dir, "t.js"),
        code + 'print(JSON.stringify([Object.keys(Lib.f["\\xFFsco"]), Lib.f(4), Lib.g()]));'
      );
      const out = spawnSync(espruino!, ["t.js"], { cwd: dir, encoding: "utf8", timeout: 20000 });
      return JSON.parse(/\[\[.*\]\]?.*\]/.exec(out.stdout)![0]);
    };
    const before = keys(LIB),
      after = keys(hotFirst(LIB, { g: 5, y: 4 }));
    expect(before[0]).toEqual(["x", "y", "f", "g"]);
    expect(after[0]).toEqual(["g", "y", "x", "f"]);
    expect(after.slice(1)).toEqual(before.slice(1));
  });
  const missing = nativeMissing();
  if (missing) console.log(`skipped: counting the firmware's lookups (${missing})`);
  it.skipIf(!!missing)(
    "targets/espruino/lookups.json holds what the simulator counts for this firmware (npm run build keeps it)",
    async () => {
      expect((await countFirmwareLookups()).text).toBe(keptLookups());
    },
    120_000
  );
});
