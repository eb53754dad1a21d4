// The readers on damaged card images, a property test (issue 16): seeded
// random damage to a card's log header, pages, index sectors, directory entry
// and FAT. Every reading ends, never with an internal error, lets no damaged
// byte reach the chain rules, and reports a loss whenever a
// message of the undamaged card is missing, except the one case the card
// format cannot tell from a power cut (spec/card.md, "What readers report"):
// the newest messages, when the damage fell on the log's last pages. Run
// in-process (the readers and the Verifier); `pigeon verify` and `import` on a
// sample give the same verdicts. Reproduce a case with its seed.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { memoryHolder, summary, verifyInput, type Checks } from "../targets/host/chain";
import { cardLog, readImage } from "../targets/host/bundle";
import { blockBytes, memoryBytes } from "../targets/host/bytes";
import { Store } from "../targets/node/store";
import { nodeChecks } from "../targets/node/checks";
import { damage, loggerCard, where } from "./cards";

const CASES = Number(process.env.CASES ?? 3000);
const root = resolve(__dirname, "..");
const tmp = mkdtempSync(join(tmpdir(), "pigeon-damage-"));
const pigeon = (...args: string[]) =>
  spawnSync("node", [join(root, "bin/pigeon.mjs"), ...args], { encoding: "utf8" });

// the core's verdicts, remembered by text: every case holds the same messages (or fewer)
const verdicts = new Map<string, [string, string]>();
const verdict = (b: Uint8Array, t: string) => {
  let v = verdicts.get(t);
  if (!v) verdicts.set(t, (v = [nodeChecks.refusal(b, t), nodeChecks.id(b, t)]));
  return v;
};
const checks: Checks = {
  refusal: (b, t) => verdict(b, t)[0],
  id: (b, t) => verdict(b, t)[1],
  lipmaa: nodeChecks.lipmaa,
  blobId: nodeChecks.blobId,
};
/** The messages held after reading an image, and the report. */
function read(img: Buffer, name = "card.img") {
  // through the block cache `pigeon` reads image files with (reads across blocks gathered, as Node's Buffers)
  const bytes = blockBytes(img.length, (at, n) => img.subarray(at, at + n), Buffer.allocUnsafe);
  const holder = memoryHolder(true),
    report = verifyInput(readImage(bytes, name), checks, holder);
  const texts = new Set<string>();
  for (const f of holder.feeds.values()) for (const t of f.texts.values()) texts.add(t);
  return { report, texts };
}
const INTERNAL =
  /undefined|Cannot read|out of bounds|is not a function|is not defined|TypeError|RangeError|NaN|Infinity/;

describe("the readers on damaged card images", () => {
  it(`${CASES} seeded damages: each reading ends, never with an internal error, and every message lost is reported`, async () => {
    const card = await loggerCard(join(tmp, "card.img"), 3),
      orig = Buffer.from(card.buffer);
    const name = card.readdir("")!.find((e) => e.name.endsWith(".LOG"))!.name,
      w = where(orig, name);
    const base = read(orig),
      depthOf = (t: string) => Number(/\ndepth (\d+)\n/.exec(t)![1]);
    expect(base.report.losses).toEqual([]);
    expect(base.texts.size).toBe(432);
    const all = [...base.texts].sort((a, b) => depthOf(a) - depthOf(b)),
      newest = depthOf(all[all.length - 1]);
    // the log's bytes in use, and those of its last two pages (the damage that may pass for a power cut)
    const file = new Uint8Array(w.size);
    for (let at = 0; at < w.size; at++) file[at] = orig[w.offset(at)];
    const { log } = cardLog(memoryBytes(file), name, name, [])!,
      pageAt = (p: number) => (1 + log.indexSectors + 2 * p) * 512;
    const used = pageAt(log.page + 1),
      lastPages = [pageAt(log.page - 1), used];
    const outcomes = {
      intact: 0,
      lostAndReported: 0,
      reportedNothingLost: 0,
      newestLostAsByAPowerCut: 0,
    };
    const img = Buffer.alloc(orig.length),
      sample: { seed: number; bytes: Buffer }[] = [];
    let slowest = 0;
    for (let seed = 1; seed <= CASES; seed++) {
      orig.copy(img);
      const d = damage(img, name, used, seed),
        t0 = performance.now();
      let r: ReturnType<typeof read>;
      try {
        r = read(img);
      } catch (e) {
        throw new Error(`seed ${seed} (${d.what}): ${(e as Error).stack}`);
      }
      slowest = Math.max(slowest, performance.now() - t0);
      const where = `seed ${seed} (${d.what})`,
        losses = r.report.losses;
      // what a card gives passes its checks or is not given: only messages cut off from their feed by a loss are refused
      for (const x of r.report.refusals) expect(x.reason, where).toMatch(/leaves a gap/);
      for (const l of losses) expect(l.reason, where).not.toMatch(INTERNAL);
      const lost = all.filter((t) => !r.texts.has(t)).map(depthOf);
      if (!lost.length) outcomes[losses.length ? "reportedNothingLost" : "intact"]++;
      else if (losses.length) outcomes.lostAndReported++;
      else {
        // unreported: only the newest messages, by damage to the last pages (an older slot, or none, then ends the log as a cut would)
        const suffix =
          lost[lost.length - 1] === newest &&
          lost.every((x, i) => x === newest - lost.length + 1 + i);
        const onLastPages = d.logBytes.some(([a, b]) => a < lastPages[1] && b > lastPages[0]);
        expect(
          suffix && onLastPages,
          `${where}: depths ${lost.join(",")} lost without a word`
        ).toBe(true);
        outcomes.newestLostAsByAPowerCut++;
      }
      if (seed % 500 === 0) sample.push({ seed, bytes: Buffer.from(img) });
    }
    console.log(
      `${CASES} damaged card images, slowest reading ${slowest.toFixed(0)} ms:`,
      outcomes
    );
    expect(slowest).toBeLessThan(10000); // a reading of the undamaged card takes a few ms: a hang shows far above
    expect(outcomes.lostAndReported).toBeGreaterThan(CASES / 10);
    // `pigeon verify` gives the same report on a sample, and `pigeon import` keeps what verifies and reports the same
    for (const [i, s] of sample.entries()) {
      const f = join(tmp, `damaged-${s.seed}.img`),
        inProcess = read(s.bytes, f),
        json = summary(inProcess.report);
      writeFileSync(f, s.bytes);
      const v = pigeon("verify", f, "--json");
      expect(JSON.parse(v.stdout), `seed ${s.seed}`).toEqual(json);
      expect(v.status, `seed ${s.seed}`).toBe(json.losses || json.refusals.length ? 1 : 0);
      if (i % 3) continue;
      const store = join(tmp, `store-${s.seed}`),
        im = pigeon("import", f, "--json", "--store", store);
      expect(JSON.parse(im.stdout), `seed ${s.seed}`).toEqual(json);
      const kept = new Store(store),
        texts = new Set<string>();
      for (const a of kept.authors()) kept.each(a, (t) => texts.add(t));
      expect(texts).toEqual(inProcess.texts);
    }
  });
});
