// The host's fast verifier gives exactly the core's verdicts and ids.
import { describe, expect, it } from "vitest";
import { b32decode, b32encode } from "../src/base32";
import { idOf, refusalOf } from "../targets/node/checks";

const b32 = (b: Uint8Array) => b32encode(b, 0, b.length);
const b32d = (s: string) => {
  const out = Buffer.alloc(64);
  b32decode(Buffer.from(s, "latin1"), 0, s.length, out);
  return out;
};
import { Pigeon } from "./pigeon";
import { edgeMessages, invalid, vectors } from "./vectors";
import { prng } from "../sim/prng";

const utf8 = (t: string) => new Uint8Array(Buffer.from(t, "utf8"));

describe("host verification at node:crypto speed", () => {
  it("agrees with the core on the vectors, the unusual keys and signatures it accepts, and every invalid entry", () => {
    for (const m of [...vectors.feeds.flatMap((f) => f.messages), ...edgeMessages]) {
      expect(refusalOf(utf8(m.text))).toBe("");
      expect(idOf(utf8(m.text))).toBe(m.id);
    }
    for (const e of invalid) expect(refusalOf(utf8(e.text))).toBe(Pigeon.refusal(e.text));
  });
  it("agrees with the core on 3,000 corrupted messages, small-order keys and S >= L", () => {
    const rnd = prng(7).float;
    const ALPHA = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let valid = 0;
    for (let n = 0; n < 3000; n++) {
      const k = new Uint8Array(32).map(() => rnd() * 256);
      let t: string = Pigeon.sign(k, {
        kind: "reading",
        prev: "NONE",
        depth: 0,
        lipmaa: "NONE",
        body: [
          ["t", `"${n}"`],
          ["v", `"é${n}"`],
        ],
      });
      const kind = n % 4;
      if (kind === 1) {
        // one base32 character of the key or the signature changed
        const i =
          rnd() < 0.5 ? 8 + Math.floor(rnd() * 52) : t.length - 12 - 1 - Math.floor(rnd() * 103);
        t = t.slice(0, i) + ALPHA[Math.floor(rnd() * 32)] + t.slice(i + 1);
      } else if (kind === 2) t = t.replace(`"${n}"`, `"${n + 1}"`);
      else if (kind === 3) {
        // a small-order key, or S pushed to L or above
        const small = [
          "0100000000000000000000000000000000000000000000000000000000000000",
          "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
          "0000000000000000000000000000000000000000000000000000000000000000",
          "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        ];
        if (rnd() < 0.5)
          t = t.replace(
            /^author @[0-9A-Z]{52}/,
            "author @" + b32(Buffer.from(small[n % 4], "hex"))
          );
        else
          t = t.replace(
            /signature ([0-9A-Z]{103})/,
            (_, s) =>
              "signature " +
              b32(
                Buffer.concat([
                  b32d(s).subarray(0, 32),
                  Buffer.from(
                    "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
                    "hex"
                  ),
                ])
              )
          );
      }
      const core = Pigeon.refusal(t);
      expect(refusalOf(utf8(t)), t).toBe(core);
      if (!core) valid++;
    }
    expect(valid).toBeGreaterThan(700);
  });
});
