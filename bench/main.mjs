// npm run bench [-- --json]: every figure measured side by side in one run.
// Node: the ES5 core vs TweetNaCl (nacl-fast) vs @noble/ed25519 vs node:crypto;
// duk: the core vs nacl-fast; Espruino (when ESPRUINO names its Linux build):
// the core vs nacl-fast, with process.memory() variables; the year card; the card
// viewer opening it in headless Chromium next to pigeon verify; the fleet
// simulation's wall time; a pull over a simulated serial line (link.*); bundle size.
import { spawn, spawnSync } from "node:child_process";
import {
  createPrivateKey,
  createPublicKey,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import vm from "node:vm";
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { DRAFT, naclDriver, parseDriverOutput, pigeonDriver, SEED } from "./drivers.mjs";

import { ensure } from "../scripts/debian.mjs";
import { viewerBench } from "./viewer.mjs";

const require = createRequire(import.meta.url);
const root = new URL("..", import.meta.url).pathname;
const json = process.argv.includes("--json");
// --only card,import,...: those parts only (node's sign/verify and the sizes always run); the parts:
const PARTS = [
  "engines",
  "espruino",
  "card",
  "link",
  "viewer",
  "import",
  "native",
  "board",
  "fleet",
];
const onlyAt = process.argv.indexOf("--only"),
  only = onlyAt > 0 ? process.argv[onlyAt + 1].split(",") : PARTS;
for (const p of only)
  if (!PARTS.includes(p))
    throw new Error(`npm run bench -- --only: no part ${p} (${PARTS.join(", ")})`);
const want = (part) => only.includes(part);
const log = json ? () => {} : (...a) => console.log(...a);
ensure(["arm-none-eabi-gcc", "arm-linux-gnueabihf-gcc", "qemu-arm"]); // the native kernels' count (below)
spawnSync("node", [join(root, "scripts/build.mjs")], { stdio: json ? "ignore" : "inherit" });
const BUNDLE = join(root, "dist/pigeon.js");
const Pigeon = require(BUNDLE);
const nacl = require("tweetnacl");
ed.hashes.sha512 = sha512;

const r = {};
const seed = Uint8Array.from(SEED);
const keys = Pigeon.keys(seed);
const text = Pigeon.sign(keys, DRAFT);
const unsigned = Buffer.from(text.slice(0, text.indexOf("signature ")), "utf8");

/** Operations per second of f, run for about `ms` milliseconds. */
function rate(f, ms = 700) {
  for (let i = 0; i < 3; i++) f();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    f();
    n++;
  }
  return (n * 1000) / (performance.now() - t0);
}

// ---- Node ----
const kp = nacl.sign.keyPair.fromSeed(seed);
const naclSig = nacl.sign.detached(unsigned, kp.secretKey);
const pk = ed.getPublicKey(seed);
const nobleSig = ed.sign(unsigned, seed);
const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
const nodePriv = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
const nodePub = createPublicKey(nodePriv);
const nodeSig = nodeSign(null, unsigned, nodePriv);
r["node.pigeon.signPerSec"] = rate(() => Pigeon.sign(keys, DRAFT));
r["node.pigeon.signWithSeedPerSec"] = rate(() => Pigeon.sign(Pigeon.keys(seed), DRAFT));
r["node.pigeon.verifyPerSec"] = rate(() => Pigeon.verify(text));
r["node.tweetnacl.signPerSec"] = rate(() => nacl.sign.detached(unsigned, kp.secretKey));
r["node.tweetnacl.verifyPerSec"] = rate(() =>
  nacl.sign.detached.verify(unsigned, naclSig, kp.publicKey)
);
r["node.noble.signPerSec"] = rate(() => ed.sign(unsigned, seed));
r["node.noble.verifyPerSec"] = rate(() => ed.verify(nobleSig, unsigned, pk));
r["node.crypto.signPerSec"] = rate(() => nodeSign(null, unsigned, nodePriv));
r["node.crypto.verifyPerSec"] = rate(() => nodeVerify(null, unsigned, nodePub, nodeSig));
r["node.signVsTweetnacl"] = r["node.pigeon.signPerSec"] / r["node.tweetnacl.signPerSec"];
r["node.verifyVsTweetnacl"] = r["node.pigeon.verifyPerSec"] / r["node.tweetnacl.verifyPerSec"];

// Typed arrays made by a warmed-up sign: counted in a context whose typed
// array constructors and subarray() count their calls.
{
  const ctx = vm.createContext({});
  vm.runInContext(
    `var made = 0;
    ["Uint8Array","Int8Array","Uint16Array","Int32Array","Float64Array","Uint32Array","Int16Array","Float32Array"].forEach(function (n) {
      var T = globalThis[n], sub = T.prototype.subarray;
      var W = function () { made++; return Reflect.construct(T, arguments, new.target || W); };
      W.prototype = T.prototype; W.BYTES_PER_ELEMENT = T.BYTES_PER_ELEMENT; globalThis[n] = W;
      T.prototype.subarray = function () { made++; return sub.apply(this, arguments); };
    });`,
    ctx
  );
  vm.runInContext(readFileSync(BUNDLE, "utf8"), ctx);
  ctx.draft = DRAFT;
  ctx.seedArr = SEED;
  r["node.typedArraysPerSign"] = vm.runInContext(
    `var k = Pigeon.keys(new Uint8Array(seedArr)); for (var i = 0; i < 3; i++) Pigeon.sign(k, draft);
     made = 0; for (i = 0; i < 10; i++) Pigeon.sign(k, draft); made / 10`,
    ctx
  );
}

// ---- other engines ----
function runEngine(cmd, args, script) {
  const dir = mkdtempSync(join(tmpdir(), "pigeon-bench-"));
  const file = join(dir, "driver.js");
  writeFileSync(file, script);
  const p = spawnSync(cmd, [...args, file], {
    encoding: "utf8",
    maxBuffer: 1 << 26,
    timeout: 30 * 60 * 1000,
  });
  if (p.status !== 0 && !p.stdout.includes("@@BENCH@@"))
    throw new Error(`${cmd}: ${p.stderr || p.stdout}`);
  return parseDriverOutput(p.stdout);
}
function engine(name, cmd, args, n, naclN) {
  const ours = runEngine(cmd, args, pigeonDriver(BUNDLE, n));
  const theirs = runEngine(cmd, args, naclDriver(naclN, unsigned.toString("utf8")));
  if (!ours.ok || !theirs.ok) throw new Error(`${name}: a signature did not verify`);
  r[`${name}.pigeon.signMs`] = ours.signMs;
  r[`${name}.pigeon.signWithKeyDerivationMs`] = ours.signMs + ours.keyMs;
  r[`${name}.pigeon.verifyMs`] = ours.verifyMs;
  r[`${name}.pigeon.firstKeyMs`] = ours.firstKeyMs;
  r[`${name}.tweetnacl.signMs`] = theirs.signMs;
  r[`${name}.tweetnacl.signWithKeyDerivationMs`] = theirs.signMs + theirs.keyMs;
  r[`${name}.tweetnacl.verifyMs`] = theirs.verifyMs;
  r[`${name}.signVsTweetnacl`] = theirs.signMs / ours.signMs;
  r[`${name}.verifyVsTweetnacl`] = theirs.verifyMs / ours.verifyMs;
  return { ours, theirs };
}
if (want("engines")) {
  if (ensure(["duk"]).length === 0) engine("duk", "duk", [], 20, 5);
  else log("duk: not installed, skipped");
}
let espruinoCore = null;
if (want("espruino") && process.env.ESPRUINO)
  try {
    espruinoCore = engine("espruino", process.env.ESPRUINO, [], 2, 1);
  } catch (e) {
    // e.g. a build with a Pico's 5,100 variables cannot hold nacl-fast's code in RAM
    console.error(
      `espruino: the sign/verify comparison did not run: ${
        String(e.message)
          .split("\n")
          .find((l) => /rror|MEMORY/.test(l)) ?? "it failed"
      }`
    );
  }
if (espruinoCore) {
  const { ours, theirs } = espruinoCore;
  r["espruino.pigeon.varsLoaded"] = ours.varsLoaded;
  r["espruino.pigeon.varsAfterSign"] = ours.varsAfterSign;
  r["espruino.pigeon.varsAfterVerify"] = ours.varsAfterVerify;
  r["espruino.tweetnacl.varsLoaded"] = theirs.varsLoaded;
  r["espruino.tweetnacl.varsAfterSign"] = theirs.varsAfterSign;
  r["espruino.varsVsTweetnacl"] = ours.varsAfterSign / theirs.varsAfterSign;
  // the same with each code text taken out, as when a board keeps the code in flash
  r["espruino.pigeon.codeTextVars"] = ours.codeVars;
  r["espruino.tweetnacl.codeTextVars"] = theirs.codeVars;
  r["espruino.dataVarsVsTweetnacl"] =
    (ours.varsAfterSign - ours.codeVars) / (theirs.varsAfterSign - theirs.codeVars);
} else
  log(
    "espruino: set ESPRUINO=/path/to/espruino (its Linux build) to measure on the interpreter; skipped"
  );

// ---- the firmware on Espruino's interpreter, loaded as a board keeps it: from Storage (flash), so
// function bodies stay there; then first boot and readings logged to a directory standing in for the card.
// Point ESPRUINO at a 32-bit build with 5,100 variables for the Pico's own figures.
if (want("espruino") && process.env.ESPRUINO) {
  const dir = mkdtempSync(join(tmpdir(), "pigeon-fw-"));
  writeFileSync(join(dir, "PIGEON.CFG"), "log_mb=1\n");
  writeFileSync(join(dir, "logger.js"), readFileSync(join(root, "dist/logger.js")));
  writeFileSync(
    join(dir, "setup.js"),
    `require("Storage").write("logger.js", require("fs").readFileSync("logger.js")); quit();`
  );
  writeFileSync(
    join(dir, "run.js"),
    `var m0 = process.memory().usage, t0 = getTime();
eval(require("Storage").read("logger.js"));
var m1 = process.memory().usage;
PigeonLogger.start();
var t1 = getTime(), n = 0;
function go() { PigeonLogger.step(); if (++n < 5) setTimeout(go, 1); else {
  var m = process.memory();
  print("@@BENCH@@" + JSON.stringify({ bootMs: (t1 - t0) * 1000, readingMs: (getTime() - t1) * 1000 / 5, varsLoaded: m1 - m0, varsAfterReadings: m.usage - m0, total: m.total, status: PigeonLogger.state.status }) + "@@BENCH@@");
  quit(); } }
setTimeout(go, 1);`
  );
  // stdin stays an open, empty pipe until the end: Espruino's Linux port reads garbage from a closed one
  const run = (file) =>
    new Promise((done, fail) => {
      const p = spawn(process.env.ESPRUINO, [file], { cwd: dir });
      let out = "";
      p.stdout.on("data", (d) => (out += d));
      p.on("error", fail);
      p.on("close", () => (p.stdin.end(), done(out)));
    });
  await run("setup.js");
  const f = parseDriverOutput(await run("run.js"));
  if (f.status !== "logging") throw new Error("firmware on Espruino: " + f.status);
  r["espruino.firmware.firstBootMs"] = f.bootMs;
  r["espruino.firmware.msPerReading"] = f.readingMs;
  r["espruino.firmware.varsLoadedFromFlash"] = f.varsLoaded;
  r["espruino.firmware.varsAfterReadings"] = f.varsAfterReadings;
}

// ---- the card (issue 9): a simulated year on the bare profile, and appends under duk ----
let yearCard = null;
if (want("card") || want("viewer")) {
  const p = spawnSync("node", [join(root, "dist/card-bench.mjs")], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (p.status !== 0) throw new Error("card bench: " + p.stderr);
  const card = JSON.parse(p.stdout.trim().split("\n").pop());
  yearCard = card["card.image"];
  delete card["card.image"];
  Object.assign(r, card);
  if (ensure(["duk"]).length === 0) {
    const d = runEngine(
      "duk",
      [],
      readFileSync(join(root, "dist/card-duk.js"), "utf8") +
        '\nprint("@@BENCH@@" + JSON.stringify(CardBench.run(50)) + "@@BENCH@@");'
    );
    r["duk.card.signAndAppendMs"] = d.signAndAppendMs;
    r["duk.card.appendMs"] = d.appendMs;
  }
}

// ---- bundles over a wire (issue 19): a pull over a simulated 115,200-baud line ----
if (want("link")) {
  const p = spawnSync("node", [join(root, "dist/link-bench.mjs")], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (p.status !== 0) throw new Error("link bench: " + p.stderr);
  Object.assign(r, JSON.parse(p.stdout.trim().split("\n").pop()));
}

// ---- the card viewer (issue 10): the year's card opened in headless Chromium, next to pigeon verify ----
if (want("viewer")) Object.assign(r, await viewerBench(yearCard));
if (want("viewer") && r["viewer.toPlotMs"] === undefined)
  log("viewer: chromium not installed, only pigeon verify and the file size measured");

// ---- the collector's tool: imports of bundles, each against node:crypto's verify in this run ----
// 100,000 readings of 100 feeds; then the same again into the store that holds them (known data:
// recognised by id, no signature checked); then long messages (1 to 4 KB) of 8 feeds.
if (want("import")) {
  const dir = mkdtempSync(join(tmpdir(), "pigeon-import-"));
  const { createHash, generateKeyPairSync } = await import("node:crypto");
  const b32 = (b) => {
    const A = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let out = "",
      acc = 0,
      bits = 0;
    for (const x of b) {
      acc = ((acc & 255) << 8) | x;
      bits += 8;
      while (bits >= 5) out += A[(acc >> (bits -= 5)) & 31];
    }
    return bits ? out + A[(acc << (5 - bits)) & 31] : out;
  };
  /** A bundle of `feeds` feeds of `per` messages each, interleaved, signed with node:crypto; body(d) gives kind and body lines. */
  const bundle = (name, feeds, per, body) => {
    const fs = Array.from({ length: feeds }, () => {
      const k = generateKeyPairSync("ed25519");
      return {
        k,
        author:
          "@" + b32(k.publicKey.export({ format: "der", type: "spki" }).subarray(12)) + ".ed25519",
        ids: [],
      };
    });
    const parts = [],
      signed = [];
    for (let d = 0; d < per; d++)
      for (const f of fs) {
        const l = Pigeon.lipmaa(d),
          { kind, lines } = body(d);
        const u = `author ${f.author}\nkind ${kind}\nprev ${d ? f.ids[d - 1] : "NONE"}\ndepth ${d}\nlipmaa ${l === null ? "NONE" : f.ids[l]}\n\n${lines}\n`;
        const sig = nodeSign(null, Buffer.from(u), f.k.privateKey),
          t = u + "signature " + b32(sig) + ".sig.ed25519";
        f.ids.push("%" + b32(createHash("sha256").update(t).digest()) + ".sha256");
        parts.push(t);
        signed.push([Buffer.from(u), f.k.publicKey, sig]);
      }
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, "messages.pgn"), parts.join("\n\n") + "\n");
    return {
      path: join(dir, name),
      messages: parts.length,
      bytes: parts.reduce((n, t) => n + Buffer.byteLength(t), 0),
      signed,
    };
  };
  /** CPU seconds (user and system) in a /proc stat line: of the whole process (its ended threads too), or of one thread. */
  const cpuSeconds = (path) => {
    const stat = readFileSync(path, "utf8"),
      f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // the fields after the name
    return (Number(f[11]) + Number(f[12])) / 100; // utime and stime, in the kernel's 100 ticks a second
  };
  /**
   * `pigeon import` of a bundle into a store (on every core, or on `cores`), as a user runs it
   * (bin/pigeon.mjs, which starts the CLI in a node of its own): its messages per second, the
   * CLI's peak resident memory, and the CPU it got: the cores it used on average (fewer than it
   * has on a loaded machine) and its main thread's CPU time a message (what the worker threads
   * cannot take over: reading, the chain rules, the store's writes).
   */
  const timedImport = async (b, store, cores) => {
    const t0 = performance.now();
    let peak = 0,
      cpu = 0,
      main = 0,
      cli = 0; // the launcher's child (the CLI's node), once it has started it
    const code = await new Promise((done) => {
      const p = spawn(
        "node",
        [
          join(root, "bin/pigeon.mjs"),
          "import",
          b.path,
          "--store",
          join(dir, store),
          ...(cores ? ["--cores", String(cores)] : []),
        ],
        { stdio: "ignore" }
      );
      const poll = setInterval(() => {
        try {
          if (!cli)
            cli = Number(readFileSync(`/proc/${p.pid}/task/${p.pid}/children`, "utf8").trim()) || 0;
          if (!cli) return;
          const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${cli}/status`, "utf8"));
          if (m) peak = Math.max(peak, Number(m[1]));
          cpu = cpuSeconds(`/proc/${cli}/stat`);
          main = cpuSeconds(`/proc/${cli}/task/${cli}/stat`);
        } catch {}
      }, 20);
      p.on("close", (c) => (clearInterval(poll), done(c)));
    });
    if (code !== 0) throw new Error(`import bench: the import of ${b.path} failed`);
    if (!cli)
      throw new Error("import bench: no figures: the CLI's node was never seen under the launcher");
    const seconds = (performance.now() - t0) / 1000;
    return {
      perSec: b.messages / seconds,
      peakMB: peak / 1024,
      coresUsed: cpu / seconds,
      mainUs: (main / b.messages) * 1e6,
    };
  };

  /** node:crypto's verify of a bundle's messages, one after another on this thread (one core), per second. */
  const verifyRate = (b) => {
    let i = 0;
    return rate(() => {
      const [u, k, sig] = b.signed[i++ % b.signed.length];
      if (!nodeVerify(null, u, k, sig)) throw new Error("import bench: a message does not verify");
    });
  };
  const reading = (d) => ({
    kind: "reading",
    lines: `t:"${1764000000 + 600 * d}"\ntemp:"${(20 + (d % 50) / 10).toFixed(1)}"\n`,
  });
  const per = Number(process.env.IMPORT_PER_FEED || 1000);
  const readings = bundle("readings", 100, per, reading);
  // the import on every core and on one, between two measures of one core's verify of the same
  // messages (their mean is the yardstick: the machine's load may change during the run)
  const verifyBefore = verifyRate(readings);
  const first = await timedImport(readings, "store");
  const oneCore = await timedImport(readings, "store-one", 1);
  r["import.nodeCryptoVerifyPerSec"] = (verifyBefore + verifyRate(readings)) / 2;
  r["import.cores"] = cpus().length;
  r["import.messages"] = readings.messages;
  r["import.messagesPerSec"] = first.perSec;
  r["import.vsNodeCryptoVerify"] = first.perSec / r["import.nodeCryptoVerifyPerSec"];
  r["import.coresUsed"] = first.coresUsed;
  r["import.mainThreadCpuUsPerMessage"] = first.mainUs;
  r["import.oneCore.messagesPerSec"] = oneCore.perSec;
  r["import.oneCore.vsNodeCryptoVerify"] = oneCore.perSec / r["import.nodeCryptoVerifyPerSec"];
  r["import.peakRssMB"] = first.peakMB;
  const known = await timedImport(readings, "store");
  r["import.known.messagesPerSec"] = known.perSec;
  r["import.known.ratioToVerify"] = known.perSec / r["import.nodeCryptoVerifyPerSec"];
  // memory as the import grows: the same 100 feeds with twice the messages each, and the slope
  // per million messages (the aim: a million under 200 MB)
  readings.signed.length = 0;
  const large = bundle("large", 100, 2 * per, reading);
  large.signed.length = 0;
  const largeImport = await timedImport(large, "large-store");
  r["import.large.messages"] = large.messages;
  r["import.large.messagesPerSec"] = largeImport.perSec;
  r["import.large.peakRssMB"] = largeImport.peakMB;
  r["import.peakRssMBPerMillion"] =
    ((largeImport.peakMB - first.peakMB) / (large.messages - readings.messages)) * 1e6;

  // long messages: 4 to 20 entries of 100 to 128 characters (mostly ASCII, some 2- to 4-byte UTF-8), 1 to 4.3 KB a message
  const CH = ["a", "Z", "7", " ", "-", "e", "q", "é", "温", "😀"];
  const long = bundle("long", 8, 1500, (d) => ({
    kind: "note",
    lines: Array.from(
      { length: 4 + ((d * 7) % 17) },
      (_, i) =>
        `line${i}:"${Array.from({ length: 100 + ((d + i) % 29) }, (_, j) => CH[(d * 31 + i * 7 + j * 13) % CH.length]).join("")}"\n`
    ).join(""),
  }));
  r["import.long.messages"] = long.messages;
  r["import.long.meanBytes"] = long.bytes / long.messages;
  r["import.long.nodeCryptoVerifyPerSec"] = verifyRate(long);
  const longImport = await timedImport(long, "long-store");
  r["import.long.rate"] = longImport.perSec;
  r["import.long.ratioToVerify"] = longImport.perSec / r["import.long.nodeCryptoVerifyPerSec"];
  r["import.long.peakRssMB"] = longImport.peakMB;
  rmSync(dir, { recursive: true }); // the bundles and stores: about 350 MB
}

// ---- the Thumb-2 kernels (issue 11): instructions per sign and verify under qemu-arm ----
if (want("native")) {
  const p = spawnSync("node", [join(root, "dist/native-bench.mjs")], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (p.status === 0) Object.assign(r, JSON.parse(p.stdout.trim().split("\n").pop()));
  else log(`native kernels: not counted: ${p.stderr.trim().split("\n").pop()}`);
}

// ---- the real firmware on emulated boards (issue 20): board.pico.*, board.wifi.* ----
if (want("board")) {
  const p = spawnSync("node", [join(root, "dist/emu.mjs"), "--figures"], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (p.status === 0) Object.assign(r, JSON.parse(p.stdout.trim().split("\n").pop()));
  else log(`emulated boards: not measured: ${(p.stdout + p.stderr).trim().split("\n").pop()}`);
}

// ---- the fleet simulation (issue 6): sim/scenarios/fleet.json, 20 boards, 3 stations, 3 mules, 60 days ----
if (want("fleet")) {
  const p = spawnSync(
    "node",
    [join(root, "dist/fleet.mjs"), join(root, "sim/scenarios/fleet.json")],
    { encoding: "utf8", maxBuffer: 1 << 24 }
  );
  if (p.status !== 0) throw new Error("fleet bench: " + p.stdout + p.stderr);
  const f = JSON.parse(readFileSync(join(root, "out/fleet.json"), "utf8"));
  r["fleet.wallSeconds"] = f.wallSeconds;
  r["fleet.messages"] = f.appends;
  r["fleet.messagesPerSec"] = f.appends / f.wallSeconds;
}

// ---- size ----
const bundle = readFileSync(BUNDLE);
r["bundle.bytes"] = bundle.length;
r["bundle.gzipBytes"] = gzipSync(bundle, { level: 9 }).length;
r["logger.bytes"] = readFileSync(join(root, "dist/logger.js")).length;

if (json) console.log(JSON.stringify(r));
else {
  const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3));
  for (const [k, v] of Object.entries(r)) log(k.padEnd(44), fmt(v));
}
