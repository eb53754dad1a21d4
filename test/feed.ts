// Feeds for tests: checks shared by the simulator tests, and long feeds made quickly.
import { createHash, createPrivateKey, sign } from "node:crypto";
import { expect } from "vitest";
import { b32decode, b32encode } from "../src/base32";
import { Pigeon } from "./pigeon";

/** Every message verifies, depths run 0.., and prev and lipmaa name the right ids. */
export function checkFeed(messages: string[]) {
  const ids: string[] = [];
  messages.forEach((t, d) => {
    expect(Pigeon.refusal(t)).toBe("");
    const l = Pigeon.lipmaa(d);
    expect(t).toContain(`\ndepth ${d}\n`);
    expect(t).toContain(`\nprev ${d ? ids[d - 1] : "NONE"}\n`);
    expect(t).toContain(`\nlipmaa ${l === null ? "NONE" : ids[l]}\n`);
    ids.push(Pigeon.id(t));
  });
}

/** A feed of n reading messages signed with node:crypto (fast enough for long feeds), depth d at time t0 + 600 d. */
export function makeFeed(
  n: number,
  seed: Uint8Array,
  t0 = 1764000000
): { author: string; texts: string[]; ids: string[] } {
  return signFeed(n, seed, (d) => [
    ["t", `"${t0 + 600 * d}"`],
    ["temp", `"${(20 + (d % 50) / 10).toFixed(1)}"`],
  ]);
}

/** A feed of n messages with the bodies body(d) (values in wire form), from depth first, signed with node:crypto. */
export function signFeed(
  n: number,
  seed: Uint8Array,
  body: (d: number) => string[][],
  kind = "reading",
  first = 0
): { author: string; texts: string[]; ids: string[] } {
  const key = createPrivateKey({
    key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]),
    format: "der",
    type: "pkcs8",
  });
  const author: string = Pigeon.identity(seed),
    texts: string[] = [],
    ids: string[] = [];
  const fake = (d: number) =>
    "%" + b32encode(createHash("sha256").update(`not held ${d}`).digest(), 0, 32) + ".sha256";
  for (let d = first; d < first + n; d++) {
    const l = Pigeon.lipmaa(d),
      id = (x: number) => (x >= first ? ids[x - first] : fake(x)); // links below first name messages this feed does not hold
    const u = `author ${author}\nkind ${kind}\nprev ${d ? id(d - 1) : "NONE"}\ndepth ${d}\nlipmaa ${l === null ? "NONE" : id(l)}\n\n${body(
      d
    )
      .map(([k, v]) => `${k}:${v}\n`)
      .join("")}\n`;
    const sig = sign(null, Buffer.from(u), key);
    texts.push(u + "signature " + b32encode(sig, 0, 64) + ".sig.ed25519");
    ids.push(
      "%" +
        b32encode(
          createHash("sha256")
            .update(texts[texts.length - 1])
            .digest(),
          0,
          32
        ) +
        ".sha256"
    );
  }
  return { author, texts, ids };
}

/**
 * n one-message feeds by random keys, a quarter each left as signed, with one base32
 * character of the key or the signature changed, with a value changed, and with a
 * small-order key or an S of L or above: what the verifiers must give the core's verdicts on.
 */
export function corruptedMessages(n: number, rnd: () => number): string[] {
  const ALPHA = "0123456789ABCDEFGHJKMNPQRSTVWXYZ",
    b32 = (b: Uint8Array) => b32encode(b, 0, b.length),
    out: string[] = [];
  const small = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  ];
  for (let i = 0; i < n; i++) {
    let t: string = Pigeon.sign(
      new Uint8Array(32).map(() => rnd() * 256),
      {
        kind: "reading",
        prev: "NONE",
        depth: 0,
        lipmaa: "NONE",
        body: [
          ["t", `"${i}"`],
          ["v", `"é${i}"`],
        ],
      }
    );
    const kind = i % 4;
    if (kind === 1) {
      const at =
        rnd() < 0.5 ? 8 + Math.floor(rnd() * 52) : t.length - 12 - 1 - Math.floor(rnd() * 103);
      t = t.slice(0, at) + ALPHA[Math.floor(rnd() * 32)] + t.slice(at + 1);
    } else if (kind === 2) t = t.replace(`"${i}"`, `"${i + 1}"`);
    else if (kind === 3) {
      if (rnd() < 0.5)
        t = t.replace(/^author @[0-9A-Z]{52}/, "author @" + b32(Buffer.from(small[i % 4], "hex")));
      else
        t = t.replace(/signature ([0-9A-Z]{103})/, (_, s: string) => {
          // R kept, S = L (not below L)
          const sig = Buffer.alloc(64);
          b32decode(Buffer.from(s, "latin1"), 0, s.length, sig);
          Buffer.from(
            "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
            "hex"
          ).copy(sig, 32);
          return "signature " + b32(sig);
        });
    }
    out.push(t);
  }
  return out;
}
