// Feeds for tests: checks shared by the simulator tests, and long feeds made quickly.
import { createHash, createPrivateKey, sign } from "node:crypto";
import { expect } from "vitest";
import { b32encode } from "../src/base32";
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
