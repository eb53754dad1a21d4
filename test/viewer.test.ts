// The card viewer (dist/viewer.html) in headless Chromium, opened from file://:
// for each input its window.pigeonSummary equals `pigeon verify --json`, each
// plot holds one point per numeric reading, the CSV it saves equals
// `pigeon csv` of a store that imported the same input, and the page makes no
// network request. Screenshots go to test-artifacts/.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "./chromium";
import { damage, header, loggerCard, pcCard, run, where } from "./cards";
import { corruptedMessages, signFeed } from "./feed";
import { Pigeon } from "./pigeon";
import { VECTORS, vectors } from "./vectors";
import { prng } from "../sim/prng";

const root = resolve(__dirname, "..");
const tmp = mkdtempSync(join(tmpdir(), "pigeon-viewer-"));
const ARTIFACTS = join(root, "test-artifacts");
const VIEWER = pathToFileURL(join(root, "dist/viewer.html")).href;

function pigeon(...args: string[]) {
  const p = spawnSync("node", [join(root, "bin/pigeon.mjs"), ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  return { code: p.status, out: p.stdout, err: p.stderr };
}
const verifyJson = (path: string) => JSON.parse(pigeon("verify", path, "--json").out);
/** `pigeon verify --json` run beside the file, so that it names the files of a loss as the viewer does (by the name picked). */
const verifyBeside = (path: string) =>
  JSON.parse(
    spawnSync("node", [join(root, "bin/pigeon.mjs"), "verify", basename(path), "--json"], {
      cwd: dirname(path),
      encoding: "utf8",
    }).stdout
  );
let stores = 0;
/** `pigeon csv` of a fresh store that imported path. */
function csvOf(path: string): string {
  const s = join(tmp, `store${stores++}`);
  pigeon("import", path, "--store", s);
  return pigeon("csv", "--store", s).out;
}

let browser: Browser;
beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

interface Loaded {
  page: Page;
  summary: any;
  plots: { author: string; key: string; points: number; gaps: number }[];
  requests: string[];
  errors: string[];
}
/** Opens the viewer (fresh context: its own profile), gives it path through the file or the directory picker, waits for the result. */
async function load(path: string, kind: "file" | "dir", query = ""): Promise<Loaded> {
  const context = await browser.newContext({
    viewport: { width: 1100, height: 1000 },
    acceptDownloads: true,
  });
  const page = await context.newPage(),
    requests: string[] = [],
    errors: string[] = [];
  page.on("request", (r) => {
    if (!/^(file|data|blob):/.test(r.url())) requests.push(r.url());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(VIEWER + query);
  await page.waitForFunction(() => (window as any).pigeonState === "ready");
  await page.setInputFiles(kind === "dir" ? "#dir" : "#file", path);
  await page.waitForFunction(() => ["done", "error"].includes((window as any).pigeonState), null, {
    timeout: 300000,
  });
  const state = await page.evaluate(() => (window as any).pigeonState);
  if (state !== "done") throw new Error(`the viewer: ${await page.textContent("#status")}`);
  const [summary, plots] = await page.evaluate(() => [
    (window as any).pigeonSummary,
    (window as any).pigeonPlots,
  ]);
  return { page, summary, plots, requests, errors };
}
async function savedCsv(page: Page): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#csv")]);
  return readFileSync((await download.path())!, "utf8");
}
/** Numeric readings per feed and key in a `pigeon csv` text. */
function numericCounts(csv: string): Map<string, number> {
  const n = new Map<string, number>();
  for (const row of csv.trim().split("\n").slice(1)) {
    const [feed, , , key, value] = row.split(",");
    if (value !== "" && isFinite(Number(value)))
      n.set(`${feed} ${key}`, (n.get(`${feed} ${key}`) ?? 0) + 1);
  }
  return n;
}
/** The checks every case makes: summary, plots, CSV, no network, no page errors; and a screenshot. */
async function check(name: string, path: string, kind: "file" | "dir") {
  const r = await load(path, kind);
  expect(r.summary).toEqual(verifyJson(path));
  const csv = csvOf(path);
  expect(await savedCsv(r.page)).toBe(csv);
  const counts = numericCounts(csv);
  expect(new Map(r.plots.map((p) => [`${p.author} ${p.key}`, p.points]))).toEqual(counts);
  if (name === "card") expect(r.plots.map((p) => p.gaps)).toEqual(r.plots.map(() => 0)); // 10-minute readings without a break
  await r.page.screenshot({ path: join(ARTIFACTS, `viewer-${name}.png`), fullPage: true });
  expect(r.requests).toEqual([]);
  expect(r.errors).toEqual([]);
  return r;
}

describe("the card viewer (dist/viewer.html in headless Chromium)", () => {
  it("opens the card image npm start writes", async () => {
    const p = spawnSync("node", [join(root, "dist/sim.mjs")], { cwd: root, encoding: "utf8" });
    expect(p.status, p.stderr).toBe(0);
    const r = await check("card", join(root, "out/card.img"), "file");
    expect(r.summary.messages.accepted).toBeGreaterThan(1000);
    expect(r.plots.length).toBeGreaterThan(0);
    await r.page.context().close();
  });

  it("opens the same card behind a partition table", async () => {
    const img = readFileSync(join(root, "out/card.img")),
      mbr = Buffer.alloc(1 << 20);
    // one primary partition (FAT16, type 0x06) from sector 2048, as a computer formats a card
    mbr[446 + 4] = 0x06;
    mbr.writeUInt32LE(2048, 446 + 8);
    mbr.writeUInt32LE(img.length / 512, 446 + 12);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    const f = join(tmp, "parted.img");
    writeFileSync(f, Buffer.concat([mbr, img]));
    const r = await check("parted", f, "file");
    expect(r.summary).toEqual(verifyJson(join(root, "out/card.img")));
    await r.page.context().close();
  });

  it("opens the vector bundle, blobs included", async () => {
    const r = await check("bundle", join(VECTORS, "bundle-ab"), "dir");
    expect(r.summary.blobs.accepted).toBe(vectors.blobs.length);
    await r.page.context().close();
  });

  it("lists an altered message of a bundle with its reason", async () => {
    const dir = join(tmp, "altered");
    cpSync(join(VECTORS, "bundle-ab"), dir, { recursive: true });
    const pgn = readFileSync(join(dir, "messages.pgn"), "utf8"),
      target = vectors.feeds[0].messages[5].text;
    const altered = target.replace(
      /^(temp_c:"\d+\.)(\d)/m,
      (_, a, d) => a + ((Number(d) + 1) % 10)
    );
    expect(altered).not.toBe(target);
    writeFileSync(join(dir, "messages.pgn"), pgn.replace(target, altered));
    const r = await check("altered", dir, "dir");
    const refusal = r.summary.refusals.find((x: any) => x.depth === 5);
    expect(refusal).toEqual({
      author: vectors.feeds[0].author,
      depth: 5,
      reason: "signature does not verify",
    });
    const listed = await r.page.locator(".refusals li").allTextContents();
    expect(listed.some((t) => t.includes("depth 5: signature does not verify"))).toBe(true);
    await r.page.context().close();
  });

  it("breaks a plot's line where readings stop for a while", async () => {
    const seed = new Uint8Array(32).fill(5),
      { texts } = signFeed(30, seed, (d) => [
        ["t", `"${1764000000 + 600 * d + (d >= 20 ? 86400 : 0)}"`],
        ["temp", `"${(20 + Math.sin(d)).toFixed(2)}"`],
      ]);
    const f = join(tmp, "gap.pgn");
    writeFileSync(f, texts.join("\n\n") + "\n");
    const r = await load(f, "file");
    expect(r.summary).toEqual(verifyJson(f));
    expect(r.plots).toEqual([{ author: Pigeon.identity(seed), key: "temp", points: 30, gaps: 1 }]);
    await r.page.screenshot({ path: join(ARTIFACTS, "viewer-gap.png") });
    // zoom with the wheel, pan with shift-drag, back with a double-click
    const range = () =>
      r.page.evaluate(() => (window as any).pigeonPlotRanges()[0] as [number, number]);
    const all = await range(),
      box = (await r.page.locator(".u-over").boundingBox())!;
    await r.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await r.page.mouse.wheel(0, -100);
    const zoomed = await range();
    expect(zoomed[1] - zoomed[0]).toBeLessThan(all[1] - all[0]);
    await r.page.keyboard.down("Shift");
    await r.page.mouse.down();
    await r.page.mouse.move(box.x + box.width / 2 + 100, box.y + box.height / 2, { steps: 5 });
    await r.page.mouse.up();
    await r.page.keyboard.up("Shift");
    const panned = await range();
    expect(panned[0]).toBeLessThan(zoomed[0]);
    expect(panned[1] - panned[0]).toBeCloseTo(zoomed[1] - zoomed[0], 3);
    await r.page.mouse.dblclick(box.x + box.width / 2, box.y + box.height / 2);
    expect(await range()).toEqual(all);
    await r.page.context().close();
  });

  it("opens a messages.pgn dropped onto the page", async () => {
    const f = join(VECTORS, "bundle-ab", "messages.pgn");
    const page = await (await browser.newContext()).newPage(),
      requests: string[] = [];
    page.on("request", (r) => void (/^(file|data|blob):/.test(r.url()) || requests.push(r.url())));
    await page.goto(VIEWER);
    await page.waitForFunction(() => (window as any).pigeonState === "ready");
    await page.evaluate(
      (text) => {
        const dt = new DataTransfer();
        dt.items.add(new File([text], "messages.pgn"));
        document.dispatchEvent(
          new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true })
        );
      },
      readFileSync(f, "utf8")
    );
    await page.waitForFunction(() => (window as any).pigeonState === "done");
    expect(await page.evaluate(() => (window as any).pigeonSummary)).toEqual(verifyJson(f));
    expect(requests).toEqual([]);
    await page.context().close();
  });

  it("gives the core's verdicts with WebCrypto and with the core alone on corrupted messages, small-order keys and S >= L", async () => {
    const rnd = prng(11).float;
    const texts = corruptedMessages(400, rnd);
    const f = join(tmp, "corrupt.pgn");
    writeFileSync(f, texts.join("\n\n") + "\n");
    const cli = verifyJson(f);
    expect(cli.messages.accepted).toBeGreaterThan(90);
    expect(cli.messages.refused).toBeGreaterThan(200);
    for (const query of ["", "?engine=core"]) {
      const r = await load(f, "file", query);
      expect(r.summary).toEqual(cli);
      expect(await r.page.textContent("#status")).toContain(
        query ? "verified by the core" : "WebCrypto"
      );
      expect(r.requests).toEqual([]);
      await r.page.context().close();
    }
  });

  it("opens a PC-style card image with a bundle on it: every blob accepted; a blob with changed bytes refused; a looping directory ends", async () => {
    const copy = (volume: string) => {
      const b = join(VECTORS, "bundle-ab");
      for (const f of ["messages.pgn", ...new Set(vectors.blobs.map((x) => x.path.split("/")[0]))])
        run("mcopy", ["-s", "-i", volume, join(b, f), "::"]);
    };
    const blob = vectors.blobs[0].path.split("/"),
      cases: [string, ((v: Buffer) => void) | undefined][] = [
        ["pc", undefined],
        ["pc-badblob", (v) => void (v[where(v, vectors.blobs[0].path).offset(0)] ^= 1)],
        [
          "pc-loop",
          (v) => {
            const d = where(v, blob.slice(0, 3).join("/"));
            v.writeUInt16LE(d.clusters[0], d.fat(d.clusters[0]));
          },
        ],
      ];
    for (const [name, change] of cases) {
      const f = join(tmp, name + ".img");
      pcCard(f, copy, change);
      const r = await load(f, "file"),
        cli = verifyBeside(f);
      expect(r.summary).toEqual(cli);
      expect(r.summary.blobs).toEqual(
        name === "pc-badblob"
          ? { accepted: vectors.blobs.length - 1, refused: 1 }
          : { accepted: vectors.blobs.length, refused: 0 }
      );
      expect(r.summary.losses?.length ?? 0).toBe(name === "pc-loop" ? 1 : 0);
      expect(r.errors).toEqual([]);
      await r.page.context().close();
    }
  });

  it("names what a damaged card lost as pigeon verify does: bad header numbers, a looping cluster chain, and a sample of the damages of the property test", async () => {
    const card = await loggerCard(join(tmp, "damaged.img"), 3),
      orig = Buffer.from(card.buffer);
    const log = card.readdir("")!.find((e) => e.name.endsWith(".LOG"))!.name,
      w = where(orig, log);
    const text = card.readFile(log)!.toString("latin1", 0, 504).trimEnd(),
      used = 512 * (1 + 16 + 2 * 152);
    const cases: [string, (b: Buffer) => void][] = [
      [
        "pages-1e300",
        (b) => header(text.replace(/\npages \d+\n/, "\npages 1e300\n")).copy(b, w.offset(0)),
      ],
      ["pages-0", (b) => header(text.replace(/\npages \d+\n/, "\npages 0\n")).copy(b, w.offset(0))],
      ["fat-loop", (b) => b.writeUInt16LE(w.clusters[49], w.fat(w.clusters[59]))],
      ...[750, 2250, 2750].map((seed): [string, (b: Buffer) => void] => [
        `seed-${seed}`,
        (b) => void damage(b, log, used, seed),
      ]),
    ];
    let withLosses = 0;
    for (const [name, fn] of cases) {
      const b = Buffer.from(orig),
        f = join(tmp, `${name}.img`);
      fn(b);
      writeFileSync(f, b);
      const r = await load(f, "file"),
        cli = verifyBeside(f);
      expect(r.summary, name).toEqual(cli);
      const shown = await r.page.locator(".losses li").count();
      expect(shown, name).toBe(cli.losses?.length ?? 0);
      if (shown) {
        withLosses++;
        expect(await r.page.textContent("#status"), name).toContain(`${shown} losses (not read)`);
      }
      expect(r.errors).toEqual([]);
      if (name === "fat-loop")
        await r.page.screenshot({ path: join(ARTIFACTS, "viewer-losses.png"), fullPage: true });
      await r.page.context().close();
    }
    expect(withLosses).toBeGreaterThanOrEqual(4);
  });
});
