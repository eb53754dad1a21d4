// The ABNF of spec/pigeon.md (its ```abnf blocks), compiled as strict RFC 5234 +
// RFC 7405 by apg-js, checked against the vectors (test/vectors/) and against
// hand-made byte strings. Where a case is within the grammar's reach, the core's
// parser must agree with it.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "../src/message";
import { lipmaa } from "../src/lipmaa";
import { formatHave, parseHave } from "../targets/host/have";
import { readReceipt, receiptBodies } from "../targets/host/receipt";
import { Pigeon } from "./pigeon";
import { invalid, VECTORS, vectors } from "./vectors";
import { blobPath as specBlobPath } from "../scripts/vectors.mjs";

const require = createRequire(__filename);
const { apgApi, apgLib } = require("apg-js");

const SPEC = resolve(__dirname, "../spec/pigeon.md");

/** The contents of every ```abnf block of the spec, in order. */
function abnfBlocks(md: string): string[] {
  return [...md.matchAll(/^```abnf\n([\s\S]*?)^```[ \t]*$/gm)].map((m) => m[1]);
}
const blocks = abnfBlocks(readFileSync(SPEC, "utf8"));
const grammarText = blocks.join("");

/** Compiles ABNF text in apg-js's strict mode (RFC 5234 + RFC 7405 only, which wants CRLF line ends). */
function compile(text: string) {
  const api = new apgApi(text.replace(/\r?\n/g, "\r\n"));
  api.generate(true);
  if (api.errors.length) throw new Error("spec/pigeon.md ABNF:\n" + api.errorsToAscii());
  return api.toObject();
}
const grammar = compile(grammarText);
const parser = new apgLib.parser();

const bytes = (t: string | Uint8Array): Uint8Array =>
  typeof t == "string" ? Buffer.from(t, "utf8") : t;
/** Whether the whole of t (a string is taken as its UTF-8 bytes) matches rule. */
function matches(rule: string, t: string | Uint8Array): boolean {
  return parser.parse(grammar, rule, Array.from(bytes(t))).success;
}
/** The core parser's verdict on a whole message: "" when well formed. */
function refusal(t: string | Uint8Array): string {
  const b = bytes(t);
  return parse(b, 0, b.length);
}

const feedA = vectors.feeds.find((f) => f.name == "feed-a")!;
const first = feedA.messages[0].text; // depth 0, kind logger_boot, its body has temp_c:"<a number>"
const VALUE = /^temp_c:"[0-9.]+"$/m.exec(first)![0];
/** The first message of feed-a with temp_c's string content replaced by the given bytes. */
function withContent(content: Uint8Array): Uint8Array {
  const at = first.indexOf(VALUE);
  return Buffer.concat([
    Buffer.from(first.slice(0, at) + 'temp_c:"'),
    content,
    Buffer.from('"' + first.slice(at + VALUE.length)),
  ]);
}
const hexBytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/ /g, ""), "hex"));

describe("spec/pigeon.md grammar", () => {
  it("is strict ABNF in ASCII and defines the rules the tests use", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    expect(/^[\x0a\x20-\x7e]*$/.test(grammarText)).toBe(true);
    const names = grammar.rules.map((r: { name: string }) => r.name);
    for (const n of [
      "message",
      "unsigned-text",
      "signature-line",
      "pgn",
      "blob-path",
      "identity",
      "message-id",
      "blob-id",
      "have-file",
      "receipt-body",
    ])
      expect(names).toContain(n);
  });

  describe("the vectors", () => {
    for (const f of vectors.feeds)
      for (const m of f.messages)
        it(`${f.name} depth ${m.depth} matches message, and its unsigned text matches unsigned-text`, () => {
          expect(matches("message", m.text)).toBe(true);
          expect(matches("unsigned-text", m.text.slice(0, m.text.lastIndexOf("signature ")))).toBe(
            true
          );
          expect(matches("message", m.text + "\n")).toBe(false); // no LF after the signature line
          expect(matches("identity", f.author)).toBe(true);
          expect(matches("message-id", m.id)).toBe(true);
        });

    for (const name of ["feed-a.pgn", "feed-b.pgn", "bundle-ab/messages.pgn"])
      it(`${name} matches pgn, also with LF LF at its end, and not otherwise`, () => {
        const t = readFileSync(resolve(VECTORS, name), "latin1"); // one char per byte
        const b = (s: string) => Buffer.from(s, "latin1");
        expect(t.endsWith(".sig.ed25519\n")).toBe(true);
        expect(matches("pgn", b(t))).toBe(true);
        expect(matches("pgn", b(t + "\n"))).toBe(true);
        expect(matches("pgn", b(t + "\n\n"))).toBe(false);
        expect(matches("pgn", b(t.slice(0, -1)))).toBe(false);
        expect(matches("pgn", b(t.replace(/\n/g, "\r\n")))).toBe(false);
        if (t.indexOf(".sig.ed25519\n\nauthor") > 0)
          expect(
            matches("pgn", b(t.replace(".sig.ed25519\n\nauthor", ".sig.ed25519\n\n\nauthor")))
          ).toBe(false);
      });

    it("blob paths match blob-path and are cut from the id's 52 characters", () => {
      for (const bl of vectors.blobs) {
        expect(matches("blob-id", bl.id)).toBe(true);
        expect(matches("blob-path", bl.path)).toBe(true);
        expect(bl.path).toBe(specBlobPath(bl.id));
      }
      expect(
        matches("blob-path", "622PRNJ/7C0S05X/R2AHDPK/WMG051B/1QW5SXM/N2RQHF2/AND6J8V.GPG")
      ).toBe(true);
      expect(
        matches("blob-path", "622PRNJ7/C0S05X/R2AHDPK/WMG051B/1QW5SXM/N2RQHF2/AND6J8V.GPG")
      ).toBe(false);
      expect(
        matches("blob-path", "622PRNJ/7C0S05X/R2AHDPK/WMG051B/1QW5SXM/N2RQHF2/AND6J8V.GP1")
      ).toBe(false); // pad bits
    });

    it("a have-file from the tool matches have-file, and the tool refuses what the grammar refuses", () => {
      const [a, b] = vectors.feeds.map((f) => f.author),
        held = new Map([
          [a, { first: 0, last: 13 }],
          [b, { first: 5, last: 5 }],
        ]);
      const text = formatHave(a, held);
      expect(matches("have-file", text)).toBe(true);
      expect(parseHave(text, "HAVE.TXT")).toEqual({ who: a, held });
      for (const bad of [
        `have ${a}`,
        `have ${a}\n${b} 01 3\n`,
        `have ${a}\n${b}  3 4\n`,
        `have ${a}\n${b} 3\n`,
        `Have ${a}\n`,
        `have ${a}\r\n`,
      ]) {
        expect(matches("have-file", bad)).toBe(false);
        expect(() => parseHave(bad, "X")).toThrow(/^X:\d+: /);
      }
      // H1, which the grammar cannot state
      expect(() => parseHave(`have ${a}\n${b} 4 3\n`, "X")).toThrow(/^X:2: /);
      expect(() => parseHave(`have ${a}\n${b} 1 3\n${b} 1 3\n`, "X")).toThrow(
        /^X:3: .* listed twice/
      );
    });

    it("receipts from the tool match receipt-body and are valid messages; what the grammar refuses is no receipt", () => {
      const [a, b] = vectors.feeds.map((f) => f.author),
        id = feedA.messages[0].id,
        seed = new Uint8Array(32).fill(7);
      const cases: [number, number][][] = [
        [[0, 41]],
        [[5, 5]],
        [
          [0, 1],
          [4, 4],
          [13, 13],
          [40, 99],
        ],
        Array.from({ length: 40 }, (_, i): [number, number] => [1000 * i, 1000 * i + 2]),
      ];
      let n = 0;
      for (const ranges of cases)
        for (const entries of receiptBodies(a, ranges, () => id, 1764000000, b)) {
          const text = entries.map(([k, v]) => `${k}:${v}\n`).join("");
          expect(matches("receipt-body", text)).toBe(true);
          const m = Pigeon.sign(seed, {
            kind: "receipt",
            prev: "NONE",
            depth: 0,
            lipmaa: "NONE",
            body: entries,
          });
          expect(readReceipt(m)).toMatchObject({ feed: a, from: b, newest: id, t: 1764000000 });
          n++;
        }
      expect(n).toBeGreaterThan(cases.length); // the last case's gaps do not fit in one receipt
      const good = `feed:${a}\nfirst:"0"\nlast:"9"\ngaps:"2..3,5"\nnewest:${id}\nt:"1"\n`;
      expect(matches("receipt-body", good)).toBe(true);
      for (const bad of [
        good.replace("first", "First"),
        good.replace('"0"', '"00"'),
        good.replace('"2..3,5"', '"2..3,"'),
        good.replace("t:", "time:"),
        good.replace(`newest:${id}\n`, ""),
        good + `from:"x"\n`,
      ])
        expect(matches("receipt-body", bad)).toBe(false);
    });

    // Each entry of invalid.json names its rule: the grammar refuses exactly the
    // "grammar" ones; the others break a rule it cannot state (section 3.2 or 2.3).
    for (const e of invalid)
      it(`invalid.json "${e.why}" (${e.rule})`, () => {
        expect(matches("message", e.text)).toBe(e.rule !== "grammar");
        if (e.rule === "grammar") expect(refusal(e.text)).not.toBe("");
      });
    it("invalid.json has entries inside and outside the grammar's reach", () => {
      expect(invalid.filter((e) => e.rule === "grammar").length).toBeGreaterThanOrEqual(9);
      expect(invalid.filter((e) => e.rule !== "grammar").length).toBeGreaterThanOrEqual(5);
    });
  });

  describe("UTF-8 in strings (RFC 3629)", () => {
    const good: [string, string][] = [
      ["2-byte U+00E9", "c3 a9"],
      ["3-byte U+2693", "e2 9a 93"],
      ["4-byte U+1F426", "f0 9f 90 a6"],
      ["lowest 2-byte U+0080", "c2 80"],
      ["lowest 3-byte U+0800", "e0 a0 80"],
      ["U+D7FF, below the surrogates", "ed 9f bf"],
      ["U+E000, above the surrogates", "ee 80 80"],
      ["lowest 4-byte U+10000", "f0 90 80 80"],
      ["highest U+10FFFF", "f4 8f bf bf"],
      ['" and : inside, at both ends', Buffer.from('"12:30" "x"').toString("hex")],
      ["space and ~", "20 7e"],
    ];
    const bad: [string, string][] = [
      ["overlong 2-byte /", "c0 af"],
      ["overlong 2-byte C1", "c1 bf"],
      ["overlong 3-byte", "e0 80 af"],
      ["overlong 4-byte", "f0 80 80 af"],
      ["surrogate U+D800", "ed a0 80"],
      ["surrogate U+DFFF", "ed bf bf"],
      ["above U+10FFFF", "f4 90 80 80"],
      ["lead byte F5", "f5 80 80 80"],
      ["byte FF", "ff"],
      ["lone continuation byte", "61 80"],
      ["truncated 2-byte", "c3"],
      ["truncated 3-byte", "e2 9a"],
      ["NUL", "00"],
      ["TAB", "09"],
      ["CR", "0d"],
      ["U+001F", "1f"],
      ["DEL U+007F", "7f"],
    ];
    for (const [what, h] of good)
      it(`a string holding ${what} matches`, () => {
        const t = withContent(hexBytes(h));
        expect(matches("message", t)).toBe(true);
        expect(refusal(t)).toBe("");
      });
    for (const [what, h] of bad)
      it(`a string holding ${what} does not match`, () => {
        const t = withContent(hexBytes(h));
        expect(matches("message", t)).toBe(false);
        expect(refusal(t)).not.toBe("");
      });
    it('the empty string "" is left to rule M1', () => {
      const t = withContent(new Uint8Array(0));
      expect(matches("message", t)).toBe(true);
      expect(refusal(t)).toMatch(/string of 0 characters/);
    });
  });

  describe("hand-made syntax faults", () => {
    const author = feedA.author.slice(1, 53);
    const faults: [string, string][] = [
      ["non-zero pad bits in the author", first.replace(author, author.slice(0, 51) + "1")],
      ["alias O in the author", first.replace(author, "O" + author.slice(1))],
      ["upper-case suffix .ED25519", first.replace(".ed25519\n", ".ED25519\n")],
      ["prev none in lower case", first.replace("prev NONE", "prev none")],
      ["a bare number as lipmaa", first.replace("lipmaa NONE", "lipmaa 0")],
      ["depth 00", first.replace("depth 0\n", "depth 00\n")],
      ["a trailing space", first.replace("kind logger_boot\n", "kind logger_boot \n")],
      ["a tab after kind", first.replace("kind logger_boot", "kind\tlogger_boot")],
      ["a space in a key", first.replace("temp_c:", "temp c:")],
      ["a key of 91 characters", first.replace("temp_c:", "k".repeat(91) + ":")],
      ["an unterminated string", first.replace(VALUE, VALUE.slice(0, -1))],
      [
        "a blob id value with a .SHA256 suffix",
        first.replace(VALUE, "temp_c:" + vectors.blobs[0].id.replace(".sha256", ".SHA256")),
      ],
      [
        "a third empty line before the signature",
        first.replace("\n\nsignature", "\n\n\nsignature"),
      ],
    ];
    for (const [what, t] of faults)
      it(`${what} does not match`, () => {
        expect(t).not.toBe(first);
        expect(matches("message", t)).toBe(false);
        expect(refusal(t)).not.toBe("");
      });
    it("a key of 90 characters, a blob id key and an id value match", () => {
      for (const t of [
        first.replace("temp_c:", "k".repeat(90) + ":"),
        first.replace(VALUE, vectors.blobs[0].id + ":NONE"),
        first.replace(VALUE, "seen:" + feedA.author),
      ]) {
        expect(matches("message", t)).toBe(true);
        expect(refusal(t)).toBe("");
      }
    });
  });

  it("the longest message is 39,233 bytes, its unsigned text 39,108 (spec 3.2)", () => {
    let d = 9007199254740891; // 16 digits and a lipmaa link, clear of the top depths that src/message.ts misreads (d * 10 + byte passes 2^53 and rounds)
    while (lipmaa(d) == null) d--;
    const b32 = "0".repeat(52);
    const entry = (i: number) => ("k" + i).padEnd(90, "x") + ':"' + "\u{1F426}".repeat(128) + '"\n';
    let unsignedText = `author @${b32}.ed25519\nkind ${"k".repeat(90)}\nprev %${b32}.sha256\ndepth ${d}\nlipmaa %${b32}.sha256\n\n`;
    for (let i = 0; i < 64; i++) unsignedText += entry(i);
    unsignedText += "\n";
    const t = unsignedText + "signature " + "0".repeat(103) + ".sig.ed25519";
    expect(String(d).length).toBe(16);
    expect(bytes(unsignedText).length).toBe(39108);
    expect(bytes(t).length).toBe(39233);
    expect(matches("message", t)).toBe(true);
    expect(refusal(t)).toBe("");
  });
});
