// The repository stands alone: a clone in a temporary directory, with no
// ../shared beside it, passes `npm test` on a fast subset of the tests. It
// clones the committed HEAD (uncommitted changes are not in the clone) and
// borrows this checkout's node_modules through a link.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = resolve(__dirname, "..");
const git = (...args: string[]) => spawnSync("git", args, { encoding: "utf8" });
const head = git("-C", root, "rev-parse", "HEAD");
const missing =
  git("--version").status !== 0
    ? "git is not installed (apt-get install git)"
    : head.status !== 0
      ? `${root} is not a git checkout`
      : "";
if (missing) console.log(`fresh-clone test skipped: ${missing}`);

/** Quick files that between them read every vector file, and the test that looks for ../shared. */
const SUBSET = ["test/vectors.test.ts", "test/grammar.test.ts", "test/shared-vectors.test.ts"];

describe.skipIf(!!missing)("a fresh clone", () => {
  const tmp = mkdtempSync(join(tmpdir(), "pigeon-clone-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it(`passes npm test -- ${SUBSET.join(" ")} with no ../shared beside it`, () => {
    const dir = join(tmp, "pigeon"),
      commit = head.stdout.trim();
    expect(git("clone", "--quiet", "--no-checkout", root, dir).status).toBe(0);
    expect(git("-C", dir, "checkout", "--quiet", "--detach", commit).status).toBe(0);
    symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
    expect(existsSync(join(tmp, "shared"))).toBe(false);
    // nothing of this run leaks in: no shared folder named, no vitest state
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => k !== "PIGEON_SHARED" && !k.startsWith("VITEST"))
    );
    const t0 = Date.now();
    const r = spawnSync("npm", ["test", "--", ...SUBSET], {
      cwd: dir,
      env: { ...env, NO_COLOR: "1" },
      encoding: "utf8",
      timeout: 540_000,
    });
    const out = (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, "");
    console.log(
      `fresh clone of ${commit.slice(0, 12)}: npm test -- ${SUBSET.join(" ")} took ${((Date.now() - t0) / 1000).toFixed(0)} s`
    );
    expect(r.status, out.slice(-3000)).toBe(0);
    expect(out).toMatch(/Test Files\s+2 passed \| 1 skipped \(3\)/);
    expect(out).toContain(
      `shared vectors skipped: ${join(tmp, "shared", "vectors")} does not exist`
    );
  }, 600_000);
});
