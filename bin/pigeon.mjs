#!/usr/bin/env node
// The `pigeon` command: builds dist/ on first use (a fresh clone), then runs it in a node
// whose heap stays close to what it holds. An import makes much short-lived garbage and keeps
// little: with V8's defaults (16 MB semi-spaces, the old generation grown well ahead of its
// live data) a million messages took 250 MB and 77 s on 2 cores, with these flags 166 MB and
// 70 s. V8 sizes the young generation only as node starts, hence a node of its own.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
const root = new URL("..", import.meta.url).pathname;
if (!existsSync(root + "dist/pigeon-cli.mjs"))
  spawnSync("node", [root + "scripts/build.mjs"], { stdio: ["ignore", "ignore", "inherit"] });
const run = spawnSync(
  process.execPath,
  [
    "--max-semi-space-size=2",
    "--heap-growing-percent=5",
    root + "dist/pigeon-cli.mjs",
    ...process.argv.slice(2),
  ],
  { stdio: "inherit" }
);
if (run.signal) process.kill(process.pid, run.signal);
process.exit(run.status ?? 2);
