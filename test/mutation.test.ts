// Every single-byte change of every valid vector message is refused (or, if
// it were accepted, would at least have another id). Works on the UTF-8 bytes:
// a mutation that leaves valid UTF-8 goes through the built bundle as a JS
// string; one that does not is checked at byte level through the core's
// TypeScript (parse, refusalBytes), since no JS string has those bytes.
// Set SEED=<n> to replay the random replacement bytes.
import { describe, expect, it } from "vitest";
import { refusalBytes } from "../src/index";
import { parse } from "../src/message";
import { Pigeon } from "./pigeon";
import { vectors } from "./vectors";
import { prng } from "../sim/prng";

const SEED = process.env.SEED ? Number(process.env.SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
console.log(`mutation.test.ts: SEED=${SEED}`);
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
function asText(b: Uint8Array): string | null {
  try {
    return strictUtf8.decode(b);
  } catch {
    return null;
  }
}
const show = (c: number) =>
  c >= 32 && c < 127
    ? JSON.stringify(String.fromCharCode(c))
    : "0x" + c.toString(16).padStart(2, "0");

describe("single-byte mutations of the vector messages", () => {
  const messages = vectors.feeds.flatMap((f) => f.messages.map((m) => ({ feed: f.name, ...m })));

  it("there are valid messages to mutate", () => {
    expect(messages.length).toBeGreaterThanOrEqual(16);
    for (const m of messages) expect(Pigeon.refusal(m.text)).toBe("");
  });

  for (const m of messages) {
    it(`${m.feed} depth ${m.depth}: every byte replaced by each of x^1, x^0x20, '0', 'A', ' ', LF, 0x00, 0xFF and a random byte`, () => {
      const rnd = prng(SEED ^ (m.depth * 7919 + m.text.length)).u32;
      const orig = Uint8Array.from(Buffer.from(m.text, "utf8"));
      expect(refusalBytes(orig, 0, orig.length)).toBe("");
      const b = new Uint8Array(orig.length + 16);
      b.set(orig, 8); // parse at a nonzero offset, inside a larger buffer
      const n = orig.length;
      const tally = { cases: 0, asText: 0, asBytes: 0, parsed: 0, accepted: 0 };
      for (let i = 0; i < n; i++) {
        const x = orig[i];
        const alts = new Set([x ^ 1, x ^ 0x20, 0x30, 0x41, 0x20, 0x0a, 0x00, 0xff, rnd() & 255]);
        alts.delete(x);
        for (const y of alts) {
          b[8 + i] = y;
          tally.cases++;
          const at = `SEED=${SEED} byte ${i} (${show(x)}) -> ${show(y)}`;
          const mutated = b.subarray(8, 8 + n);
          const p = parse(b, 8, n);
          if (p == "") tally.parsed++;
          else expect(p, at).toMatch(/^line \d+: ./);
          const text = asText(mutated);
          if (text === null) {
            // not UTF-8: the byte-level reader must refuse it
            tally.asBytes++;
            expect(p, at).not.toBe("");
            expect(refusalBytes(b, 8, n), at).not.toBe("");
          } else {
            tally.asText++;
            // the bundle's encoder gives back exactly these bytes
            expect(Buffer.from(text, "utf8").equals(Buffer.from(mutated)), at).toBe(true);
            const ok = Pigeon.verify(text);
            // the bundle and the TypeScript parser agree on the reason (a parsed
            // text costs a signature check: ask the bundle for its reason only
            // when the answer is cheap or the verdict is surprising)
            if (p != "" || ok) {
              const r = Pigeon.refusal(text);
              expect(r, at).toBe(p);
              expect(ok, at).toBe(r == "");
            }
            if (ok) {
              tally.accepted++;
              expect(Pigeon.id(text), at).not.toBe(m.id);
            }
          }
        }
        b[8 + i] = x;
      }
      // Stronger than the id check: a one-byte change either alters the signed
      // bytes, the key, or (canonical base32) the signature bytes, so none verifies.
      expect(tally.accepted, `SEED=${SEED}`).toBe(0);
      expect(tally.cases).toBeGreaterThan(8 * n);
      // the mutations reach the signature check, not only the parser
      expect(tally.parsed).toBeGreaterThan(100);
      if (/[^\x00-\x7f]/.test(m.text)) expect(tally.asBytes).toBeGreaterThan(n);
    });
  }
});
