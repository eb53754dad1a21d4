// sign() vouches for the header of the draft it wrote instead of parsing it
// again (src/message.ts, draftRefusal): for any draft, valid or not, it must
// refuse exactly what the parser refuses, and leave `at` where the parser does.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { at, draftRefusal, identity, parse, unsigned, type Draft } from "../src/message";
import { lipmaa } from "../src/lipmaa";
import { enc, encode } from "../src/utf8";

const ALPHA = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ident = identity(new Uint8Array(32).fill(7));
const b32 = (n: number) =>
  fc.string({ unit: fc.constantFrom(...ALPHA), minLength: n, maxLength: n });
/** A canonical message id: the last character's pad bits zero. */
const goodId = b32(52).map((s) => "%" + s.slice(0, 51) + "0" + ".sha256");
/** Valid ids, and the near misses a writer could make. */
const link = fc.oneof(
  fc.constant("NONE"),
  goodId,
  b32(52).map((s) => "%" + s + ".sha256"), // often not canonical
  b32(51).map((s) => "%" + s + ".sha256"),
  b32(52).map((s) => "&" + s.slice(0, 51) + "0.sha256"),
  b32(52).map((s) => "%" + s.slice(0, 50) + "é0.sha256"),
  fc.constantFrom("none", "", "%.sha256")
);
const kind = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9\-_.=@&%]{1,95}$/),
  fc.constantFrom("reading", "a b", "", "kindé", "x\ny", "a:b")
);
const depth = fc.oneof(
  fc.integer({ min: 0, max: 40 }),
  fc.constantFrom(9007199254740991, 9007199254740992, -1, 1.5, NaN),
  fc.constant("3" as unknown as number)
);
const entry = fc.tuple(
  fc.oneof(fc.stringMatching(/^[a-z_.]{1,4}$/), fc.constantFrom("", "a b", "ké")),
  fc.oneof(
    fc.stringMatching(/^[ -~]{1,6}$/).map((v) => JSON.stringify(v.replace(/["\\]/g, ""))),
    fc.constantFrom('"x', "NONE", '""', '"é"', "12", '"a\tb"')
  )
);
const draft: fc.Arbitrary<Draft> = fc.record({
  kind,
  prev: link,
  depth,
  lipmaa: link,
  body: fc.array(entry, { minLength: 0, maxLength: 4 }),
});
/** Drafts that are more often valid: prev and lipmaa as the depth wants them, a body of distinct keys and strings. */
const goodBody = fc
  .uniqueArray(fc.stringMatching(/^[a-z_.]{1,4}$/), { minLength: 1, maxLength: 4 })
  .map((ks) => ks.map((k, i) => [k, JSON.stringify("v" + i)]));
const likely = fc
  .tuple(draft, goodId, goodBody, fc.stringMatching(/^[A-Za-z0-9\-_.=@&%]{1,90}$/), fc.boolean())
  .map(([m, id, body, kind, keep]) => {
    const d = typeof m.depth == "number" && m.depth >= 0 && m.depth % 1 == 0 ? m.depth : 0;
    return {
      ...m,
      kind: keep ? m.kind : kind,
      depth: d,
      prev: d ? id : "NONE",
      lipmaa: lipmaa(d) == null ? "NONE" : id,
      body: keep ? m.body : body,
    };
  });

describe("a draft's header, vouched for by its writer", () => {
  it("refuses exactly what the parser refuses, and leaves `at` as the parser does", () => {
    let valid = 0;
    fc.assert(
      fc.property(fc.oneof(draft, likely), (m) => {
        const n = encode(unsigned(ident, m));
        const why = draftRefusal(ident, m, n),
          vouched = { ...at };
        const parsed = parse(enc.b, 0, n, true);
        expect(why).toBe(parsed); // the parser's own message when refused
        if (!why) {
          valid++;
          expect(vouched).toEqual({ ...at });
        }
      }),
      { numRuns: 3000 }
    );
    expect(valid).toBeGreaterThan(500); // about a quarter are valid
  });
});
