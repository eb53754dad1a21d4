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

/** The kind and body lines (each ending in LF) of a feed's message at depth d. */
export type Draft = (d: number) => { kind: string; body: string };

/**
 * A feed of n messages signed with node:crypto (fast enough for long feeds): by
 * default readings, depth d at time t0 + 600 d; `draft` gives others.
 */
export function makeFeed(n: number, seed: Uint8Array, t0 = 1764000000, draft: Draft = (d) => ({ kind: "reading", body: `t:"${t0 + 600 * d}"\ntemp:"${(20 + (d % 50) / 10).toFixed(1)}"\n` })): { author: string; texts: string[]; ids: string[] } {
  const key = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" });
  const author: string = Pigeon.identity(seed), texts: string[] = [], ids: string[] = [];
  for (let d = 0; d < n; d++) {
    const l = Pigeon.lipmaa(d), { kind, body } = draft(d);
    const u = `author ${author}\nkind ${kind}\nprev ${d ? ids[d - 1] : "NONE"}\ndepth ${d}\nlipmaa ${l === null ? "NONE" : ids[l]}\n\n${body}\n`;
    const sig = sign(null, Buffer.from(u), key);
    texts.push(u + "signature " + b32encode(sig, 0, 64) + ".sig.ed25519");
    ids.push("%" + b32encode(createHash("sha256").update(texts[d]).digest(), 0, 32) + ".sha256");
  }
  return { author, texts, ids };
}
