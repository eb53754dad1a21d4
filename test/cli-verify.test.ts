// pigeon verify: bundles, messages.pgn files, card directories and card images.
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loggerBoard } from "../sim/loggerboard";
import { createImage } from "../sim/card/image";
import { Pigeon } from "./pigeon";
import { invalid, VECTORS, vectors } from "./vectors";

const root = resolve(__dirname, "..");
const tmp = mkdtempSync(join(tmpdir(), "pigeon-cli-"));
function pigeon(...args: string[]) {
  const p = spawnSync("node", [join(root, "bin/pigeon.mjs"), ...args], { encoding: "utf8" });
  return { code: p.status, out: p.stdout, err: p.stderr, json: () => JSON.parse(p.stdout) };
}
const feedA = vectors.feeds[0].messages.map((m) => m.text);

describe("pigeon verify", () => {
  it("the vector bundle verifies with both blobs", () => {
    const r = pigeon("verify", join(VECTORS, "bundle-ab"), "--json");
    expect(r.code).toBe(0);
    expect(r.json()).toEqual({
      messages: { accepted: 47, refused: 0 },
      blobs: { accepted: 2, refused: 0 },
      refusals: [],
    });
  });

  it("each invalid message in a bundle is refused with its reason and file:line, the valid ones around it are kept", () => {
    for (const [i, e] of invalid.entries()) {
      const dir = join(tmp, `inv${i}`);
      mkdirSync(dir, { recursive: true });
      // a feed-b message before it and after it: another author, unaffected
      const b = vectors.feeds[1].messages.map((m) => m.text);
      writeFileSync(join(dir, "messages.pgn"), [b[0], e.text, b[1]].join("\n\n") + "\n");
      const r = pigeon("verify", dir, "--json");
      expect(r.code, e.why).toBe(1);
      const j = r.json();
      expect(j.messages).toEqual({ accepted: 2, refused: 1 });
      expect(j.refusals[0].reason).toMatch(/^(line \d+: .+|signature does not verify)$/);
      const text = pigeon("verify", dir).out;
      expect(text).toMatch(
        new RegExp(
          `messages\\.pgn:\\d+: .*${j.refusals[0].reason.replace(/^line \d+: /, "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`
        )
      );
    }
  });

  it("a blob whose bytes do not match its name is refused", () => {
    const dir = join(tmp, "badblob");
    cpSync(join(VECTORS, "bundle-ab"), dir, { recursive: true });
    writeFileSync(join(dir, vectors.blobs[0].path), "not the blob");
    const r = pigeon("verify", dir, "--json");
    expect(r.code).toBe(1);
    expect(r.json().blobs).toEqual({ accepted: 1, refused: 1 });
    expect(r.json().refusals[0].reason).toMatch(
      /its bytes hash to &[0-9A-Z]{52}\.sha256, not to its name/
    );
  });

  it("a path in a bundle that leads out of it (a link) is refused and never read", () => {
    // the blob's first directory, and messages.pgn, are links to a copy outside the bundle
    const outside = join(tmp, "outside"),
      dir = join(tmp, "leaving"),
      top = vectors.blobs[0].path.split("/")[0];
    cpSync(join(VECTORS, "bundle-ab"), outside, { recursive: true });
    cpSync(join(VECTORS, "bundle-ab"), dir, { recursive: true });
    rmSync(join(dir, top), { recursive: true });
    symlinkSync(join(outside, top), join(dir, top));
    rmSync(join(dir, "messages.pgn"));
    symlinkSync(join(outside, "messages.pgn"), join(dir, "messages.pgn"));
    const r = pigeon("verify", dir, "--json");
    expect(r.code).toBe(1);
    expect(r.json().messages).toEqual({ accepted: 0, refused: 0 });
    expect(r.json().blobs).toEqual({ accepted: 0, refused: 2 });
    expect(
      r
        .json()
        .refusals.map((x: any) => x.reason)
        .sort()
    ).toEqual([
      `${top} leads out of the bundle directory: not read`,
      "messages.pgn leads out of the bundle directory: not read",
    ]);
    const s = join(tmp, "leaving-store");
    expect(pigeon("import", dir, "--store", s).code).toBe(1);
    expect(existsSync(join(s, "B"))).toBe(false);
  });

  it("a feed that starts above depth 0 is taken from there; a gap, a fork and a wrong prev are refused", () => {
    const f = join(tmp, "partial.pgn");
    writeFileSync(f, feedA.slice(5, 9).join("\n\n") + "\n");
    expect(pigeon("verify", f, "--json").json().messages).toEqual({ accepted: 4, refused: 0 });
    // depth 5's prev (4) is not held and it has no lipmaa link: nothing ties it to 0..2
    writeFileSync(f, [...feedA.slice(0, 3), feedA[5]].join("\n\n") + "\n");
    expect(
      pigeon("verify", f, "--json")
        .json()
        .refusals.map((x: any) => x.reason)
    ).toEqual([
      "depth 5 leaves a gap: nothing is held at depth 4 (prev), and no certificate path reaches it",
    ]);
    // depth 4's lipmaa link names depth 1, which is held: a certificate path, taken with a gap
    writeFileSync(f, [...feedA.slice(0, 3), feedA[4]].join("\n\n") + "\n");
    expect(pigeon("verify", f, "--json").json().messages).toEqual({ accepted: 4, refused: 0 });
    // a fork: another message at depth 1, properly signed by the same key
    const seed = Uint8Array.from(Buffer.from(vectors.feeds[0].seed_hex, "hex"));
    const id0 = vectors.feeds[0].messages[0].id;
    const forked = Pigeon.sign(seed, {
      kind: "reading",
      prev: id0,
      depth: 1,
      lipmaa: "NONE",
      body: [
        ["t", '"1764000600"'],
        ["temp_c", '"99.9"'],
      ],
    });
    writeFileSync(f, [feedA[0], feedA[1], forked].join("\n\n") + "\n");
    expect(pigeon("verify", f, "--json").json().refusals).toEqual([
      {
        author: vectors.feeds[0].author,
        depth: 1,
        reason: "fork: a different message at depth 1 (kept as evidence)",
      },
    ]);
    // a wrong prev: depth 2 pointing at the fork instead of the held depth 1
    const wrong = Pigeon.sign(seed, {
      kind: "reading",
      prev: Pigeon.id(forked),
      depth: 2,
      lipmaa: "NONE",
      body: [["t", '"1"']],
    });
    writeFileSync(f, [feedA[0], feedA[1], wrong].join("\n\n") + "\n");
    expect(
      pigeon("verify", f, "--json")
        .json()
        .refusals.map((x: any) => x.reason)
    ).toEqual(["prev does not name the message at depth 1"]);
  });

  it("a card image written by the simulator verifies, and so does a card directory", async () => {
    const img = await createImage(join(tmp, "card.img"), 32 << 20);
    loggerBoard({
      profile: "bare",
      image: img,
      clock: 1764000000,
      seedBytes: Array.from({ length: 32 }, (_, i) => i),
    }).runFor(86400 + 1);
    img.save();
    const r = pigeon("verify", join(tmp, "card.img"), "--json");
    expect(r.code).toBe(0);
    expect(r.json().messages).toEqual({ accepted: 144, refused: 0 });
    const dir = join(tmp, "carddir");
    mkdirSync(dir);
    for (const e of img.readdir("")!)
      if (!e.dir) writeFileSync(join(dir, e.name), img.readFile(e.name)!);
    expect(pigeon("verify", dir, "--json").json().messages).toEqual({ accepted: 144, refused: 0 });
  });

  it("usage and I/O errors exit 2 and say what is wrong", () => {
    expect(pigeon("verify").code).toBe(2);
    const r = pigeon("verify", join(tmp, "nothing-here"));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/nothing-here: no such file or directory/);
    expect(pigeon("--help").out).toMatch(/verify <path> \[--json\]/);
  });

  it("npx pigeon --help lists every command, and each one answers", () => {
    const p = spawnSync("npx", ["pigeon", "--help"], { cwd: root, encoding: "utf8" });
    expect(p.status).toBe(0);
    const listed = [...p.stdout.matchAll(/^  ([a-z|]+) /gm)].flatMap((m) => m[1].split("|"));
    expect(listed.sort()).toEqual([
      "blob",
      "block",
      "csv",
      "export",
      "feeds",
      "follow",
      "have",
      "help",
      "identity",
      "import",
      "lines",
      "log",
      "plot",
      "post",
      "pull",
      "unfollow",
      "verify",
    ]);
    // each is a command the tool knows (an unknown one exits 2 with "unknown command")
    for (const c of listed)
      expect(pigeon(c, "--store", join(tmp, "each")).err).not.toMatch(/unknown command/);
  });
});
