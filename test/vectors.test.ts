import { describe, expect, it } from "vitest";
import { Pigeon } from "./pigeon";
import { draftOf, hex, invalid, vectors } from "./vectors";

describe("shared vectors", () => {
  for (const f of vectors.feeds) {
    const seed = hex(f.seed_hex);
    it(`${f.name}: identity from the seed`, () => {
      expect(Pigeon.identity(seed)).toBe(f.author);
      expect(Buffer.from(Pigeon.keys(seed).subarray(64)).toString("hex")).toBe(f.public_key_hex);
    });
    for (const m of f.messages) {
      it(`${f.name} depth ${m.depth}: parses, verifies, has the listed id, and sign reproduces it`, () => {
        expect(Pigeon.refusal(m.text)).toBe("");
        expect(Pigeon.verify(m.text)).toBe(true);
        expect(Pigeon.id(m.text)).toBe(m.id);
        expect(Pigeon.lipmaa(m.depth)).toBe(m.lipmaa_depth);
        expect(Pigeon.sign(seed, draftOf(m.text))).toBe(m.text);
        expect(Pigeon.sign(Pigeon.keys(seed), draftOf(m.text))).toBe(m.text);
      });
    }
  }
  for (const e of invalid) {
    it(`refuses: ${e.why}`, () => {
      expect(Pigeon.verify(e.text)).toBe(false);
      expect(Pigeon.refusal(e.text)).toMatch(/^(line \d+: .+|signature does not verify)$/);
    });
  }
  it("lipmaa of every listed depth", () => {
    for (const [n, l] of Object.entries(vectors.lipmaa)) expect(Pigeon.lipmaa(Number(n))).toBe(l);
  });
  it("blob ids", () => {
    for (const b of vectors.blobs) expect(Pigeon.blobId(hex(b.content_hex))).toBe(b.id);
  });
});
