// Native figures for npm run bench, printed as one JSON object: instructions
// the Thumb-2 kernels execute per sign and per verify on the firmware's path
// (counted under qemu-arm from its translation and execution logs, -d
// in_asm,exec,nochain: every executed block of the blob times its instructions),
// the time that implies at 84 MHz (one instruction a cycle), and the blob's size.
// The JavaScript around the kernels (hashing's padding, scalars mod L, copies)
// runs in the interpreter on a board and is not in these counts.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BLOB_FILE, NativeMachine, addressOf, nativeMissing } from "../sim/native";
import { useNative } from "../targets/espruino/native";
import { keys, sign, verify } from "../src/index";
import { DRAFT, SEED } from "./drivers.mjs";

const MHZ = 84;

/** Instructions run inside the blob, from a harness log. */
function countLog(file: string, blobAt: number, size: number) {
  const log = readFileSync(file, "latin1").split("\n");
  const len = new Map<number, number>();
  let at = -1,
    n = 0,
    total = 0;
  for (const line of log) {
    if (line.startsWith("IN:")) ((at = -1), (n = 0));
    else if (line.startsWith("0x")) {
      const pc = parseInt(line.slice(2, 10), 16);
      if (at < 0) at = pc;
      len.set(at, ++n);
    } else if (line.startsWith("Trace ")) {
      const m = /\[[0-9a-f]+\/([0-9a-f]+)\//.exec(line);
      if (!m) throw new Error("unexpected exec log line: " + line);
      const pc = parseInt(m[1], 16);
      if (pc >= blobAt && pc < blobAt + size) {
        const k = len.get(pc);
        if (k === undefined) throw new Error(`no translation logged for 0x${pc.toString(16)}`);
        total += k;
      }
    }
  }
  return total;
}

async function main() {
  const why = nativeMissing();
  if (why) throw new Error(why);
  const blob = readFileSync(BLOB_FILE),
    size = blob.length,
    dir = mkdtempSync(join(tmpdir(), "pigeon-count-"));
  let machine = new NativeMachine(blob);
  const E = {
    // the blob's address is E.getAddressOf's for its string; each call goes to the current harness
    nativeCall:
      (addr: number, sig: string) =>
      (...a: number[]) =>
        machine.nativeCall(addr - addressOf(blob.toString("latin1")), sig)(...a),
    getAddressOf: (v: unknown, flat: boolean) => (flat ? addressOf(v) : 0),
  };
  const seed = Uint8Array.from(SEED),
    other = Uint8Array.from(SEED.map((x) => x ^ 0x5a));
  // the comb and keys made first (as at a board's boot), then the kernels bound as the firmware binds them
  const k = keys(seed),
    k2 = keys(other);
  if (!useNative(E, { read: () => blob.toString("latin1") }, "PICO_R1_3"))
    throw new Error("the kernels did not bind");
  const text = sign(k, DRAFT),
    text2 = sign(k2, DRAFT);
  if (!verify(text) || !verify(text2)) throw new Error("a native signature did not verify");
  machine.close();
  /** Instructions and kernel calls of f, on a harness of its own that logs. */
  async function count(name: string, f: () => unknown) {
    const log = join(dir, name + ".log");
    machine = new NativeMachine(blob, [
      ...(process.env.SINGLESTEP ? ["-singlestep"] : []),
      "-d",
      "in_asm,exec,nochain",
      "-D",
      log,
    ]);
    if (process.env.KEEP_LOGS) console.error(log);
    const r = f();
    const calls = machine.calls,
      at = machine.blobAt;
    machine.close();
    await machine.exited;
    return { r, calls, instructions: countLog(log, at, size) };
  }
  const r: Record<string, number> = {};
  const s = await count("sign", () => sign(k, DRAFT));
  if (s.r !== text) throw new Error("the counted sign differs");
  verify(text2); // the next verify's key is then a new one
  const vNew = await count("verify-new-key", () => verify(text));
  const v = await count("verify", () => verify(text));
  if (v.r !== true || vNew.r !== true) throw new Error("the counted verify failed");
  const b = new Uint8Array(64),
    fm = await count("fe_mul", () => useNativeMul(b));
  r["native.blobBytes"] = size;
  r["native.sign.instructions"] = s.instructions;
  r["native.sign.kernelCalls"] = s.calls;
  r["native.sign.msAt84MHz"] = s.instructions / (MHZ * 1000);
  r["native.verify.instructions"] = v.instructions;
  r["native.verify.kernelCalls"] = v.calls;
  r["native.verify.msAt84MHz"] = v.instructions / (MHZ * 1000);
  r["native.verifyNewKey.instructions"] = vNew.instructions;
  r["native.verifyNewKey.kernelCalls"] = vNew.calls;
  r["native.feMul.instructions"] = fm.instructions;
  if (!process.env.KEEP_LOGS) rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify(r));
}

import { gf, makeField, mul } from "../src/field";
/** One fe_mul through the binding. */
function useNativeMul(_: Uint8Array) {
  const a = gf([1, 2, 3]),
    o = gf();
  makeField();
  mul(o, a, a);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
