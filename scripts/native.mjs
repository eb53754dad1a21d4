// The Thumb-2 kernels (targets/espruino/native/): kernels.c compiled for the
// Cortex-M4 into one position-independent blob, kernels.bin, committed with
// the compiler that made it (kernels.json). `npm run build` rebuilds it where
// arm-none-eabi-gcc is installed and fails if the bytes differ; it also builds
// the ARM Linux test harness (dist/native/harness) that runs the blob under
// qemu-arm, where arm-linux-gnueabihf-gcc is installed. The base point table
// the blob carries (basetable.h) is made here from noble's curve.
import * as ed from "@noble/ed25519";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
export const NATIVE = join(root, "targets/espruino/native");
export const BLOB = join(NATIVE, "kernels.bin");
export const HARNESS = join(root, "dist/native/harness");
export const CFLAGS = [
  "-mcpu=cortex-m4",
  "-mthumb",
  "-Os",
  "-fno-toplevel-reorder",
  "-ffreestanding",
  "-fno-builtin",
  "-fno-tree-loop-distribute-patterns",
  "-fno-common",
  "-fno-pic",
  "-fno-exceptions",
  "-fno-asynchronous-unwind-tables",
  "-fno-unwind-tables",
  "-fno-stack-protector",
  "-nostdlib",
  "-Wall",
  "-Werror",
];
// kernel entry offsets: the branch table at the start of the blob (kernels.c)
export const ENTRIES = {
  fe_mul: 0,
  fe_sq: 4,
  sha512_blocks: 8,
  ed_base: 12,
  ed_dsm: 16,
  ed_sign: 20,
  b32_decode: 24,
  wire_page: 28,
  frame_escape: 32,
};
export const BASE_TABLE = join(NATIVE, "basetable.h");

const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const sha256 = (b) => createHash("sha256").update(b).digest("hex");

/**
 * The words of the kernels' base point table: entry m (0..15) is the sum over
 * the set bits j of m of 2^(64j) B, affine, in niels form (y + x, y - x,
 * 2dxy, each reduced modulo p), 8 little-endian 32-bit words a coordinate.
 */
export function baseTableWords() {
  const { p, d } = ed.Point.CURVE(),
    mod = (v) => ((v % p) + p) % p,
    teeth = [0n, 64n, 128n, 192n].map((e) => ed.Point.BASE.multiply(2n ** e)),
    words = [];
  for (let m = 0; m < 16; m++) {
    let e = ed.Point.ZERO;
    for (let j = 0; j < 4; j++) if (m & (1 << j)) e = e.add(teeth[j]);
    const { x, y } = e.toAffine();
    for (const v of [mod(y + x), mod(y - x), mod(2n * d * x * y)])
      for (let l = 0n; l < 8n; l++) words.push(Number((v >> (32n * l)) & 0xffffffffn));
  }
  return words;
}
/** basetable.h: the table as assembler words, for kernels.c's base_table. */
export function baseTableHeader() {
  const words = baseTableWords().map((w) => "0x" + w.toString(16).padStart(8, "0")),
    lines = [];
  for (let i = 0; i < words.length; i += 8)
    lines.push(`  ".word ${words.slice(i, i + 8).join(", ")}\\n"`);
  return `/* Made by scripts/native.mjs (node scripts/native.mjs --update) from @noble/ed25519's base point B:
   entry m = 0..15 is the sum over the set bits j of m of 2^(64j) B, affine, as niels (y + x, y - x,
   2dxy, each reduced modulo p), 8 little-endian words a coordinate: 24 words an entry. */
#define BASE_TABLE \\
${lines.join(" \\\n")}
`;
}

/** Checks a compiled object for anything that would not run as a flat blob at any address. */
export function checkObject(obj) {
  const sections = execFileSync("arm-none-eabi-readelf", ["-S", "-W", obj], { encoding: "utf8" });
  const problems = [];
  for (const m of sections.matchAll(
    /^\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+\S+\s+\S+\s+([0-9a-f]+)\s+\S+\s+(\S*)/gm
  )) {
    const [, name, type, size, flags] = m;
    if (/^REL/.test(type)) problems.push(`relocations (${name})`);
    if (flags.includes("A") && name !== ".text" && parseInt(size, 16) > 0)
      problems.push(`data outside .text (${name}, ${parseInt(size, 16)} bytes)`);
  }
  const undef = execFileSync("arm-none-eabi-nm", ["-u", obj], { encoding: "utf8" }).trim();
  if (undef) problems.push(`calls outside the blob: ${undef.replace(/\s+U\s+/g, " ").trim()}`);
  if (problems.length)
    throw new Error(`${obj}: not a position-independent blob: ${problems.join("; ")}`);
}

/** Compiles kernels.c; returns the blob's bytes and the compiler's version line. */
export function compileBlob(outDir = join(root, "dist/native")) {
  mkdirSync(outDir, { recursive: true });
  const obj = join(outDir, "kernels.o");
  execFileSync("arm-none-eabi-gcc", [...CFLAGS, "-c", join(NATIVE, "kernels.c"), "-o", obj], {
    stdio: "inherit",
  });
  checkObject(obj);
  const bin = join(outDir, "kernels.bin");
  execFileSync("arm-none-eabi-objcopy", ["-O", "binary", "-j", ".text", obj, bin]);
  const version = execFileSync("arm-none-eabi-gcc", ["--version"], { encoding: "utf8" }).split(
    "\n"
  )[0];
  return { bytes: readFileSync(bin), version };
}

/** Rebuilds the blob where the toolchain is (failing on different bytes), then the harness where its compiler is. */
export function buildNative({ log = console.log } = {}) {
  const meta = JSON.parse(readFileSync(join(NATIVE, "kernels.json"), "utf8"));
  if (readFileSync(BASE_TABLE, "utf8") !== baseTableHeader())
    throw new Error(
      `${BASE_TABLE} is not the table of the curve's base point: run node scripts/native.mjs --update and commit it with the blob`
    );
  const committed = readFileSync(BLOB);
  if (sha256(committed) !== meta.sha256 || committed.length !== meta.bytes)
    throw new Error(
      `${BLOB} does not match kernels.json (sha256 ${meta.sha256}, ${meta.bytes} bytes)`
    );
  if (has("arm-none-eabi-gcc")) {
    const { bytes, version } = compileBlob();
    if (!bytes.equals(committed)) {
      const hint =
        version === meta.compiler ? "" : ` (it was made by ${meta.compiler}, this is ${version})`;
      throw new Error(
        `kernels.c compiles to other bytes than the committed kernels.bin${hint}: run node scripts/native.mjs --update and commit both`
      );
    }
    log(
      `targets/espruino/native/kernels.bin ${committed.length} bytes, rebuilt identical (${version})`
    );
  } else
    log(
      `targets/espruino/native/kernels.bin ${committed.length} bytes (not rebuilt: install gcc-arm-none-eabi)`
    );
  if (has("arm-linux-gnueabihf-gcc")) {
    const src = join(NATIVE, "harness.c");
    if (!existsSync(HARNESS) || statSync(HARNESS).mtimeMs < statSync(src).mtimeMs) {
      mkdirSync(join(root, "dist/native"), { recursive: true });
      execFileSync(
        "arm-linux-gnueabihf-gcc",
        ["-static", "-O2", "-Wall", "-Werror", "-o", HARNESS, src],
        { stdio: "inherit" }
      );
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes("--update")) {
    // after a change to kernels.c: the new blob and its record
    writeFileSync(BASE_TABLE, baseTableHeader());
    const { bytes, version } = compileBlob();
    writeFileSync(BLOB, bytes);
    writeFileSync(
      join(NATIVE, "kernels.json"),
      JSON.stringify(
        {
          compiler: version,
          flags: CFLAGS.join(" "),
          bytes: bytes.length,
          sha256: sha256(bytes),
          entries: ENTRIES,
        },
        null,
        2
      ) + "\n"
    );
    console.log(`kernels.bin ${bytes.length} bytes (${version})`);
  } else buildNative();
}
