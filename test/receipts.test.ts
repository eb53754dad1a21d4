// Receipts (spec/pigeon.md, section 6.1; issue 18, part 2): pigeon import
// --receipt signs, per feed taken, which depths, the newest id, when and from
// whom; a store's receipt chain says exactly what it holds.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { depthRanges, formatRanges } from "../targets/host/have";
import {
  checkReceipts,
  readReceipt,
  receiptBodies,
  receiptDepths,
  taken,
  type Receipt,
} from "../targets/host/receipt";
import { Store } from "../targets/node/store";
import { makeFeed } from "./feed";
import { Pigeon } from "./pigeon";
import { VECTORS, vectors } from "./vectors";

const root = resolve(__dirname, "..");
const tmp = mkdtempSync(join(tmpdir(), "pigeon-receipts-"));
function pigeon(...args: string[]) {
  const p = spawnSync("node", [join(root, "bin/pigeon.mjs"), ...args], { encoding: "utf8" });
  return { code: p.status, out: p.stdout, err: p.stderr };
}
const seed = new Uint8Array(32).fill(7),
  ID = (d: number) => Pigeon.id(`message ${d}`);
const signed = (entries: string[][]) =>
  Pigeon.sign(seed, { kind: "receipt", prev: "NONE", depth: 0, lipmaa: "NONE", body: entries });
/** A store's own receipts, by the feed they are about. */
function ownReceipts(s: Store): Map<string, Receipt[]> {
  const out = new Map<string, Receipt[]>();
  s.each(s.identity(), (text) => {
    const r = readReceipt(text);
    if (r === null) return;
    if (typeof r === "string") throw new Error(r);
    if (!out.has(r.feed)) out.set(r.feed, []);
    out.get(r.feed)!.push(r);
  });
  return out;
}
/** R3 on a store that wrote a receipt for every import: its receipts about each feed name exactly what it holds, once, with the right newest ids. */
function expectChainHolds(s: Store) {
  const receipts = ownReceipts(s);
  for (const feed of s.authors().filter((a) => a !== s.identity())) {
    const c = checkReceipts(receipts.get(feed) ?? [], s.ranges(feed), (d) => s.idAt(feed, d));
    expect(c).toEqual({ problems: [], unnamed: [], notHeld: [] });
  }
  return receipts;
}

describe("receipts", () => {
  it("taken: the depths after an import that were not held before", () => {
    expect(taken([], [[0, 9]])).toEqual([[0, 9]]);
    expect(taken([[0, 4]], [[0, 9]])).toEqual([[5, 9]]);
    expect(
      taken(
        [
          [0, 1],
          [4, 4],
          [13, 13],
        ],
        [[0, 20]]
      )
    ).toEqual([
      [2, 3],
      [5, 12],
      [14, 20],
    ]);
    expect(taken([[0, 9]], [[0, 9]])).toEqual([]);
    expect(
      taken(
        [[3, 5]],
        [
          [0, 5],
          [8, 8],
        ]
      )
    ).toEqual([
      [0, 2],
      [8, 8],
    ]);
  });

  it("a receipt's depths are a stretch of those taken, its gaps in one string: more receipts when they do not fit", () => {
    const feed = vectors.feeds[0].author;
    for (const ranges of [
      [[0, 41]],
      [[7, 7]],
      [
        [0, 1],
        [4, 4],
        [13, 13],
        [40, 99],
      ],
      Array.from({ length: 200 }, (_, i) => [10 * i, 10 * i + 3 * (i % 3)]),
    ] as [number, number][][]) {
      const bodies = receiptBodies(feed, ranges, ID, 1764000000.7),
        all: [number, number][] = [];
      for (const b of bodies) {
        const r = readReceipt(signed(b)) as Receipt;
        expect(typeof r).toBe("object");
        expect(r.newest).toBe(ID(r.last));
        expect(r.t).toBe(1764000000);
        expect(b.find(([k]) => k === "gaps")?.[1].length ?? 0).toBeLessThanOrEqual(130);
        all.push(...receiptDepths(r));
      }
      expect(depthRanges(all)).toEqual(ranges);
      if (ranges.length < 100) expect(bodies.length).toBe(1);
      else expect(bodies.length).toBeGreaterThan(1);
    }
    expect(
      receiptBodies(
        feed,
        Array.from({ length: 200 }, (_, i) => [10 * i, 10 * i]),
        ID,
        0
      ).length
    ).toBeGreaterThan(10);
    expect(receiptBodies(feed, [], ID, 0)).toEqual([]);
  });

  it("R1: a receipt whose gaps are out of order, touch, or reach its ends is no receipt; another kind is not one at all", () => {
    const feed = vectors.feeds[0].author,
      body = (first: string, last: string, gaps?: string) => [
        ["feed", feed],
        ["first", `"${first}"`],
        ["last", `"${last}"`],
        ...(gaps ? [["gaps", `"${gaps}"`]] : []),
        ["newest", ID(1)],
        ["t", '"5"'],
      ];
    expect(readReceipt(signed(body("0", "9", "2..3,5")))).toMatchObject({
      first: 0,
      last: 9,
      gaps: [
        [2, 3],
        [5, 5],
      ],
    });
    for (const [first, last, gaps] of [
      ["5", "4"],
      ["0", "9", "5,2..3"],
      ["0", "9", "2..3,4"],
      ["0", "9", "0..3"],
      ["0", "9", "5..9"],
      ["0", "9", "3..3"],
      ["0", "9", "2..1"],
      ["01", "9"],
    ])
      expect(typeof readReceipt(signed(body(first, last, gaps)))).toBe("string");
    expect(
      readReceipt(
        signed([
          ["feed", feed],
          ["t", '"5"'],
        ])
      )
    ).toMatch(/keys are feed, first, last/);
    expect(readReceipt(vectors.feeds[0].messages[0].text)).toBeNull();
  });

  it("checkReceipts: another id at a receipt's last depth (R2), a depth named twice (R3), depths held without a receipt or named but not held", () => {
    const feed = vectors.feeds[0].author,
      r = (first: number, last: number, newest = ID(last)) =>
        readReceipt(signed(receiptBodies(feed, [[first, last]], () => newest, 9)[0])) as Receipt;
    const idAt = (d: number) => (d <= 20 ? ID(d) : undefined);
    expect(checkReceipts([r(0, 9), r(10, 20)], [[0, 20]], idAt)).toEqual({
      problems: [],
      unnamed: [],
      notHeld: [],
    });
    const c = checkReceipts([r(0, 9), r(5, 12, ID(99)), r(25, 30)], [[0, 20]], idAt);
    expect(c.problems).toEqual([
      `receipt 0: depth 12 is ${ID(12)} here, not ${ID(99)} (R2)`,
      "receipt 0: depths 5..12 named before (R3)",
    ]);
    expect(c.unnamed).toEqual([[13, 20]]);
    expect(c.notHeld).toEqual([[25, 30]]);
  });

  it("pigeon import --receipt: a receipt per feed taken, none for what was held; a certificate path's gaps; the chain is what the store holds", () => {
    const A = join(tmp, "A"),
      B = join(tmp, "B"),
      C = join(tmp, "C");
    const r = pigeon("import", join(VECTORS, "bundle-ab"), "--receipt", "--store", A);
    expect(r.code).toBe(0);
    const a = pigeon("identity", "--store", A).out.trim();
    expect(r.out).toContain(`receipts: 2 signed onto ${a}\n`);
    expect(pigeon("import", join(VECTORS, "bundle-ab"), "--receipt", "--store", A).out).toContain(
      "receipts: 0 signed"
    );
    const sa = new Store(A),
      receipts = expectChainHolds(sa);
    for (const f of vectors.feeds)
      expect(receipts.get(f.author)!.map((x) => [x.first, x.last, x.newest, x.from])).toEqual([
        [0, f.messages.length - 1, f.messages[f.messages.length - 1].id, null],
      ]);
    // A's bundle (its receipts too) into B: B's receipts name A as where they came from, and B shows what it holds about each feed
    pigeon("export", join(tmp, "fromA"), "--all", "--store", A);
    expect(pigeon("import", join(tmp, "fromA"), "--receipt", "--store", B).out).toContain(
      "receipts: 3 signed"
    );
    const sb = new Store(B),
      b = sb.identity();
    for (const x of expectChainHolds(sb).values()) expect(x.map((y) => y.from)).toEqual([a]);
    const shown = pigeon("feeds", vectors.feeds[0].author, "--store", B).out.split("\n");
    expect(shown[0]).toMatch(
      new RegExp(`^${vectors.feeds[0].author.replace(/\./g, "\\.")} depths 0\\.\\.41 `)
    );
    expect(shown[1]).toBe("receipts about it: 2 by 2 stores");
    expect(
      shown.filter((l) => l.startsWith(`  ${a} #`) && l.endsWith(" depths 0..41 from -")).length
    ).toBe(1);
    expect(
      shown.filter((l) => l.startsWith(`  ${b} #`) && l.endsWith(` depths 0..41 from ${a}`)).length
    ).toBe(1);
    expect(pigeon("feeds", b, "--store", A).code).toBe(2);

    // a long feed, its newest 5 with their certificate path, then the rest: the first receipt has gaps, the second fills them
    const long = makeFeed(300, new Uint8Array(32).fill(3)),
      f = join(tmp, "long.pgn");
    writeFileSync(f, long.texts.join("\n\n") + "\n");
    pigeon("import", f, "--store", A);
    pigeon("export", join(tmp, "latest"), "--latest", "5", "--all", "--store", A);
    expect(pigeon("import", join(tmp, "latest"), "--receipt", "--store", C).code).toBe(0);
    const path = new Store(C).ranges(long.author);
    expect(path.length).toBeGreaterThan(3);
    expect(pigeon("import", f, "--receipt", "--store", C).code).toBe(0);
    const sc = new Store(C),
      chain = expectChainHolds(sc).get(long.author)!;
    expect(chain.map((x) => formatRanges(receiptDepths(x)))).toEqual([
      formatRanges(path),
      formatRanges(taken(path, [[0, 299]])),
    ]);
    expect(chain[0].gaps.length).toBe(path.length - 1);
    expect(chain[0].newest).toBe(long.ids[299]);
  }, 120000);
});
