// pigeon import keeps every valid message of a bundle, whatever its size, kind
// or author, and names each bad one; known messages cost a hash (issue 15).
import { spawnSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { blobPath } from "../src/log";
import { certificatePath } from "../src/lipmaa";
import {
  memoryHolder,
  Verifier,
  verifyInput,
  type Checks,
  type Holder,
} from "../targets/host/chain";
import { splitPgn } from "../targets/host/bundle";
import { importInto } from "../targets/node/import";
import { Store } from "../targets/node/store";
import { nodeChecks } from "../targets/node/checks";
import { makeFeed, signFeed } from "./feed";
import { Pigeon } from "./pigeon";

const root = resolve(__dirname, "..");
const tmp = mkdtempSync(join(tmpdir(), "pigeon-import-"));
function pigeon(...args: string[]) {
  const p = spawnSync("node", [join(root, "bin/pigeon.mjs"), ...args], { encoding: "utf8" });
  return { code: p.status, out: p.stdout, err: p.stderr };
}
const sources = (texts: string[], file = "m.pgn") =>
  texts.map((text, i) => ({ text, file, line: 1 + 10 * i }));

// Long values: 1- to 4-byte characters, 128 code points at most (M1), no DQUOTE.
const CHARS = ["a", "Z", "7", " ", "-", "é", "ß", "Ω", "温", "度", "€", "😀", "𝄞"];
const value = (d: number, i: number, n: number) =>
  Array.from({ length: n }, (_, j) => CHARS[(d * 31 + i * 7 + j * 13) % CHARS.length]).join("");
/** 2 to 8 KB: 8 to 30 entries of 100 to 128 code points. */
const longBody = (d: number) =>
  Array.from({ length: 8 + ((d * 7) % 23) }, (_, i) => [
    `line${i}`,
    `"${value(d, i, 100 + ((d + i) % 29))}"`,
  ]);
/** The longest body there is: 64 keys of 90 characters, each a string of 128 4-byte characters (spec/pigeon.md, 3.2). */
const longestBody = () =>
  Array.from({ length: 64 }, (_, i) => [
    `${String(i).padStart(2, "0")}${"k".repeat(88)}`,
    `"${"😀".repeat(128)}"`,
  ]);

describe("an import of a bundle of several authors with long messages, blobs and one bad message", () => {
  const blobs = [
    new Uint8Array(2000).map((_, i) => (i * 7) & 255),
    new Uint8Array(100000).map((_, i) => (i * i) & 255),
  ];
  const blobIds = blobs.map((b) => Pigeon.blobId(b) as string);
  let feeds: ReturnType<typeof signFeed>[], valid: string[], bundle: string, badLine: number;

  beforeAll(() => {
    const a = signFeed(
      30,
      new Uint8Array(32).fill(11),
      (d) => (d === 3 ? [["photo", blobIds[0]], ...longBody(d)] : longBody(d)),
      "note"
    );
    const b = signFeed(30, new Uint8Array(32).fill(12), (d) => [
      d === 5 ? [blobIds[1], '"the second blob"'] : ["t", `"${1764000000 + 600 * d}"`],
      ...longBody(d),
    ]);
    const c = signFeed(
      30,
      new Uint8Array(32).fill(13),
      (d) => (d === 7 ? longestBody() : longBody(d)),
      "x".repeat(90)
    );
    feeds = [a, b, c];
    valid = a.texts.flatMap((t, d) => [t, b.texts[d], c.texts[d]]);
    expect(Math.min(...valid.map((t) => Buffer.byteLength(t)))).toBeGreaterThan(1000);
    expect(Buffer.byteLength(c.texts[7])).toBeGreaterThan(39000);
    // the bad one: a copy of b's depth 15 with one character changed, just before the real one
    const bad = b.texts[15].replace('line0:"', 'line0:"X'),
      at = valid.indexOf(b.texts[15]),
      texts = [...valid.slice(0, at), bad, ...valid.slice(at)];
    badLine = 1 + texts.slice(0, at).reduce((n, t) => n + t.split("\n").length + 1, 0);
    bundle = join(tmp, "bundle");
    mkdirSync(bundle);
    writeFileSync(join(bundle, "messages.pgn"), texts.join("\n\n") + "\n");
    for (const [i, id] of blobIds.entries()) {
      const path = join(bundle, blobPath(id.slice(1, 53)).slice(2));
      mkdirSync(join(path, ".."), { recursive: true });
      writeFileSync(path, blobs[i]);
    }
  });

  /** Every file of a store, its size and when it was last written (the logs are large sparse files: not read). */
  const snapshot = (dir: string): Record<string, string> => {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
      for (const n of readdirSync(d).sort()) {
        const p = join(d, n),
          st = statSync(p);
        if (st.isDirectory()) walk(p);
        else out[p.slice(dir.length)] = `${st.size} bytes, written ${st.mtimeMs}`;
      }
    };
    walk(dir);
    return out;
  };

  it("stores every valid message and both blobs, names the bad one by file, line and reason, exits 1; a second import changes nothing", () => {
    const s = join(tmp, "store"),
      r = pigeon("import", bundle, "--store", s);
    expect(r.err).toBe("");
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `${join(bundle, "messages.pgn")}:${badLine}: ${feeds[1].author} depth 15: signature does not verify\n`
    );
    expect(r.out).toMatch(/messages: 90 accepted, 1 refused; blobs: 2 accepted, 0 refused\n$/);
    for (const f of feeds)
      expect(pigeon("log", f.author, "--store", s).out).toBe(
        f.texts.map((t) => t + "\n\n").join("")
      );
    for (const id of blobIds)
      expect(statSync(join(s, blobPath(id.slice(1, 53)))).isFile()).toBe(true);
    const before = snapshot(s),
      again = pigeon("import", bundle, "--store", s);
    expect(again.code).toBe(1);
    expect(again.out).toBe(r.out);
    expect(snapshot(s)).toEqual(before);
  });

  it("its re-export verifies and holds every valid message and blob", () => {
    const s = join(tmp, "store"),
      out = join(tmp, "re-export");
    expect(pigeon("export", out, "--all", "--store", s).out).toMatch(
      /^exported 90 messages of 3 feeds and 2 blobs/
    );
    const r = pigeon("verify", out, "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      messages: { accepted: 90, refused: 0 },
      blobs: { accepted: 2, refused: 0 },
      refusals: [],
    });
    expect(
      splitPgn(readFileSync(join(out, "messages.pgn"), "utf8"), "x")
        .map((m) => m.text)
        .sort()
    ).toEqual([...valid].sort());
  });
});

describe("known messages, duplicates and a holder that cannot keep one", () => {
  const feed = makeFeed(40, new Uint8Array(32).fill(21));
  /** nodeChecks that count the signature checks. */
  const counting = () => {
    const c = { checked: 0, checks: { ...nodeChecks } as Checks };
    c.checks.refusal = (b, t) => (c.checked++, nodeChecks.refusal(b, t));
    return c;
  };

  it("a message the store holds is recognised by its id before any signature is checked; any other text at a held depth is checked", () => {
    // and a feed held with gaps: a certificate path (loose messages) and the newest 50 (a run)
    const gapped = makeFeed(200, new Uint8Array(32).fill(24)),
      held = [
        ...certificatePath(150, 0).reverse(),
        ...Array.from({ length: 49 }, (_, i) => 151 + i),
      ];
    const texts = [...feed.texts, ...held.map((d) => gapped.texts[d])];
    const s = new Store(join(tmp, "known"));
    expect(importInto(s, { messages: sources(texts), blobs: [] }).report.messages).toEqual({
      accepted: texts.length,
      refused: 0,
    });
    expect(s.ranges(gapped.author).length).toBeGreaterThan(3);
    const again = counting(),
      r = verifyInput(
        { messages: sources(texts), blobs: [] },
        again.checks,
        new Store(join(tmp, "known"))
      );
    expect(r.messages).toEqual({ accepted: texts.length, refused: 0 });
    expect(again.checked).toBe(0);
    // the same author and depth with other bytes: checked, and refused for what it is
    const forged = feed.texts[7].replace('temp:"', 'temp:"1'),
      broken = feed.texts[8].replace("\nkind ", "\nkind  ");
    const other = counting(),
      o = verifyInput(
        { messages: sources([forged, broken]), blobs: [] },
        other.checks,
        new Store(join(tmp, "known"))
      );
    expect(other.checked).toBe(2);
    expect(o.refusals.map((x) => x.reason)).toEqual([
      "signature does not verify",
      "line 2: kind: expected 1 to 90 of A-Z a-z 0-9 - _ . = @ & %",
    ]);
  });

  it("a message the input holds twice counts once, for the CLI and the viewer alike (they share the Verifier)", () => {
    const texts = [
      feed.texts[0],
      feed.texts[1],
      feed.texts[1],
      feed.texts[2],
      feed.texts[0],
      feed.texts[2],
    ];
    expect(verifyInput({ messages: sources(texts), blobs: [] }, nodeChecks).messages).toEqual({
      accepted: 3,
      refused: 0,
    });
    const v = new Verifier(nodeChecks, memoryHolder(true));
    for (const m of sources(texts)) v.message(m);
    expect(v.byAuthor.get(feed.author)).toEqual({ accepted: 3, refused: 0 });
    // into a store that holds them already: each counts once too
    const s = join(tmp, "twice");
    writeFileSync(join(tmp, "twice.pgn"), texts.join("\n\n") + "\n");
    expect(pigeon("import", join(tmp, "twice.pgn"), "--store", s).out).toMatch(
      /messages: 3 accepted, 0 refused/
    );
    expect(pigeon("import", join(tmp, "twice.pgn"), "--store", s).out).toMatch(
      /messages: 3 accepted, 0 refused/
    );
  });

  it("a message the holder cannot keep is refused with its file, line and why; the messages after it are taken", () => {
    const inner = memoryHolder();
    const holder: Holder = {
      ...inner,
      accept: (a, d, id, t) => (d === 10 ? "no room for depth 10" : inner.accept(a, d, id, t)),
    };
    const other = makeFeed(5, new Uint8Array(32).fill(22));
    const r = verifyInput(
      {
        messages: sources([...feed.texts.slice(0, 11), ...other.texts, feed.texts[13]]),
        blobs: [],
      },
      nodeChecks,
      holder
    );
    expect(r.refusals).toEqual([
      {
        author: feed.author,
        depth: 10,
        reason: "not stored: no room for depth 10",
        file: "m.pgn",
        line: 101,
      },
    ]);
    expect(r.messages).toEqual({ accepted: 10 + 5 + 1, refused: 1 }); // depth 13: its lipmaa link (4) is held
    expect(inner.idAt(feed.author, 10)).toBeUndefined();
  });

  it("a store that fails to write (a disk full) stops the import there with a clear error, and keeps what it took before", () => {
    const dir = join(tmp, "full"),
      other = makeFeed(5, new Uint8Array(32).fill(23));
    const s = new Store(dir),
      name = other.author.slice(1, 9) + ".LOG",
      open = s.disk.openFile.bind(s.disk);
    // the second feed's log is on a disk with no room left: every write to it fails as Node's does
    s.disk.openFile = (path, mode) => {
      const f = open(path, mode);
      if (f && path === name)
        f.write = () => {
          throw Object.assign(new Error("ENOSPC: no space left on device, write"), {
            code: "ENOSPC",
          });
        };
      return f;
    };
    const input = {
      messages: sources([...feed.texts.slice(0, 20), ...other.texts, ...feed.texts.slice(20)]),
      blobs: [],
    };
    expect(() => importInto(s, input)).toThrow(
      new RegExp(
        `^m\\.pgn:201: ${other.author.replace(/\./g, "\\.")} depth 0 could not be stored: ${name}: no room on the card for a log; stopped there, and everything taken before it is kept$`
      )
    );
    rmSync(join(dir, name));
    const reopened = new Store(dir);
    expect(reopened.ranges(feed.author)).toEqual([[0, 19]]);
    expect(reopened.known(other.author)).toBe(false);
  });
});
