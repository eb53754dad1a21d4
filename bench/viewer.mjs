// The card viewer's figures for npm run bench: the time from choosing a card
// image to the finished plot in headless Chromium (dist/viewer.html from
// file://), next to `pigeon verify` on the same image in the same run, and the
// size of dist/viewer.html. Standalone: node bench/viewer.mjs <card.img>
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { launchChromium } from "../scripts/chromium.mjs";
import { ensure } from "../scripts/debian.mjs";

const root = new URL("..", import.meta.url).pathname;

export async function viewerBench(image) {
  const r = { "viewer.htmlBytes": statSync(join(root, "dist/viewer.html")).size };
  const v0 = performance.now();
  const cli = spawnSync("node", [join(root, "bin/pigeon.mjs"), "verify", image, "--json"], {
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  r["viewer.pigeonVerifyMs"] = performance.now() - v0;
  if (cli.status !== 0)
    throw new Error("viewer bench: pigeon verify refused the card: " + cli.stdout.slice(0, 500));
  if (ensure(["chromium"]).length) return r;
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(pathToFileURL(join(root, "dist/viewer.html")).href);
    await page.waitForFunction(() => window.pigeonState === "ready");
    const t0 = performance.now();
    await page.setInputFiles("#file", image);
    await page.waitForFunction(() => ["done", "error"].includes(window.pigeonState), null, {
      timeout: 600000,
      polling: 50,
    });
    const wall = performance.now() - t0;
    const [state, summary, times, ms, engine] = await page.evaluate(() => [
      window.pigeonState,
      window.pigeonSummary,
      window.pigeonTimes,
      window.pigeonResult.ms,
      window.pigeonResult.engine,
    ]);
    if (state !== "done") throw new Error("viewer bench: the page did not open the card");
    if (JSON.stringify(summary) !== cli.stdout.trim())
      throw new Error("viewer bench: the page's summary differs from pigeon verify --json");
    r["viewer.messages"] = summary.messages.accepted;
    // from the file input's change event to the frame after the plots were drawn (the page's own clock)
    r["viewer.toPlotMs"] = times.plottedMs;
    r["viewer.readMs"] = ms.read;
    r["viewer.verifyMs"] = ms.verify;
    r["viewer.webCryptoEd25519"] = engine === "webcrypto" ? 1 : 0;
    // the same seen from outside: setInputFiles to the page saying it is done
    r["viewer.wallMs"] = wall;
    r["viewer.vsPigeonVerify"] = times.plottedMs / r["viewer.pigeonVerifyMs"];
  } finally {
    await browser.close();
  }
  return r;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href)
  console.log(JSON.stringify(await viewerBench(process.argv[2])));
