// pigeon post and pigeon blob: the store's own feed written to, as the first
// Pigeon client lets its user write (issue 18, part 1).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { splitPgn } from "../targets/host/bundle";
import { blobPath } from "../src/log";
import { Store } from "../targets/node/store";
import { post } from "../targets/node/post";
import { checkFeed } from "./feed";
import { Pigeon } from "./pigeon";

const root = resolve(__dirname, "..");
const tmp = mkdtempSync(join(tmpdir(), "pigeon-post-"));
function pigeon(...args: string[]) {
  const p = spawnSync("node", [join(root, "bin/pigeon.mjs"), ...args], { encoding: "utf8" });
  return { code: p.status, out: p.stdout, err: p.stderr };
}
/** Every file of a directory with a hash of its bytes: what a refusal must leave as it was. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out[p] = createHash("sha256").update(readFileSync(p)).digest("hex");
    }
  };
  walk(dir);
  return out;
}
/**
 * The body of a message as the first Pigeon client reads it (spec/pigeon.md,
 * section 3.2, informative): each line split on every ":", at most 7 digits
 * of depth; null where it cannot read the message.
 */
function firstClientBody(text: string): string[][] | null {
  const [head, body] = text.split("\n\n"),
    depth = /\ndepth (\d+)\n/.exec(head)![1];
  const entries = body.split("\n").map((l) => l.split(":"));
  return depth.length > 7 || entries.some((e) => e.length !== 2) ? null : entries;
}

describe("pigeon post and blob", () => {
  it("1,000 posts: a re-export verifies, the first client reads each one, and depths, prev and lipmaa links are right", () => {
    const s = join(tmp, "many"),
      photo = join(tmp, "photo.bin");
    writeFileSync(photo, createHash("sha512").update("a photo").digest());
    expect(pigeon("post", "visit", "site=ridge", "note=card swapped", "--store", s).code).toBe(0);
    const withFile = pigeon(
      "post",
      "photo",
      "--file",
      "img=" + photo,
      "caption=the mast",
      "--store",
      s
    );
    expect(withFile.code).toBe(0);
    expect(withFile.err).toBe("");
    const added = pigeon("blob", "add", photo, "--store", s).out.trim();
    expect(added).toBe(Pigeon.blobId(readFileSync(photo)));
    // the rest in this process, through the same function, from a store opened afresh
    const store = new Store(s);
    for (let i = 2; i < 999; i++) post(store, "note", [`n=${i}`, `ok=NONE`, `ref=${added}`], false);
    const last = pigeon("post", "note", "n=999", "--store", s);
    expect(last.code).toBe(0);
    const me = pigeon("identity", "--store", s).out.trim();
    expect(pigeon("feeds", "--store", s).out).toContain(`${me} depths 0..999 `);

    const out = join(tmp, "many-out");
    expect(pigeon("export", out, "--store", s).out).toMatch(
      /exported 1000 messages of 1 feeds and 1 blobs/
    );
    expect(JSON.parse(pigeon("verify", out, "--json").out)).toEqual({
      messages: { accepted: 1000, refused: 0 },
      blobs: { accepted: 1, refused: 0 },
      refusals: [],
    });
    const texts = splitPgn(readFileSync(join(out, "messages.pgn"), "utf8"), "").map((m) => m.text);
    checkFeed(texts);
    expect(Pigeon.id(texts[999])).toBe(last.out.trim());
    expect(firstClientBody(texts[0])).toEqual([
      ["site", '"ridge"'],
      ["note", '"card swapped"'],
    ]);
    expect(firstClientBody(texts[1])).toEqual([
      ["img", added],
      ["caption", '"the mast"'],
    ]);
    expect(firstClientBody(texts[500])).toEqual([
      ["n", '"500"'],
      ["ok", "NONE"],
      ["ref", added],
    ]);
    for (const t of texts) expect(firstClientBody(t)).not.toBeNull();
    // the blob travels with the message that names it, at its bundle path
    expect(readFileSync(join(out, blobPath(added.slice(1, 53)).slice(2)))).toEqual(
      readFileSync(photo)
    );
    const got = spawnSync("node", [
      join(root, "bin/pigeon.mjs"),
      "blob",
      "get",
      added,
      "--store",
      s,
    ]);
    expect(got.status).toBe(0);
    expect(got.stdout).toEqual(readFileSync(photo));
  }, 120000);

  it("refuses what the format refuses, naming the key or value, and writes nothing", () => {
    const s = join(tmp, "refused"),
      big = join(tmp, "big.bin"),
      small = join(tmp, "small.bin");
    expect(pigeon("post", "note", "a=1", "--store", s).code).toBe(0);
    writeFileSync(big, Buffer.alloc(360001));
    writeFileSync(small, "a small blob");
    const before = snapshot(s),
      log = pigeon("log", "--store", s).out;
    const cases: [string[], RegExp][] = [
      [["note", "a b=1"], /a b="1": expected ':' after the key/],
      [["note", "t=1", "x="], /x="": string of 0 characters, not 1 to 128/],
      [["note", "t=" + "é".repeat(129)], /t="é+": string of 129 characters, not 1 to 128/],
      [["note", "t=1", "t=2"], /t="2": duplicate key/],
      [["note", "t=a\u0007b"], /t="a\u0007b": control character in string/],
      [["note", "t=1\nu=2"], /t="1\nu=2": /],
      [["no:te", "t=1"], /kind no:te: expected end of line/],
      [
        ["note", ...Array.from({ length: 65 }, (_, i) => `k${i}=v`)],
        /k64="v": more than 64 body entries/,
      ],
      [["note", "novalue"], /novalue: expected key=value/],
      [["note", "--file", "img=" + big], /big\.bin: 360001 bytes; a blob is at most 360,000 bytes/],
      [["note", "t=1", "--file", "img=" + big], /a blob is at most 360,000 bytes/],
      [["note", "--file", "img=" + small, "x="], /x="": string of 0 characters/], // the blob is not kept either
      [
        ["note", "t=12:30", "--strict"],
        /t="12:30": a string holding ":": the first Pigeon client cannot read it \(--strict\)/,
      ],
    ];
    // each through the function `pigeon post` calls; two through the command itself
    const store = new Store(s);
    for (const [[kind, ...args], why] of cases)
      expect(() =>
        post(
          store,
          kind,
          args.filter((a) => a !== "--strict"),
          args.includes("--strict")
        )
      ).toThrow(why);
    for (const [args, why] of [cases[1], cases[cases.length - 1]]) {
      const r = pigeon("post", ...args, "--store", s);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.err).toMatch(/^pigeon: refused, nothing written: /);
      expect(r.err).toMatch(why);
      expect(r.out).toBe("");
    }
    expect(pigeon("blob", "add", big, "--store", s).code).toBe(1);
    expect(pigeon("post", "note", "--file", "img=" + join(tmp, "missing"), "--store", s).code).toBe(
      2
    );
    expect(snapshot(s)).toEqual(before);
    expect(pigeon("log", "--store", s).out).toBe(log);
    expect(pigeon("post", "--store", s).code).toBe(2);
  });

  it('values: strings quoted, ids and NONE as themselves, a quoted value as it is; ":" written with a warning', () => {
    const s = join(tmp, "values"),
      who = pigeon("identity", "--store", s).out.trim();
    const r = pigeon(
      "post",
      "note",
      "a=NONE",
      `b=${who}`,
      'c="NONE"',
      "d=@home",
      'e=say "hi"',
      "time=12:30",
      "--store",
      s
    );
    expect(r.code).toBe(0);
    expect(r.err).toBe(
      'pigeon: warning: time="12:30": a string holding ":": allowed, but the first Pigeon client cannot read it\n'
    );
    const text = pigeon("log", "--store", s).out.trim();
    expect(Pigeon.refusal(text)).toBe("");
    expect(text.split("\n\n")[1]).toBe(
      `a:NONE\nb:${who}\nc:"NONE"\nd:"@home"\ne:"say "hi""\ntime:"12:30"`
    );
    expect(firstClientBody(text)).toBeNull();
  });

  it("blob get: the bytes as kept; a blob the store lacks, or whose bytes changed, is an error", () => {
    const s = join(tmp, "blobs"),
      f = join(tmp, "b.txt");
    writeFileSync(f, "some bytes\n");
    const id = pigeon("blob", "add", f, "--store", s).out.trim();
    expect(pigeon("blob", "get", id, "--store", s).out).toBe("some bytes\n");
    const other = Pigeon.blobId(new Uint8Array([1]));
    expect(pigeon("blob", "get", other, "--store", s)).toMatchObject({
      code: 1,
      err: `pigeon: no blob ${other} in the store\n`,
    });
    writeFileSync(join(s, blobPath(id.slice(1, 53))), "other bytes\n");
    expect(pigeon("blob", "get", id, "--store", s)).toMatchObject({
      code: 2,
      err: expect.stringContaining(`do not hash to ${id}`),
    });
    expect(pigeon("blob", "get", "nonsense", "--store", s).code).toBe(2);
  });
});
