#!/usr/bin/env node
// The `pigeon` command: builds dist/ on first use (a fresh clone), then runs it.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
const root = new URL("..", import.meta.url).pathname;
if (!existsSync(root + "dist/pigeon-cli.mjs"))
  spawnSync("node", [root + "scripts/build.mjs"], { stdio: ["ignore", "ignore", "inherit"] });
await import(root + "dist/pigeon-cli.mjs");
