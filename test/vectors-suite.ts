// The checks every set of known-answer vectors gets: this project's test/vectors/
// (test/vectors.test.ts) and the team's ../shared/vectors (test/shared-vectors.test.ts).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { b32encode } from "../src/base32";
import { Pigeon } from "./pigeon";
import { draftOf, hex, readVectors } from "./vectors";
import { blobPath as specBlobPath } from "../scripts/vectors.mjs";

const root = resolve(__dirname, "..");
const signatureLines = (pgn: string) =>
  pgn.split("\n").filter((l) => l.startsWith("signature ")).length;

/** Defines the tests of the vectors in dir: feeds, invalid messages, lipmaa, blobs, base32 and the bundle. */
export function describeVectorSet(label: string, dir: string) {
  const { vectors, invalid } = readVectors(dir);
  const all = vectors.feeds.flatMap((f) => f.messages.map((m) => m.text));

  describe(label, () => {
    it("has at least two feeds, invalid messages, blobs, base32 cases and lipmaa depths", () => {
      expect(vectors.feeds.length).toBeGreaterThanOrEqual(2);
      expect(invalid.length).toBeGreaterThan(0);
      expect(vectors.blobs.length).toBeGreaterThan(0);
      expect(vectors.base32.length).toBeGreaterThan(0);
      expect(Object.keys(vectors.lipmaa).length).toBeGreaterThanOrEqual(41);
    });
    for (const f of vectors.feeds) {
      const seed = hex(f.seed_hex);
      it(`${f.name}: identity from the seed, and ${f.name}.pgn holds its messages`, () => {
        expect(Pigeon.identity(seed)).toBe(f.author);
        expect(Buffer.from(Pigeon.keys(seed).subarray(64)).toString("hex")).toBe(f.public_key_hex);
        expect(f.messages.map((m) => m.depth)).toEqual(f.messages.map((_, i) => i));
        expect(readFileSync(join(dir, `${f.name}.pgn`), "utf8")).toBe(
          f.messages.map((m) => m.text).join("\n\n") + "\n"
        );
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
      for (const [n, l] of Object.entries(vectors.lipmaa))
        expect(Pigeon.lipmaa(Number(n)), n).toBe(l);
    });
    it("blob ids, and blob paths cut from them", () => {
      for (const b of vectors.blobs) {
        expect(Pigeon.blobId(hex(b.content_hex))).toBe(b.id);
        expect(b.path).toBe(specBlobPath(b.id));
      }
    });
    it("base32", () => {
      for (const v of vectors.base32)
        expect(b32encode(hex(v.bytes_hex), 0, v.bytes_hex.length / 2)).toBe(v.text);
    });
    it("the bundle holds every feed message and its blobs, and pigeon verify accepts all of it", () => {
      const bundle = join(dir, "bundle-ab"),
        pgn = readFileSync(join(bundle, "messages.pgn"), "utf8");
      expect(signatureLines(pgn)).toBe(all.length);
      for (const t of all) expect(pgn).toContain(t);
      for (const b of vectors.blobs)
        expect(readFileSync(join(bundle, b.path)).toString("hex")).toBe(b.content_hex);
      const r = spawnSync("node", [join(root, "bin/pigeon.mjs"), "verify", bundle, "--json"], {
        encoding: "utf8",
      });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        messages: { accepted: all.length, refused: 0 },
        blobs: { accepted: vectors.blobs.length, refused: 0 },
        refusals: [],
      });
    });
  });
}
