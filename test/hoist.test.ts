// Espruino does not hoist a function declared in a function body: the bundle
// is rewritten so that no call can come before the declaration (scripts/hoist.mjs).
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
// @ts-ignore: a build script
import { checkHoisted, hoistFunctions } from "../scripts/hoist.mjs";
import { espruinoInterpreter, noEspruino } from "./engines";

const LATE = `var Lib = (function () {
  function f(n) { var r = [], i; for (i = 0; i < n; i++) r.push(g(i)); return r; function g(x) { return x * 10; } }
  var early = h(2);
  function h(x) { return k(x) + 1; }
  function k(x) { return x * 3; }
  return { f: f, early: early };
})();
print(JSON.stringify([Lib.f(3), Lib.early]));
`;
const hoisted = (code: string) =>
  ts.transpileModule(code, {
    compilerOptions: { target: ts.ScriptTarget.ES5 },
    transformers: { after: [hoistFunctions] },
  }).outputText;

describe("function declarations for Espruino", () => {
  it("the check refuses a nested function declared after the code that calls it, and init code reaching a later function", () => {
    expect(() =>
      checkHoisted(
        "var L = (function () { function f() { return g(); function g() { return 1; } } return f; })();",
        "t"
      )
    ).toThrow(/function g is used before/);
    expect(() =>
      checkHoisted(
        "var L = (function () { var x = h(); function h() { return 1; } return x; })();",
        "t"
      )
    ).toThrow(/function h is used before/);
    expect(() =>
      checkHoisted(
        "var L = (function () { function a() { return b(); } var x = a(); function b() { return 1; } return x; })();",
        "t"
      )
    ).toThrow(/function b is used before/);
    // a later function that init code never reaches stays where it is; a property, a local or a declaration
    // without a value (scripts/scope.mjs lists the names first) of the same name is not it
    expect(() =>
      checkHoisted(
        "var L = (function () { function a() { return b(); } var x = 1; function b() { return 1; } return a; })();",
        "t"
      )
    ).not.toThrow();
    expect(() =>
      checkHoisted(
        "var L = (function () { var o = { b: 1 }, p = o.b, f = (function (b) { return b; })(2); function b() { return 1; } return o; })();",
        "t"
      )
    ).not.toThrow();
    expect(() =>
      checkHoisted(
        "var L = (function () { var b, x; x = 1; function b() { return 1; } return b; })();",
        "t"
      )
    ).not.toThrow();
  });
  it("the rewrite moves them so that the check passes, and the code means the same", () => {
    const out = hoisted(LATE);
    expect(() => checkHoisted(out, "t")).not.toThrow();
    const logs: string[] = [];
    new Function("print", out)((s: string) => logs.push(s));
    expect(logs).toEqual(["[[0,10,20],7]"]);
  });
  const espruino = espruinoInterpreter();
  if (!espruino) console.log(noEspruino("hoist test on Espruino"));
  it.skipIf(!espruino)("on Espruino's interpreter the original throws and the rewrite runs", () => {
    const dir = mkdtempSync(join(tmpdir(), "pigeon-hoist-"));
    const run = (code: string) => {
      writeFileSync(join(dir, "t.js"), code);
      return spawnSync(espruino!, ["t.js"], { cwd: dir, encoding: "utf8", timeout: 20000 }).stdout;
    };
    expect(run(LATE)).toMatch(/is not defined/);
    expect(run(hoisted(LATE))).toContain("[[0,10,20],7]");
  });
});
