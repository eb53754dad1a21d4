// This project's known-answer data (test/vectors/): the checks every vector set
// gets, that the committed files are what scripts/vectors.mjs makes, and what
// this set was made to hold.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { build, GENERATED, OUT } from "../scripts/vectors.mjs";
import { Pigeon } from "./pigeon";
import { edgeMessages, invalid, VECTORS, vectors } from "./vectors";
import { describeVectorSet } from "./vectors-suite";

describeVectorSet("test/vectors", VECTORS);

/** Every file below dir, as paths relative to it. */
const filesBelow = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) =>
    statSync(join(dir, n)).isDirectory() ? filesBelow(join(dir, n)).map((p) => `${n}/${p}`) : [n]
  );

describe("test/vectors as made", () => {
  it("the committed files are exactly what scripts/vectors.mjs makes (run `npm run vectors` after changing it)", () => {
    expect(OUT.replace(/\/$/, "")).toBe(VECTORS);
    const made = build();
    const onDisk = filesBelow(VECTORS).filter((p) => GENERATED.includes(p.split("/")[0]));
    expect(onDisk.sort()).toEqual([...made.keys()].sort());
    for (const [path, bytes] of made)
      expect(Buffer.compare(readFileSync(join(VECTORS, path)), Buffer.from(bytes)), path).toBe(0);
    // everything else is kept by hand: the README and the published vectors
    expect(
      filesBelow(VECTORS)
        .filter((p) => !onDisk.includes(p))
        .sort()
    ).toEqual([
      "README.md",
      "published/LICENSE-APACHE-2.0.txt",
      "published/speccheck-ed25519.json",
      "published/wycheproof-ed25519.json",
    ]);
  });

  it("feeds: 42 messages of feed-a (lipmaa links up to 40 -> 13) and 5 of feed-b", () => {
    expect(vectors.feeds.map((f) => [f.name, f.messages.length])).toEqual([
      ["feed-a", 42],
      ["feed-b", 5],
    ]);
    expect(vectors.feeds[0].messages[40].lipmaa_depth).toBe(13);
    expect(vectors.feeds[0].messages[40].text).toContain(
      `\nlipmaa ${vectors.feeds[0].messages[13].id}\n`
    );
  });

  it("the bundle: 47 messages, authors interleaved, in depth order per author; two blobs, one named by a key", () => {
    const pgn = readFileSync(join(VECTORS, "bundle-ab", "messages.pgn"), "utf8");
    const authors = [...pgn.matchAll(/^author (\S+)$/gm)].map((m) => m[1]),
      depths = [...pgn.matchAll(/^depth (\d+)$/gm)].map((m) => Number(m[1]));
    expect(authors.length).toBe(47);
    const runs = authors.filter((a, i) => i && a !== authors[i - 1]).length;
    expect(runs).toBeGreaterThanOrEqual(8);
    for (const f of vectors.feeds)
      expect(depths.filter((_, i) => authors[i] === f.author)).toEqual(
        f.messages.map((m) => m.depth)
      );
    expect(vectors.blobs.length).toBe(2);
    const [photo, table] = vectors.blobs.map((b) => b.id);
    expect(pgn).toMatch(new RegExp(`^[a-z_]+:${photo.replace(/\./g, "\\.")}$`, "m")); // a value
    expect(pgn).toMatch(new RegExp(`^${table.replace(/\./g, "\\.")}:"`, "m")); // a key
    for (const b of vectors.blobs)
      expect(b.path).toMatch(/^([0-9A-Z]{7}\/){6}[0-9A-Z]{7}\.[0-9A-Z]{3}$/);
  });

  it("lipmaa: the table of PIGEON-FORMAT.md for 0..40, and depths up to 2^53 - 1", () => {
    const table: Record<number, number> = {
      4: 1,
      8: 4,
      12: 8,
      13: 4,
      17: 13,
      21: 17,
      25: 21,
      26: 13,
      30: 26,
      34: 30,
      38: 34,
      39: 26,
      40: 13,
    };
    for (let n = 0; n <= 40; n++) expect(vectors.lipmaa[n], `${n}`).toBe(table[n] ?? null);
    expect(vectors.lipmaa["9007199254740991"]).toBe(9007199254740978);
  });

  it("invalid messages: each names the rule that refuses it, and every rule has one", () => {
    const rules = ["grammar", "M1", "M2", "M3", "M4", "M5", "2.3.1", "2.3.2", "2.3.3", "2.3.4"];
    for (const e of invalid) expect(rules, e.why).toContain(e.rule);
    expect([...new Set(invalid.map((e) => e.rule))].sort()).toEqual([...rules].sort());
    expect(new Set(invalid.map((e) => e.why)).size).toBe(invalid.length);
    // the signature rules reach the core's signature check: the text itself is well formed
    for (const e of invalid)
      if (e.rule!.startsWith("2.3"))
        expect(Pigeon.refusal(e.text), e.why).toBe("signature does not verify");
    for (const e of invalid)
      if (!e.rule!.startsWith("2.3")) expect(Pigeon.refusal(e.text), e.why).toMatch(/^line \d+: /);
  });

  it("accepts the messages of ed25519-edge.json: unusual keys and signatures that section 2.3 allows", () => {
    expect(edgeMessages.length).toBe(2);
    for (const m of edgeMessages) {
      expect(Pigeon.refusal(m.text), m.why).toBe("");
      expect(Pigeon.verify(m.text), m.why).toBe(true);
      expect(Pigeon.id(m.text), m.why).toBe(m.id);
    }
  });
});
