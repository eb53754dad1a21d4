// pigeon import, feeds, log, csv, export: the store, and gossip between stores.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loggerBoard } from "../sim/loggerboard";
import { createImage } from "../sim/card/image";
import { Pigeon } from "./pigeon";
import { invalid, VECTORS, vectors } from "./vectors";
import { makeFeed, signFeed } from "./feed";

const root = resolve(__dirname, "..");
const tmp = mkdtempSync(join(tmpdir(), "pigeon-store-"));
function pigeon(...args: string[]) {
  const p = spawnSync("node", [join(root, "bin/pigeon.mjs"), ...args], { encoding: "utf8" });
  return { code: p.status, out: p.stdout, err: p.stderr };
}
const verifyJson = (path: string) => JSON.parse(pigeon("verify", path, "--json").out);

describe("the store", () => {
  it("imports the vector bundle with both blobs; importing it again changes nothing", () => {
    const s = join(tmp, "a");
    expect(pigeon("import", join(VECTORS, "bundle-ab"), "--store", s).out).toMatch(
      /messages: 47 accepted, 0 refused; blobs: 2 accepted/
    );
    const files = readdirSync(s).sort();
    const log1 = pigeon("log", "--store", s).out;
    expect(pigeon("import", join(VECTORS, "bundle-ab"), "--store", s).code).toBe(0);
    expect(readdirSync(s).sort()).toEqual(files);
    expect(pigeon("log", "--store", s).out).toBe(log1);
    expect(pigeon("feeds", "--store", s).out).toMatch(
      new RegExp(
        `${vectors.feeds[0].author.replace(/\./g, "\\.")} depths 0\\.\\.41 last 2026-01-01T10:15:00\\.000Z forks 0`
      )
    );
  });

  it("feeds interleaved in one bundle are each held whole and in order", () => {
    const a = makeFeed(300, new Uint8Array(32).fill(1)),
      b = makeFeed(300, new Uint8Array(32).fill(2)),
      f = join(tmp, "inter.pgn"),
      s = join(tmp, "inter");
    writeFileSync(f, a.texts.flatMap((t, i) => [t, b.texts[i]]).join("\n\n") + "\n");
    expect(pigeon("import", f, "--store", s).code).toBe(0);
    for (const x of [a, b])
      expect(pigeon("log", x.author, "--store", s).out).toBe(
        x.texts.map((t) => t + "\n\n").join("")
      );
  });

  it("keeps the valid prefix of a feed and refuses the rest, losing nothing it held", () => {
    const s = join(tmp, "b"),
      f = join(tmp, "b.pgn");
    const a = vectors.feeds[0].messages.map((m) => m.text);
    writeFileSync(f, a.slice(0, 5).join("\n\n") + "\n");
    pigeon("import", f, "--store", s);
    writeFileSync(f, [...a.slice(5, 8), invalid[0].text, a[9]].join("\n\n") + "\n");
    const r = pigeon("import", f, "--store", s);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/messages: 3 accepted, 2 refused/);
    expect(pigeon("feeds", "--store", s).out).toMatch(/depths 0\.\.7 /);
  });

  it("gossip: A exports, B imports, B exports for C, C holds A's feed; then only what C lacks", async () => {
    const img = await createImage(join(tmp, "card.img"), 32 << 20);
    loggerBoard({
      profile: "bare",
      image: img,
      clock: 1764000000,
      seedBytes: Array.from({ length: 32 }, (_, i) => 9 * i),
    }).runFor(6 * 3600 + 1);
    img.save();
    const logger = Pigeon.identity(Uint8Array.from(Array.from({ length: 32 }, (_, i) => 9 * i)));
    const [A, B, C] = ["A", "B", "C"].map((n) => join(tmp, n)),
      c = pigeon("identity", "--store", C).out.trim();
    expect(pigeon("import", join(tmp, "card.img"), "--store", A).code).toBe(0);
    pigeon("import", join(VECTORS, "bundle-ab"), "--store", B);
    // A follows the logger; B follows the logger and one feed of the vector bundle (feed-a, which references one of its blobs)
    pigeon("follow", logger, "--store", A);
    expect(pigeon("export", join(tmp, "fromA"), "--store", A).out).toMatch(
      /exported 36 messages of 1 feeds and 0 blobs/
    );
    expect(pigeon("import", join(tmp, "fromA"), "--store", B).code).toBe(0);
    pigeon("follow", logger, "--store", B);
    pigeon("follow", vectors.feeds[0].author, "--store", B);
    const e = pigeon("export", join(tmp, "fromB"), "--for", c, "--store", B),
      n0 = vectors.feeds[0].messages.length;
    expect(e.out).toMatch(
      new RegExp(
        `exported ${n0 + 36} messages of 2 feeds and 1 blobs .*; 1 feeds held but not followed stay`
      )
    );
    expect(verifyJson(join(tmp, "fromB"))).toEqual({
      messages: { accepted: n0 + 36, refused: 0 },
      blobs: { accepted: 1, refused: 0 },
      refusals: [],
    });
    pigeon("import", join(tmp, "fromB"), "--store", C);
    const feeds = pigeon("feeds", "--store", C).out;
    expect(feeds).toContain(`${logger} depths 0..35 `);
    expect(feeds.trim().split("\n").length).toBe(2);
    // C's next bundle tells B what C holds: B then sends C nothing it has
    pigeon("follow", logger, "--store", C);
    pigeon("export", join(tmp, "fromC"), "--store", C);
    const have = readFileSync(join(tmp, "fromC", "HAVE.TXT"), "utf8");
    expect(
      have.startsWith(`have ${c}\n`) &&
        have.includes(`\n${logger} 0 35\n`) &&
        have.includes(`\n${vectors.feeds[0].author} 0 ${n0 - 1}\n`)
    ).toBe(true);
    pigeon("import", join(tmp, "fromC"), "--store", B);
    expect(pigeon("export", join(tmp, "again"), "--for", c, "--store", B).out).toMatch(
      /exported 0 messages of 0 feeds/
    );
    // --since: a have-file the peer wrote; --all: unfollowed feeds too
    pigeon("have", join(tmp, "c.have"), "--store", C);
    expect(
      pigeon("export", join(tmp, "since"), "--since", join(tmp, "c.have"), "--all", "--store", B)
        .out
    ).toMatch(new RegExp(`exported ${vectors.feeds[1].messages.length} messages of 1 feeds`));
    writeFileSync(join(tmp, "old.have"), `have ${c}\n${logger} 0 9\n`);
    expect(
      pigeon("export", join(tmp, "since"), "--since", join(tmp, "old.have"), "--store", B).out
    ).toMatch(new RegExp(`exported ${n0 + 26} messages of 2 feeds`));
    expect(pigeon("import", join(tmp, "since"), "--store", C).out).toMatch(
      new RegExp(`messages: ${n0 + 26} accepted, 0 refused`)
    );
    expect(pigeon("feeds", "--store", C).out).toContain(`${logger} depths 0..35 `);
  });

  it("a have-file with a fault is refused with its file and line; nothing is written", () => {
    const s = join(tmp, "have-bad"),
      f = join(tmp, "bad.have");
    pigeon("import", join(VECTORS, "bundle-ab"), "--store", s);
    writeFileSync(f, `have ${vectors.feeds[0].author}\n${vectors.feeds[1].author} 7 3\n`);
    const r = pigeon("export", join(tmp, "none"), "--since", f, "--all", "--store", s);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${f}:2: expected "@<identity>.ed25519 <first depth> <last depth>"`);
    expect(existsSync(join(tmp, "none"))).toBe(false);
  });

  it("a blocked feed is refused at import and never exported", () => {
    const s = join(tmp, "blocked"),
      bad = vectors.feeds[1].author;
    pigeon("block", bad, "--store", s);
    const r = pigeon("import", join(VECTORS, "bundle-ab"), "--store", s, "--json");
    const n = vectors.feeds[1].messages.length;
    expect(JSON.parse(r.out).messages).toEqual({ accepted: 47 - n, refused: n });
    expect(JSON.parse(r.out).refusals[0]).toEqual({
      author: bad,
      depth: 0,
      reason: `${bad} is blocked by this store`,
    });
    expect(pigeon("export", join(tmp, "blocked-out"), "--all", "--store", s).out).toMatch(
      new RegExp(`exported ${47 - n} messages of 1 feeds`)
    );
  });

  it("shows a progress bar on a terminal and stays quiet when piped; a pipe gets all the output", () => {
    const f = join(tmp, "long.pgn"),
      { texts } = signFeed(3000, new Uint8Array(32).fill(5), (d) => [
        ["t", `"${1764000000 + 600 * d}"`],
        ["temp", `"${d % 40}"`],
      ]);
    writeFileSync(f, texts.join("\n\n") + "\n");
    const piped = pigeon("import", f, "--store", join(tmp, "quiet"));
    expect(piped.code).toBe(0);
    expect(piped.err).toBe("");
    // all of a long output reaches a pipe (more than a pipe's buffer), none lost at exit
    expect(pigeon("csv", "--store", join(tmp, "quiet")).out.trim().split("\n").length).toBe(3001);
    // `script` runs the command on a pseudo-terminal
    const cmd = `node ${join(root, "bin/pigeon.mjs")} import ${f} --store ${join(tmp, "tty")}`;
    const tty = spawnSync("script", ["-qec", cmd, "/dev/null"], { encoding: "utf8" });
    expect(tty.status).toBe(0);
    expect(tty.stdout).toMatch(/importing \[#*\.*\] +\d+% [\d,]+ messages, [\d,]+\/s/);
    expect(tty.stdout).toMatch(/messages: 3000 accepted/);
    const ex = spawnSync(
      "script",
      [
        "-qec",
        `node ${join(root, "bin/pigeon.mjs")} export ${join(tmp, "tty-out")} --all --store ${join(tmp, "tty")}`,
        "/dev/null",
      ],
      { encoding: "utf8" }
    );
    expect(ex.stdout).toMatch(/exporting \[#{30}\] 100% 3,000 messages/);
    expect(
      pigeon("export", join(tmp, "quiet-out"), "--all", "--store", join(tmp, "quiet")).err
    ).toBe("");
  });

  it("csv has one row per reading value of the card, and --key picks one", async () => {
    const img = await createImage(join(tmp, "csv.img"), 32 << 20);
    loggerBoard({
      profile: "bare",
      image: img,
      clock: 1764000000,
      seedBytes: Array.from({ length: 32 }, (_, i) => i),
      config: "sensors=temp,vbat\n",
    }).runFor(3600 + 1);
    img.save();
    const s = join(tmp, "csv");
    pigeon("import", join(tmp, "csv.img"), "--store", s);
    const rows = pigeon("csv", "--store", s).out.trim().split("\n");
    expect(rows[0]).toBe("feed,depth,time,key,value");
    expect(rows.length).toBe(1 + 6 * 2);
    expect(rows[1]).toMatch(/^@[0-9A-Z]{52}\.ed25519,0,1764000600,temp,[-0-9.]+$/);
    expect(pigeon("csv", "--key", "vbat", "--store", s).out.trim().split("\n").length).toBe(1 + 6);
  });
});

describe("identity, follows and plots", () => {
  it("identity is made once and stays; follow, unfollow and block keep their lists", () => {
    const s = join(tmp, "id");
    const a = pigeon("identity", "--store", s).out.trim();
    expect(a).toMatch(/^@[0-9A-Z]{52}\.ed25519$/);
    expect(pigeon("identity", "--store", s).out.trim()).toBe(a);
    const who = vectors.feeds[0].author,
      other = vectors.feeds[1].author;
    pigeon("follow", who, "--store", s);
    pigeon("follow", other, "--store", s);
    pigeon("block", other, "--store", s);
    const { readFileSync } = require("node:fs");
    expect(readFileSync(join(s, "FOLLOWS.TXT"), "utf8")).toBe(who + "\n");
    expect(readFileSync(join(s, "BLOCKS.TXT"), "utf8")).toBe(other + "\n");
    pigeon("unfollow", who, "--store", s);
    expect(readFileSync(join(s, "FOLLOWS.TXT"), "utf8")).toBe("");
    expect(pigeon("follow", "@nope", "--store", s).code).toBe(2);
  });
  it("plot draws one point per reading of the key, with a gap where readings stop", () => {
    const s = join(tmp, "plot"),
      f = join(tmp, "plot.pgn");
    // a day without readings after the 10th
    const { texts } = signFeed(20, new Uint8Array(32).fill(3), (d) => [
      ["t", `"${1764000000 + 600 * d + (d >= 10 ? 86400 : 0)}"`],
      ["temp", `"${20 + d / 10}"`],
    ]);
    writeFileSync(f, texts.join("\n\n") + "\n");
    pigeon("import", f, "--store", s);
    const out = join(tmp, "temp.svg");
    expect(pigeon("plot", "--key", "temp", "--out", out, "--store", s).out).toMatch(
      /20 points of temp/
    );
    const svg = require("node:fs").readFileSync(out, "utf8");
    const d = /<path d="(M[^"]+)" fill="none" stroke="#1f77b4"/.exec(svg)![1];
    expect(d.match(/[ML]/g)!.length).toBe(20);
    expect(d.match(/M/g)!.length).toBe(2); // the day without readings is a gap, not a line
    expect(pigeon("plot", "--key", "nothing", "--out", out, "--store", s).code).toBe(1);
  });
});
