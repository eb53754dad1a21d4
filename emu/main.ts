// npm run emu: the logger on Espruino's own firmware for the Pico (or the
// WiFi) under the emulator toolkit's QEMU, on a fresh FAT16 card; then the host
// reads the card back and prints what `npm start` prints, with the board's own
// process.memory() and the instructions a reading takes.
//
//   npm run emu -- [--board pico|wifi] [--readings N] [--native|--no-native] [--card FILE] [--config FILE]
//   npm run emu -- --profile [--board ...] [--no-native] [--functions]: where one reading's instructions go (--functions: by firmware function too)
//   npm run emu -- --cuts N [--seed S]: N power cuts while the board writes, each checked on the host
//   npm run emu -- --figures: the deployment figures of both boards as JSON (npm run bench takes them)
import { readFileSync } from "node:fs";
import { BlockDevice, REGIONS, type Counts } from "../sim/card/device";
import { openImage } from "../sim/card/image";
import { cardSummary } from "../sim/summary";
import { prng } from "../sim/prng";
import { emulate, fsck, SD_PINS } from "./board";
import { Cut, cutAndCheck, cutPoint, writesOf } from "./cuts";
import { boardFigures } from "./figures";
import { KINDS, profileReading } from "./profile";
import { BoardName, findToolkit, Toolkit } from "./qemu";

const MHZ = 84;
const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const usage =
  "usage: npm run emu -- [--board pico|wifi] [--readings N] [--native|--no-native] [--card FILE] [--config FILE] [--profile [--functions]] [--cuts N [--seed S]] [--figures]";

/** n instructions as time at 84 MHz, one instruction a cycle: the optimistic bound. */
export const at84 = (n: number) =>
  n / MHZ / 1e6 >= 1 ? `${(n / MHZ / 1e6).toFixed(2)} s` : `${(n / MHZ / 1e3).toFixed(1)} ms`;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function main() {
  const board = (opt("--board") ?? "pico") as BoardName,
    readings = Number(opt("--readings") ?? 10),
    native = !args.includes("--no-native");
  if (!["pico", "wifi"].includes(board) || !(readings >= 1)) throw new Error(usage);
  const kit = findToolkit();
  if (typeof kit === "string") {
    console.log(`npm run emu: ${kit}`);
    process.exit(2);
  }
  if (args.includes("--profile")) return profile(kit, board, native);
  if (opt("--cuts")) return cuts(kit, board, Number(opt("--cuts")), Number(opt("--seed") ?? 1));
  if (args.includes("--figures")) {
    // npm run bench takes these as JSON (board.pico.*, board.wifi.*)
    const f = { ...(await boardFigures(kit, "pico")), ...(await boardFigures(kit, "wifi")) };
    console.log(JSON.stringify(f));
    return;
  }
  // the emulator's idle is not low-power (its README: ~349 M instructions a minute), so readings follow each other
  const config = opt("--config")
    ? readFileSync(opt("--config")!, "latin1")
    : `sd=${SD_PINS}\ninterval=1\n`;
  const t0 = performance.now();
  const r = await emulate(kit, {
      board,
      config,
      readings,
      native,
      card: opt("--card"),
      timeout: 600 + readings * 30,
    }),
    card = r.card;
  const wall = (performance.now() - t0) / 1000;
  for (const l of r.lines) console.log(`board says  ${l}`);
  if (!r.run.done)
    throw new Error(
      `the board did not log ${readings} readings (${r.run.timedOut ? "timed out" : "QEMU ended"}); its console:\n${r.run.console.slice(-2000)}`
    );

  const img = await openImage(card);
  // the appends' sector writes, by region (after the first "logging": making the log is not an append)
  const dev = new BlockDevice(img.buffer),
    w = Object.fromEntries(REGIONS.map((x) => [x, 0])) as Counts;
  for (const x of r.writes)
    if (r.boot !== undefined && x.at > r.boot)
      for (let s = x.sector; s < x.sector + x.count; s++) w[dev.regionOf(s)]++;
  const s = cardSummary(img, w);
  const ins = r.readings.map((x) => x.insns),
    mean = ins.reduce((a, b) => a + b, 0) / ins.length;
  const mem = (m: any) =>
    m ? `${fmt(m.usage)} of ${fmt(m.total)} variables in use (${fmt(m.free)} free)` : "?";
  console.log(
    `card        ${card} (FAT16 by mkfs.fat, 128 MiB), ${readings} readings on an emulated ${board === "pico" ? "Espruino Pico" : "Espruino WiFi"} in ${wall.toFixed(1)} s`
  );
  console.log(
    `firmware    ${kit.firmware(board).image.split("/").pop()} (QEMU, ${kit.dir}); the logger in Storage as npm run flash leaves it (.bootcde = dist/firmware.js, PIGEON.CFG, .boot0${native ? ", pigeon.bin" : ""})`
  );
  for (const l of s.lines) console.log(l);
  const f = fsck(card);
  console.log(`fsck.fat    ${f.clean ? "clean" : "NOT CLEAN: " + f.output}`);
  console.log(
    `kernels     ${r.native ? "pigeon.bin in Storage, bound by E.nativeCall (state.native true)" : native ? "pigeon.bin in Storage but NOT bound" : "none (--no-native): E.convolve and JavaScript"}`
  );
  console.log(
    `per reading ${fmt(mean)} instructions from the sensor call to its append (${fmt(Math.min(...ins))} .. ${fmt(Math.max(...ins))}): ${at84(mean)} at ${MHZ} MHz`
  );
  if (r.boot !== undefined)
    console.log(
      `first boot  ${fmt(r.boot)} instructions from power-on to "logging" (seed, key, log): ${at84(r.boot)} at ${MHZ} MHz`
    );
  console.log(
    `memory      after boot ${mem(r.memory.boot)}; after ${readings} readings ${mem(r.memory.end)}`
  );
  console.log(`            (times: one instruction a cycle at ${MHZ} MHz, the optimistic bound)`);
  process.exit(s.refused || s.messages.length !== readings ? 1 : 0);
}
/**
 * --cuts N: N power cuts at random instructions while the board writes its card
 * (spread over the log's making, slots, directory entries and index sectors;
 * --seed picks them), each followed by a power-up that logs 3 more messages.
 * The configuration makes records of about 1.2 KB (20 readings of 3 sensors a
 * message), so that records run on across pages. Its 25 messages fill fewer
 * than the 60 pages an index sector covers, so no cut falls on one here (the
 * simulator's cuts, test/sim-card.test.ts, cover them).
 */
async function cuts(kit: Toolkit, board: BoardName, n: number, seed: number) {
  const o = {
    board,
    config: `sd=${SD_PINS}\ninterval=1\nlog_mb=4\nper_message=20\nsensors=temp,vbat,a0\n`,
    readings: 25,
    native: true,
  };
  const ref = await emulate(kit, { ...o, timeout: 1800 });
  if (!ref.run.done)
    throw new Error(`the reference run did not finish: ${ref.run.console.slice(-1000)}`);
  const writes = await writesOf(ref),
    rnd = prng(seed);
  const count = (k: string) => writes.filter((w) => w.kind === k).length;
  console.log(
    `reference: ${ref.acks.length} messages, ${writes.length} card writes (making ${count("making")}, slots ${count("slot")}, directory ${count("directory")}, index ${count("index")}); seed ${seed}`
  );
  const results: Cut[] = [];
  for (let i = 0; i < n; i++) {
    const p = cutPoint(writes, i, rnd),
      c = await cutAndCheck(kit, o, p.at, p.kind, 3);
    results.push(c);
    console.log(
      `cut ${String(i + 1).padStart(3)} at ${fmt(c.at).padStart(14)} (${c.kind.padEnd(9)}): ${c.acked} acknowledged, ${c.messages} on the card after logging on: ${c.wrong || "ok"}${c.lostClusters ? ` (fsck.fat: ${c.lostClusters} unused clusters left by the cut making)` : ""}`
    );
  }
  const bad = results.filter((c) => c.wrong);
  const lost = results.filter((c) => c.lostClusters);
  console.log(
    `${n} power cuts on the emulated ${board}: ${n - bad.length} ok, ${bad.length} wrong (by kind: ${(["making", "slot", "directory", "index"] as const).map((k) => `${k} ${results.filter((c) => c.kind === k).length}`).join(", ")}); ${lost.length} cuts of the making left unused clusters (space only, spec/card.md)`
  );
  process.exit(bad.length ? 1 : 0);
}

/** --profile: one reading in steps, each split by what ran it. */
async function profile(kit: Toolkit, board: BoardName, native: boolean) {
  const p = await profileReading(kit, board, native);
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  console.log(
    `one reading on an emulated ${board}, ${native ? "with" : "without"} the kernels, in steps (instructions; bench/board.ts):`
  );
  console.log(`${"step".padEnd(18)}${pad("total", 13)}${KINDS.map((k) => pad(k, 13)).join("")}`);
  for (const s of p.steps) {
    console.log(
      `${s.name.padEnd(18)}${pad(fmt(s.insns), 13)}${KINDS.map((k) => pad(fmt(s.by[k]), 13)).join("")}`
    );
    // --functions: the firmware functions that ran most of each step
    if (args.includes("--functions"))
      console.log(
        s.fns
          .slice(0, 8)
          .map(([f, n]) => `    ${f} ${fmt(n)}`)
          .join("\n")
      );
  }
  const sum = p.steps.reduce((n, s) => n + s.insns, 0);
  console.log(
    `${"sum".padEnd(18)}${pad(fmt(sum), 13)}   (the firmware's own readings: ${p.readings.map(fmt).join(", ")})`
  );
  console.log(
    `${p.boot.name.padEnd(18)}${pad(fmt(p.boot.insns), 13)}${KINDS.map((k) => pad(fmt(p.boot.by[k]), 13)).join("")}`
  );
  if (args.includes("--functions"))
    console.log(
      p.boot.fns
        .slice(0, 16)
        .map(([f, n]) => `    ${f} ${fmt(n)}`)
        .join("\n")
    );
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(2);
});
