// Headless Chromium for the viewer's tests (Debian's chromium, driven by
// playwright-core), started with no background networking: the closed
// network here refuses Chromium's own connections, and the page makes none.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { ensure } from "../scripts/debian.mjs";

const root = resolve(__dirname, "..");

/** Chromium, with dist/viewer.html built; throws naming the Debian package when it is missing. */
export async function launchChromium(): Promise<Browser> {
  const missing = ensure(["chromium"]);
  if (missing.length)
    throw new Error("the viewer's tests need Debian's chromium: apt-get install chromium");
  if (!existsSync(join(root, "dist/viewer.html")))
    spawnSync("node", [join(root, "scripts/build.mjs")], { stdio: "inherit" });
  return chromium.launch({
    executablePath: spawnSync("sh", ["-c", "command -v chromium"], {
      encoding: "utf8",
    }).stdout.trim(),
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
