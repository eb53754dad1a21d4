// The firmware tokenised as Espruino tokenises code (scripts/pretokenise.mjs):
// read back token by token it is the same program, and the boot code stops an
// older Espruino with a message. That the real firmware runs it: test/emu.test.ts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as acorn from "acorn";
import { describe, expect, it } from "vitest";
import {
  bootCode,
  detokenise,
  MIN_VERSION,
  pretokenise,
  RAW_INT0,
  RAW_INT16,
  RAW_INT8,
  RAW_STRING16,
  RAW_STRING8,
  TOKEN_BASE,
  TOKENS,
} from "../scripts/pretokenise.mjs";

const tree = (code: string) =>
  JSON.stringify(acorn.parse(code, { ecmaVersion: 5 }), (k, v) =>
    k === "start" || k === "end" || k === "raw" ? undefined : v
  );

/** A token's byte. */
const t = (s: string) => String.fromCharCode(TOKEN_BASE + TOKENS.indexOf(s));

describe("pretokenise", () => {
  for (const f of ["firmware.js", "firmware-nolink.js", "board-bench.js"])
    it(`dist/${f} reads back as the same program, 10% smaller`, () => {
      const js = readFileSync(join(__dirname, "../dist", f), "latin1"),
        tok = pretokenise(js);
      expect(tree(detokenise(tok))).toBe(tree(js));
      expect(tok.length).toBeLessThan(js.length * 0.9);
    });
  it("the bytes of src/jslex.h: LEX_EQUAL 138, LEX_R_IF 163, LEX_R_OF 198, LEX_RAW_STRING8 0xD1", () => {
    expect([t("=="), t("if"), t("of")].map((c) => c.charCodeAt(0))).toEqual([138, 163, 198]);
    expect([RAW_STRING8, RAW_STRING16, RAW_INT0, RAW_INT8, RAW_INT16]).toEqual([
      0xd1, 0xd2, 0xd3, 0xd4, 0xd5,
    ]);
  });
  it("keeps the spaces without which two tokens would read as one, and nothing else", () => {
    for (const [js, tok] of [
      ["a - -b", "a- -b"],
      ["a + +b", "a+ +b"],
      ["a - --b", `a-${t("--")}b`],
      ["x = a / /re/.exec(s)", "x=a/ /re/.exec(s)"],
      ["var q = /re/g in o", `${t("var")}q=/re/g${t("in")}o`],
      ["x = /re/ / 2", "x=/re/ /\xd4\x02"],
      ["f(x, y)", "f(x,y)"],
      ["return typeof a", `${t("return")}${t("typeof")}a`],
      ["if (a) b; else c", `${t("if")}(a)b;${t("else")}c`],
      ["x = 1.5 + y", "x=1.5+y"],
    ])
      expect([js, pretokenise(js)]).toEqual([js, tok]);
  });
  it("raw strings and small integers; the rest as written", () => {
    expect(pretokenise('s = "ab\\n"')).toBe("s=\xd1\x03ab\n");
    expect(pretokenise('s = ""')).toBe('s=""');
    expect(pretokenise('s = "\\u0100"')).toBe('s="\\u0100"'); // not one byte a char
    expect(pretokenise("a = [0, 1, 127, 128, 32767, 32768, 0x10, 1e3]")).toBe(
      "a=[\xd3,\xd4\x01,\xd4\x7f,\xd5\x80\x00,\xd5\xff\x7f,32768,\xd4\x10,1e3]"
    );
  });
  it("reads back a string left quoted as it stands, bytes a token would have included", () => {
    // a degree sign (0xB0, a token's byte outside a string) beside a character past latin1: the string stays quoted
    const js = 's = "\u00b0C \u0100" + "x" + 1';
    expect(pretokenise(js)).toContain('"\u00b0C \u0100"');
    expect(tree(detokenise(pretokenise(js)))).toBe(tree(js));
  });
  it(`the boot code stops an Espruino older than ${MIN_VERSION} with a message`, () => {
    const guard = bootCode("x()").split("\n")[0];
    const run = (version: string) => new Function("process", guard)({ version });
    expect(() => run("2v25.396")).toThrow(
      `pigeon: the firmware needs Espruino ${MIN_VERSION} or later; this board has 2v25.396`
    );
    expect(() => run("2v29.277")).not.toThrow();
    expect(() => run("2v26")).not.toThrow();
  });
});
