// Headless Chromium (Debian's chromium, driven by playwright-core) for the
// viewer's tests and bench, started with no background networking: the closed
// network here refuses Chromium's own connections, and the page makes none.
// (playwright gives every launch a fresh profile directory of its own.)
import { spawnSync } from "node:child_process";

export async function launchChromium() {
  const { chromium } = await import("playwright-core");
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
