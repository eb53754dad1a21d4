// pigeon import on every core (issue 18, part 3): the messages' checks run on
// worker threads, the chain rules and the store's writes stay in input order
// on the main thread, so the store is the same as a one-core import's.
import {
  closeSync,
  openSync,
  readdirSync,
  readSync,
  statSync,
  writeFileSync,
  mkdtempSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { readInput } from "../targets/node/files";
import { importInto } from "../targets/node/import";
import { Store } from "../targets/node/store";
import { signFeed, makeFeed } from "./feed";

const tmp = mkdtempSync(join(tmpdir(), "pigeon-parallel-"));
const seed = (n: number) => new Uint8Array(32).fill(n);
const readingBody = (d: number) => [
  ["t", `"${1764000000 + 600 * d}"`],
  ["temp", `"${(20 + (d % 50) / 10).toFixed(1)}"`],
];

/** Every file under dir, as path → size; the files are compared apart (the logs are large sparse files). */
function files(dir: string, into: Record<string, number> = {}, base = dir): Record<string, number> {
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n),
      st = statSync(p);
    if (st.isDirectory()) files(p, into, base);
    else into[p.slice(base.length)] = st.size;
  }
  return into;
}
/** Whether two files hold the same bytes, read a megabyte at a time. */
function sameBytes(a: string, b: string): boolean {
  const fa = openSync(a, "r"),
    fb = openSync(b, "r"),
    ba = Buffer.alloc(1 << 20),
    bb = Buffer.alloc(1 << 20);
  try {
    for (let at = 0; ; at += ba.length) {
      const na = readSync(fa, ba, 0, ba.length, at),
        nb = readSync(fb, bb, 0, bb.length, at);
      if (na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
      if (!na) return true;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}
/** A seeded stand-in for Math.random: the store draws each new log's epoch from it. */
function seededRandom() {
  let x = 12345;
  return () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296;
}

describe("an import on two cores and one on one core of the same bundles", () => {
  const pgn = (name: string, texts: string[]) => {
    const f = join(tmp, name);
    writeFileSync(f, texts.join("\n\n") + "\n");
    return f;
  };
  let bundles: string[];

  beforeAll(() => {
    const [a, b, c] = [31, 32, 33].map((n) => makeFeed(300, seed(n)));
    // forks: the same keys sign other messages from depth 100 of b and depth 60 of c on
    const b2 = signFeed(110, seed(32), (d) =>
      d < 100
        ? readingBody(d)
        : [
            ["t", `"${1764000000 + 600 * d}"`],
            ["temp", '"-1.0"'],
          ]
    );
    const c2 = signFeed(70, seed(33), (d) =>
      d < 60
        ? readingBody(d)
        : [
            ["t", `"${1764000000 + 600 * d}"`],
            ["temp", '"99.0"'],
          ]
    );
    const blocked = makeFeed(20, seed(34));
    const forged = a.texts[50].replace('temp:"', 'temp:"1'),
      broken = a.texts[51].replace("\nkind ", "\nkind  ");
    const first: string[] = [];
    for (let d = 0; d < 200; d++) {
      if (d === 50) first.push(forged, broken);
      if (d === 60) first.push(c2.texts[60], c2.texts[61]); // c's fork comes first: c's own depth 60 is then the fork
      first.push(a.texts[d], b.texts[d]);
      if (d < 150) first.push(c.texts[d]);
      if (d === 100) first.push(b2.texts[100], b2.texts[101]); // b's fork comes after b's own
      if (d === 10) first.push(a.texts[10], blocked.texts[0]); // a message twice, and one of a blocked feed
      if (d > 0 && d < 20) first.push(blocked.texts[d]);
    }
    // then all of a, b and c: the first bundle's messages known, the rest new (c's from 170 on after a gap), b's fork again
    const second = [
      ...a.texts.slice(100),
      ...b.texts,
      ...b2.texts.slice(100),
      ...c.texts.slice(0, 150),
      ...c.texts.slice(170),
    ];
    bundles = [pgn("first.pgn", first), pgn("second.pgn", second)];
  });
  afterEach(() => vi.restoreAllMocks());

  /** Imports both bundles on `cores` cores into a new store (blocking the fourth feed); the reports and the number of batches sent to worker threads. */
  async function importBoth(dir: string, cores: number) {
    const s = new Store(join(tmp, dir)),
      random = seededRandom(),
      posted = vi.spyOn(Worker.prototype, "postMessage");
    vi.spyOn(Math, "random").mockImplementation(random);
    s.setList("BLOCKS.TXT", new Set([makeFeed(1, seed(34)).author]));
    const reports = [];
    for (const b of bundles) reports.push(importInto(s, await readInput(b), { cores }).report);
    return { reports, batches: posted.mock.calls.length };
  }

  it("gives the same store, byte for byte, and the same reports, refusals and forks included", async () => {
    const one = await importBoth("one", 1),
      two = await importBoth("two", 2);
    expect(one.batches).toBe(0);
    expect(two.batches).toBeGreaterThanOrEqual(3); // both imports sent batches of 256 to the workers
    expect(two.reports).toEqual(one.reports);
    const reasons = one.reports.flatMap((r) =>
      r.refusals.map((f) => f.reason.replace(/\d+/g, "N"))
    );
    for (const why of [
      "signature does not verify",
      "fork: a different message at depth N (kept as evidence)",
      "prev does not name the message at depth N",
    ])
      expect(reasons).toContain(why);
    expect(reasons.some((r) => r.includes("is blocked by this store"))).toBe(true);
    expect(reasons.some((r) => r.startsWith("depth N leaves a gap"))).toBe(true);
    // every file: the same names and sizes, and the same bytes (the logs' epochs came from the same seeded random)
    const listed = files(join(tmp, "one"));
    expect(files(join(tmp, "two"))).toEqual(listed);
    expect(Object.keys(listed)).toContain("/FORKS.PGN");
    for (const f of Object.keys(listed))
      expect(sameBytes(join(tmp, "one", f), join(tmp, "two", f)), f).toBe(true);
  });

  it("a bundle shorter than one batch is checked on this thread, its first message too, and taken whole", () => {
    const posted = vi.spyOn(Worker.prototype, "postMessage"),
      f = makeFeed(40, seed(35));
    const r = importInto(
      new Store(join(tmp, "short")),
      {
        messages: f.texts.map((text, i) => ({ text, file: "m.pgn", line: 1 + 10 * i })),
        blobs: [],
      },
      { cores: 2 }
    ).report;
    expect(r.messages).toEqual({ accepted: 40, refused: 0 });
    expect(posted).not.toHaveBeenCalled();
  });
});
