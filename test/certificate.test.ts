// Partial verification: certificate paths by lipmaa links, feeds held with
// gaps, and `pigeon export --latest N` (issue 6).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { certificatePath, linkedFrom, lipmaa } from "../src/lipmaa";
import { memoryHolder, verifyInput } from "../targets/host/chain";
import { nodeChecks } from "../targets/node/checks";
import { createImage, FatImage } from "../sim/card/image";
import { loggerBoard } from "../sim/loggerboard";
import { ensure } from "../scripts/debian.mjs";
import { splitPgn } from "../targets/host/bundle";
import { makeFeed } from "./feed";
import { Pigeon } from "./pigeon";

const root = resolve(__dirname, "..");
const tmp = mkdtempSync(join(tmpdir(), "pigeon-cert-"));
function pigeon(...args: string[]) {
  const p = spawnSync("node", [join(root, "bin/pigeon.mjs"), ...args], { encoding: "utf8" });
  return { code: p.status, out: p.stdout, err: p.stderr };
}
const log3 = (x: number) => {
  let k = 0;
  for (let p = 1; p < x; p *= 3) k++;
  return k; // ceil(log3(x)), exactly
};
const messagesOf = (texts: string[]) => texts.map((text) => ({ text, file: "path.pgn", line: 0 }));

let feed: ReturnType<typeof makeFeed>;
beforeAll(() => {
  feed = makeFeed(10001, new Uint8Array(32).fill(7));
});

describe("certificate paths", () => {
  it("for every n up to 10,000 the path from n to 0 has at most 3*ceil(log3(n+1)) messages, each linked to the next", () => {
    for (let n = 1; n <= 10000; n++) {
      const p = certificatePath(n, 0);
      expect(p.length).toBeLessThanOrEqual(3 * log3(n + 1));
      expect(p[0]).toBe(n);
      expect(p[p.length - 1]).toBe(0);
      // each step is the lipmaa link, or prev where lipmaa is NONE (or would pass the end)
      for (let i = 0; i + 1 < p.length; i++)
        expect(p[i + 1] === p[i] - 1 || p[i + 1] === lipmaa(p[i])).toBe(true);
    }
    expect(certificatePath(1000000, 0).length).toBeLessThanOrEqual(3 * log3(1000001));
    // from PIGEON-FORMAT.md's table: 40->13, 13->4, 4->1
    expect(certificatePath(40, 0)).toEqual([40, 13, 4, 1, 0]);
    expect(certificatePath(13, 5)).toEqual([13, 12, 8, 7, 6, 5]); // lipmaa(13) = 4 would pass 5; lipmaa(12) = 8
    expect(certificatePath(9, 9)).toEqual([9]);
  });

  it("a path verifies on its own, ascending from depth 0; for every n up to 10,000 (signatures checked at every 7th n)", () => {
    for (let n = 1; n <= 10000; n++) {
      const p = certificatePath(n, 0).reverse();
      if (n % 7 === 0 || n === 10000) {
        const r = verifyInput(
          { messages: messagesOf(p.map((d) => feed.texts[d])), blobs: [] },
          nodeChecks
        );
        expect(r.refusals).toEqual([]);
        expect(r.messages.accepted).toBe(p.length);
      }
      // the links themselves: each message names the one below it on the path, by id
      for (let i = 1; i < p.length; i++) {
        const link = p[i - 1] === p[i] - 1 ? "prev" : "lipmaa";
        expect(feed.texts[p[i]]).toContain(`\n${link} ${feed.ids[p[i - 1]]}\n`);
      }
    }
  });

  it("a path with one altered message is refused from that message up", () => {
    const p = certificatePath(9999, 0).reverse(),
      texts = p.map((d) => feed.texts[d]),
      mid = Math.floor(p.length / 2);
    texts[mid] = texts[mid].replace(/temp:"[^"]*"/, 'temp:"99.9"');
    const r = verifyInput({ messages: messagesOf(texts), blobs: [] }, nodeChecks);
    expect(r.messages).toEqual({ accepted: mid, refused: p.length - mid });
    expect(r.refusals[0].reason).toMatch(/signature/);
    expect(r.refusals[0].depth).toBe(p[mid]);
    for (const f of r.refusals.slice(1))
      expect(f.reason).toMatch(/leaves a gap: nothing is held at depth \d+ \(prev\)/);
  });

  it("a reader that holds depth a takes depth n with the path from n down to a, and nothing without it", () => {
    const a = 3000,
      n = 9000,
      p = certificatePath(n, a).reverse().slice(1);
    const held = messagesOf(feed.texts.slice(0, a + 1));
    expect(
      verifyInput(
        { messages: [...held, ...messagesOf(p.map((d) => feed.texts[d]))], blobs: [] },
        nodeChecks
      ).messages
    ).toEqual({ accepted: a + 1 + p.length, refused: 0 });
    const r = verifyInput(
      { messages: [...held, ...messagesOf([feed.texts[n]])], blobs: [] },
      nodeChecks
    );
    expect(r.messages.refused).toBe(1);
  });
});

describe("a lipmaa link into a gap is checked when the gap is filled (F4)", () => {
  it("linkedFrom(d) is exactly the depths whose lipmaa link names d, for every d below 3^11", () => {
    const N = 3 ** 12,
      from: number[][] = Array.from({ length: N }, () => []),
      wrong: number[] = [];
    for (let n = 1; n < N; n++) {
      const l = lipmaa(n);
      if (l !== null) from[l].push(n);
    }
    for (let d = 0; d < 3 ** 11; d++)
      if (
        linkedFrom(d)
          .filter((n) => n < N)
          .join() !== from[d].join()
      )
        wrong.push(d);
    expect(wrong).toEqual([]);
    expect(linkedFrom(4)).toEqual([8, 13]); // 13 = 3 * 4 + 1: lipmaa(13) = 4
  });

  // held: the path to 40 (0, 1, 4, 13, 40), then 39 as the prev of 40: its lipmaa link names 26, in the gap
  const forged = () =>
    Pigeon.sign(new Uint8Array(32).fill(7), {
      kind: "reading",
      prev: feed.ids[25],
      depth: 26,
      lipmaa: feed.ids[13],
      body: [
        ["t", '"1764015600"'],
        ["temp", '"99.9"'],
      ],
    }) as string;
  const gapped = () => [0, 1, 4, 13, 40, 39].map((d) => feed.texts[d]);
  const filling = (fork: string) => [
    ...feed.texts.slice(14, 26),
    fork,
    ...feed.texts.slice(26, 39),
  ];

  it("a message at the target that the author signed twice is a fork, refused and kept; the real one is taken", () => {
    const fork = forged(),
      holder = memoryHolder();
    expect(fork).toContain(`\nprev ${feed.ids[25]}\n`); // its own links name what is held: only 39's lipmaa link shows the fork
    const r = verifyInput(
      { messages: messagesOf([...gapped(), ...filling(fork)]), blobs: [] },
      nodeChecks,
      holder
    );
    expect(r.refusals.map((x) => [x.depth, x.reason])).toEqual([
      [26, "fork: the message held at depth 39 names another message as lipmaa (kept as evidence)"],
    ]);
    expect(r.messages).toEqual({ accepted: 6 + 12 + 13, refused: 1 });
    expect(holder.feeds.get(feed.author)!.forks).toEqual([{ depth: 26, text: fork }]);
    expect(holder.idAt(feed.author, 26)).toBe(feed.ids[26]);
  });

  it("the same in a store: the fork is kept once in FORKS.PGN, however often it comes", () => {
    const s = join(tmp, "lipfork"),
      first = join(tmp, "gapped.pgn"),
      second = join(tmp, "filling.pgn"),
      fork = forged();
    writeFileSync(first, gapped().join("\n\n") + "\n");
    writeFileSync(second, filling(fork).join("\n\n") + "\n");
    expect(pigeon("import", first, "--store", s).out).toMatch(/messages: 6 accepted, 0 refused/);
    expect(pigeon("feeds", "--store", s).out).toContain(" depths 0..1,4,13,39..40 ");
    // the second time the real 26 is held: the fork is one by F3
    for (const why of [
      "the message held at depth 39 names another message as lipmaa",
      "a different message at depth 26",
    ]) {
      const r = pigeon("import", second, "--store", s);
      expect(r.code).toBe(1);
      expect(r.out).toContain(
        `${second}:${1 + 12 * 11}: ${feed.author} depth 26: fork: ${why} (kept as evidence)\n`
      );
      expect(r.out).toMatch(/messages: 25 accepted, 1 refused/);
    }
    expect(pigeon("feeds", "--store", s).out).toMatch(/ depths 0\.\.1,4,13\.\.40 .* forks 1\n$/);
    expect(
      splitPgn(readFileSync(join(s, "FORKS.PGN"), "utf8"), "FORKS.PGN").map((m) => m.text)
    ).toEqual([fork]);
  });

  it("a message that a held lipmaa link names is tied by it: a path taken from the top down", () => {
    const down = [40, 13, 4, 1, 0];
    expect(
      verifyInput({ messages: messagesOf(down.map((d) => feed.texts[d])), blobs: [] }, nodeChecks)
        .messages
    ).toEqual({ accepted: 5, refused: 0 });
    // and nothing else: 12 is named by no held link
    expect(
      verifyInput(
        { messages: messagesOf([40, 12].map((d) => feed.texts[d])), blobs: [] },
        nodeChecks
      ).refusals.map((x) => x.reason)
    ).toEqual([
      "depth 12 leaves a gap: nothing is held at depth 11 (prev) or 8 (lipmaa), and no certificate path reaches it",
    ]);
  });
});

describe("a store with gaps, and export --latest", () => {
  it("takes the newest messages with their path, says which depths it holds, fills the gap later, and passes paths on", () => {
    const src = join(tmp, "src"),
      full = join(tmp, "full.pgn");
    mkdirSync(src);
    writeFileSync(full, feed.texts.slice(0, 2000).join("\n\n") + "\n");
    expect(pigeon("import", full, "--store", src).code).toBe(0);
    const latest = join(tmp, "latest");
    const e = pigeon("export", latest, "--latest", "10", "--all", "--store", src);
    const pathLen = certificatePath(1990, 0).length - 1; // below depth 1990, down to and with depth 0
    expect(e.out).toMatch(new RegExp(`exported ${10 + pathLen} messages of 1 feeds`));
    // a new reader: depth 0, the path, and the newest ten verify; it holds them with gaps
    const gap = join(tmp, "gap");
    expect(pigeon("import", latest, "--store", gap).out).toMatch(
      new RegExp(`messages: ${10 + pathLen} accepted, 0 refused`)
    );
    const shown = /depths (\S+)/
      .exec(pigeon("feeds", "--store", gap).out)![1]
      .split(",")
      .flatMap((r) => {
        const [a, b = a] = r.split("..").map(Number);
        return Array.from({ length: b - a + 1 }, (_, i) => a + i);
      });
    expect(shown).toEqual([
      ...certificatePath(1990, 0).reverse(),
      1991,
      1992,
      1993,
      1994,
      1995,
      1996,
      1997,
      1998,
      1999,
    ]);
    // csv gives exactly the depths held
    const rows = pigeon("csv", "--store", gap).out.trim().split("\n").slice(1);
    expect(rows.length).toBe(10 + pathLen);
    // it passes what it holds on to a third reader, which checks it the same way
    const onward = join(tmp, "onward"),
      third = join(tmp, "third");
    pigeon("export", onward, "--all", "--store", gap);
    expect(pigeon("import", onward, "--store", third).out).toMatch(
      new RegExp(`messages: ${10 + pathLen} accepted, 0 refused`)
    );
    // the whole feed later fills the gap: one range
    expect(pigeon("import", full, "--store", gap).code).toBe(0);
    expect(pigeon("feeds", "--store", gap).out).toMatch(/depths 0\.\.1999 /);
    expect(pigeon("csv", "--store", gap).out.trim().split("\n").length).toBe(1 + 2000);
    // and newer messages extend the newest run
    writeFileSync(join(tmp, "more.pgn"), feed.texts.slice(2000, 2100).join("\n\n") + "\n");
    expect(pigeon("import", join(tmp, "more.pgn"), "--store", gap).code).toBe(0);
    expect(pigeon("feeds", "--store", gap).out).toMatch(/depths 0\.\.2099 /);
  });

  it("a store with gaps refuses a message whose path does not reach what it holds", () => {
    const s = join(tmp, "strict"),
      f = join(tmp, "strict.pgn"),
      d = 802,
      l = lipmaa(d)!;
    expect(l).toBeGreaterThan(4);
    writeFileSync(f, [...feed.texts.slice(0, 5), feed.texts[d]].join("\n\n") + "\n");
    const r = pigeon("import", f, "--store", s);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `depth ${d} leaves a gap: nothing is held at depth ${d - 1} (prev) or ${l} (lipmaa), and no certificate path reaches it`
    );
    expect(pigeon("feeds", "--store", s).out).toMatch(/depths 0\.\.4 /);
  });

  it("export --latest for a peer sends the path down to what the peer holds, not to 0", () => {
    const src = join(tmp, "src"),
      peer = join(tmp, "peer"),
      out = join(tmp, "for-peer");
    writeFileSync(join(tmp, "head.pgn"), feed.texts.slice(0, 1000).join("\n\n") + "\n");
    pigeon("import", join(tmp, "head.pgn"), "--store", peer);
    pigeon("have", join(tmp, "peer.have"), "--store", peer);
    const pathLen = certificatePath(1990, 999).length - 2; // without 1990 (sent anyway) and 999 (held)
    expect(
      pigeon(
        "export",
        out,
        "--latest",
        "10",
        "--since",
        join(tmp, "peer.have"),
        "--all",
        "--store",
        src
      ).out
    ).toMatch(new RegExp(`exported ${10 + pathLen} messages`));
    expect(pigeon("import", out, "--store", peer).out).toMatch(
      new RegExp(`messages: ${10 + pathLen} accepted, 0 refused`)
    );
  });
});

describe("the board answers a request for its newest messages through the card", () => {
  it("LATEST.REQ on the card: the board writes LATEST/MESSAGES.PGN, the newest messages after their path, and the host verifies it", async () => {
    expect(ensure(["mcopy"])).toEqual([]);
    const file = join(tmp, "req.img"),
      img = await createImage(file, 32 << 20);
    const b = loggerBoard({
      profile: "bare",
      image: img,
      clock: 1764000000,
      seedBytes: Array.from({ length: 32 }, (_, i) => 3 * i),
    });
    b.runFor(5 * 86400 + 1); // 720 readings
    // the collector pulls the card, puts the request on it with a laptop (mtools here), puts it back
    b.removeCard();
    b.runFor(600); // a reading while the card is out: kept in flash
    img.save();
    const put = (text: string) => (
      writeFileSync(join(tmp, "LATEST.REQ"), text),
      execFileSync("mcopy", ["-o", "-i", file, join(tmp, "LATEST.REQ"), "::LATEST.REQ"])
    );
    put("50\n");
    let card = await FatImage.fromBuffer(file, readFileSync(file));
    b.insertCard(card);
    b.runFor(3 * 600); // the next readings mount the card again and answer
    expect(card.readFile("LATEST.REQ")).toBeUndefined();
    const texts = splitPgn(
      card.readFile("LATEST/MESSAGES.PGN")!.toString("utf8"),
      "MESSAGES.PGN"
    ).map((m) => m.text);
    const depths = texts.map((t) => Number(/\ndepth (\d+)\n/.exec(t)![1])),
      top = depths[depths.length - 1];
    expect(top).toBeGreaterThanOrEqual(719);
    expect(depths).toEqual([
      ...certificatePath(top - 49, 0).reverse(),
      ...Array.from({ length: 49 }, (_, i) => top - 48 + i),
    ]);
    const r = verifyInput({ messages: messagesOf(texts), blobs: [] }, nodeChecks);
    expect(r.messages).toEqual({ accepted: texts.length, refused: 0 });
    // a request the board cannot read is answered with why, and removed
    b.removeCard();
    b.runFor(600);
    card.save();
    put("lots\n");
    card = await FatImage.fromBuffer(file, readFileSync(file));
    b.insertCard(card);
    b.runFor(3 * 600);
    expect(card.readFile("LATEST.REQ")).toBeUndefined();
    expect(card.readFile("LATEST/ERROR.TXT")!.toString()).toBe(
      'LATEST.REQ: expected a number of messages from 1 to 100000, not "lots\\n"\n'
    );
    expect(b.errors).toEqual([]);
  });
});
