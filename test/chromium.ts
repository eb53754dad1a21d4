// Headless Chromium for the viewer's tests, with dist/viewer.html built.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser } from "playwright-core";
import { launchChromium as launch } from "../scripts/chromium.mjs";
import { ensure } from "../scripts/debian.mjs";

const root = resolve(__dirname, "..");

/** Chromium, with dist/viewer.html built; throws naming the Debian package when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (ensure(["chromium"]).length)
    throw new Error("the viewer's tests need Debian's chromium: apt-get install chromium");
  if (!existsSync(join(root, "dist/viewer.html")))
    spawnSync("node", [join(root, "scripts/build.mjs")], { stdio: "inherit" });
  return launch();
}
