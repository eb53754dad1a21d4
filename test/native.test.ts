// The Thumb-2 kernels (targets/espruino/native/): the committed blob, exactly,
// run as ARM code under qemu-arm (sim/native.ts, targets/espruino/native/harness.c)
// and called through the firmware's own binding code (targets/espruino/native.ts)
// with a stand-in E whose nativeCall and getAddressOf reach the harness.
// Each kernel against @noble on 10,000 random inputs; Ed25519 on the kernels
// against RFC 8032 and the vectors (test/vectors/). SEED=<n> replays a run.
import * as ed from "@noble/ed25519";
import { sha512 as nobleSha512 } from "@noble/hashes/sha2.js";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
// @ts-ignore: a build script
import { baseTableWords, BLOB, checkObject, compileBlob, ENTRIES } from "../scripts/native.mjs";
import { addressOf, machineFor, NativeMachine, nativeCallAt, nativeMissing } from "../sim/native";
import { kernels, useNative } from "../targets/espruino/native";
import { b32decode, b32encode } from "../src/base32";
import { baseMul, comb, keypair, signBytes, verifySignature } from "../src/ed25519";
import { gf, jsMul, makeField, mul, sqr } from "../src/field";
import { sha512 } from "../src/sha512";
import { keys, sign as signMessage, verify as verifyMessage } from "../src/index";
import { loggerBoard } from "../sim/loggerboard";
import { readCard } from "../sim/card/read";
import { createImage, FatImage } from "../sim/card/image";
import { checkFeed, signFeed } from "./feed";
import { prng } from "../sim/prng";
import { RFC8032 } from "./rfc8032";
import { draftOf, hex, vectors } from "./vectors";
import { answer, crc32, frameBytes, rebuild, serve, setFrameKernels } from "../src/link";
import { appendMessage, createLog, openLog } from "../src/log";
import { MemDisk } from "../sim/card/memdisk";
import { Pigeon } from "./pigeon";

ed.hashes.sha512 = nobleSha512;
const N = Number(process.env.NATIVE_N) || 10000; // NATIVE_N: fewer, while working on the kernels
const SEED = process.env.SEED ? Number(process.env.SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
console.log(`native.test.ts: SEED=${SEED}`);
const rnd = prng(SEED);

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const mod = ed.etc.mod;
const fromLE = (b: Uint8Array) => b.reduceRight((acc, v) => (acc << 8n) | BigInt(v), 0n);
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");
/** The value of the core's 16 signed limbs. */
const value = (l: Int32Array) => l.reduceRight((acc, v) => acc * 65536n + BigInt(v), 0n);
/** Limbs of x (0 <= x < 2^256), 16 bits each. */
const limbs = (x: bigint, o = gf()) => {
  for (let i = 0; i < 16; i++, x >>= 16n) o[i] = Number(x & 0xffffn);
  return o;
};

const missing = nativeMissing();
const blob = readFileSync(BLOB);
// the board's E, as far as the binding uses it, with the blob in a Storage file
const E = {
  nativeCall: (addr: number, sig: string, code?: string) =>
    code === undefined ? nativeCallAt(addr, sig) : machineFor(code).nativeCall(addr, sig),
  getAddressOf: (v: unknown, flat: boolean) => (flat ? addressOf(v) : 0),
};
const Storage = {
  read: (name: string) => (name === "pigeon.bin" ? blob.toString("latin1") : undefined),
};

describe("the blob", () => {
  it("is committed with its compiler and fits in 9 KB", () => {
    const meta = JSON.parse(readFileSync(BLOB.replace(/\.bin$/, ".json"), "utf8"));
    expect(meta.bytes).toBe(blob.length);
    expect(blob.length).toBeLessThanOrEqual(9216); // a Pico's Storage: 3 KB stay for a sensor driver
    expect(meta.compiler).toMatch(/arm-none-eabi-gcc/);
    expect(meta.entries).toEqual(ENTRIES);
  });
  it("rebuilds byte for byte from kernels.c, with no relocations, data or outside calls", () => {
    if (spawnSync("sh", ["-c", "command -v arm-none-eabi-gcc"]).status !== 0)
      throw new Error("rebuilding the blob needs: apt-get install gcc-arm-none-eabi");
    const { bytes } = compileBlob(mkdtempSync(join(tmpdir(), "pigeon-blob-")));
    expect(Buffer.compare(bytes, blob)).toBe(0);
  });
  it("carries the base point table of noble's curve in its code, once", () => {
    const table = Buffer.from(new Uint32Array(baseTableWords()).buffer); // little-endian, as the Cortex-M4
    expect(table.length).toBe(1536);
    expect(blob.indexOf(table)).toBeGreaterThan(0);
    expect(blob.indexOf(table, blob.indexOf(table) + 1)).toBe(-1);
  });
  it("the relocation check refuses an object that needs one", () => {
    // a checker that never fails would pass the test above too
    const dir = mkdtempSync(join(tmpdir(), "pigeon-reloc-"));
    const src = join(dir, "bad.c"),
      obj = join(dir, "bad.o");
    writeFileSync(
      src,
      "static const int t[4] = {1, 2, 3, 4}; void *memset(void *, int, unsigned);\nint f(int i, char *p) { memset(p, 0, 64); return t[i & 3]; }\n"
    );
    spawnSync("arm-none-eabi-gcc", ["-mcpu=cortex-m4", "-mthumb", "-O2", "-c", src, "-o", obj]);
    expect(() => checkObject(obj)).toThrow(/relocations|data outside|calls outside/);
  });
  it("the kernels can run here (qemu-arm and the ARM Linux harness)", () => {
    if (missing) throw new Error(missing);
  });
  it.skipIf(!!missing)(
    "a harness that dies at start is an error with qemu's message, not a hang",
    () => {
      expect(() => new NativeMachine(blob, ["-cpu", "no-such-cpu"])).toThrow(
        /did not start: .*no-such-cpu/
      );
    }
  );
});

describe.skipIf(!!missing)("kernels under qemu-arm, through the firmware's binding", () => {
  let k: ReturnType<typeof kernels>;
  const jsDecode = b32decode; // the core's own, before binding
  beforeAll(() => {
    makeField(); // the field's JavaScript product (jsMul) to compare with; bound below
    k = kernels(E, () => blob.toString("latin1"));
    expect(useNative(E, Storage, "ESP32")).toBe(false); // only Cortex-M4 boards
    expect(useNative(E, Storage, "PICO_R1_3")).toBe(true);
  });

  // limbs as the core makes them: 16 bits, signed sums and differences of those, and larger
  const randomLimbs = (o: Int32Array) => {
    const r = rnd.int(4),
      span = [65536, 1 << 17, 1 << 19, 1 << 22][r],
      signed = r > 0;
    for (let i = 0; i < 16; i++) o[i] = signed ? rnd.int(2 * span) - span : rnd.int(span);
    return o;
  };
  it(`fe_mul and fe_sq: ${N} random products each, against noble's field`, () => {
    const a = gf(),
      b = gf(),
      o = gf(),
      js = gf();
    for (let n = 0; n < N; n++) {
      randomLimbs(a);
      randomLimbs(b);
      const want = mod(value(a) * value(b), P);
      k.mul(o, a, b);
      expect(mod(value(o), P), `SEED=${SEED} mul ${a} ${b}`).toBe(want);
      for (const x of o) expect(x >= 0 && x < 65536).toBe(true);
      if (Math.max(...a.map(Math.abs), ...b.map(Math.abs)) < 1 << 19) {
        jsMul(js, a, b); // the JavaScript path (exact up to limbs of 2^19 or so) gives the same element
        expect(mod(value(js), P)).toBe(want);
      }
      k.sq(o, a);
      expect(mod(value(o), P), `SEED=${SEED} sq ${a}`).toBe(mod(value(a) * value(a), P));
    }
    // the bound core: o may alias a and b; sqr repeats
    randomLimbs(a);
    const x = value(a);
    mul(a, a, a);
    sqr(a, a, 3);
    expect(mod(value(a), P)).toBe(mod(x ** 16n, P));
  });

  it(`sha512_blocks: ${N} random messages against @noble/hashes`, () => {
    const out = new Uint8Array(64),
      buf = new Uint8Array(1200);
    for (let n = 0; n < N; n++) {
      const len = n < 300 ? n : rnd.int(1100),
        p = rnd.int(64);
      buf.set(rnd.bytes(len), p);
      sha512(buf, p, len, out, 0);
      expect(toHex(out), `SEED=${SEED} length ${len}`).toBe(
        toHex(nobleSha512(buf.subarray(p, p + len)))
      );
    }
  });

  it(`ed_base: ${N} random scalars against noble's [k]B`, () => {
    const out = new Uint8Array(40);
    for (let n = 0; n < N; n++) {
      const s = rnd.bytes(32),
        x = mod(fromLE(s), L);
      baseMul(out, 8, s); // the core's baseMul, through the hook
      const want = x ? ed.Point.BASE.multiply(x).toBytes() : ed.Point.ZERO.toBytes();
      expect(toHex(out.subarray(8)), `SEED=${SEED} k ${toHex(s)}`).toBe(toHex(want));
    }
  });

  it(`ed_dsm: ${N} random [h]A + [S]B against noble`, () => {
    const d = mod(-121665n * ed.etc.invert(121666n, P), P),
      D2 = limbs(mod(2n * d, P));
    const rv = new Uint8Array(32),
      h = new Uint8Array(32),
      sig = new Uint8Array(64),
      Q = [gf(), gf(), gf(), gf()];
    let A = ed.Point.BASE;
    for (let n = 0; n < N; n++) {
      if (n % 100 == 0) A = ed.Point.fromBytes(ed.getPublicKey(rnd.bytes(32)));
      h.set(rnd.bytes(32));
      const hv = fromLE(h),
        S = mod(fromLE(rnd.bytes(32)), L);
      sig.set(rnd.bytes(32), 0);
      sig.set(ed.etc.hexToBytes(S.toString(16).padStart(64, "0")).reverse(), 32);
      const { x, y } = A.toAffine();
      limbs(x, Q[0]);
      limbs(y, Q[1]);
      limbs(1n, Q[2]);
      limbs(mod(x * y, P), Q[3]);
      expect(k.dsm(rv, h, sig, 32, Q, D2)).toBe(true);
      const want = A.multiplyUnsafe(mod(hv, L)).add(ed.Point.BASE.multiplyUnsafe(S)).toBytes();
      expect(toHex(rv), `SEED=${SEED} h ${toHex(h)} S ${S}`).toBe(toHex(want));
    }
  });

  it(`ed_sign: ${N / 10} random keys and messages against noble's sign`, () => {
    const sig = new Uint8Array(64),
      buf = new Uint8Array(700);
    for (let n = 0; n < N / 10; n++) {
      const seed = rnd.bytes(32),
        len = n < 260 ? n : rnd.int(600),
        p = rnd.int(64),
        kp = keypair(seed);
      buf.set(rnd.bytes(len), p);
      expect(k.sign(kp, buf, p, len, sig)).toBe(true);
      expect(toHex(sig), `SEED=${SEED} seed ${toHex(seed)} length ${len}`).toBe(
        toHex(ed.sign(buf.subarray(p, p + len), seed))
      );
    }
  });

  it("signing on the kernels never makes the core's comb (6 KB) or its JavaScript state", () => {
    // the tests above signed and multiplied by the base point through the binding alone
    expect(comb).toBeUndefined();
    const sig = new Uint8Array(64),
      kp = keypair(rnd.bytes(32));
    signBytes(kp, kp, 0, 96, sig);
    expect(verifySignature(kp, 64, kp, 0, 96, sig, 0)).toBe(true); // verifying makes the state, but not the comb: ed_dsm has the blob's table
    expect(comb).toBeUndefined();
  });

  it(`b32_decode: ${N} random strings, canonical or not, as the core's decoder reads them`, () => {
    const ALPHA = "0123456789ABCDEFGHJKMNPQRSTVWXYZ",
      s = new Uint8Array(120),
      a = new Uint8Array(80),
      b = new Uint8Array(80);
    let valid = 0;
    for (let n = 0; n < N; n++) {
      // half the spellings of random bytes (canonical), some with one character changed; half random characters
      let len = rnd.int(110);
      if (n & 1) {
        const bytes = rnd.bytes(rnd.int(65)),
          t = b32encode(bytes, 0, bytes.length);
        len = t.length;
        for (let i = 0; i < len; i++) s[i] = t.charCodeAt(i);
        if (len && !rnd.int(4))
          s[rnd.int(len)] = rnd.int(2) ? ALPHA.charCodeAt(rnd.int(32)) : rnd.int(256);
      } else
        for (let i = 0; i < len; i++)
          s[i] = rnd.int(20) ? ALPHA.charCodeAt(rnd.int(32)) : rnd.int(256);
      a.fill(0);
      b.fill(0);
      const want = jsDecode(s, 0, len, a),
        got = k.decode(s, 0, len, b);
      expect(got, `SEED=${SEED} ${Buffer.from(s.subarray(0, len)).toString("latin1")}`).toBe(want);
      if (want >= 0) (expect(toHex(b.subarray(0, want))).toBe(toHex(a.subarray(0, want))), valid++);
    }
    expect(valid).toBeGreaterThan(N / 4);
  });

  it("without the blob in Storage (or a flat array) the binding takes the JavaScript way", () => {
    const gone = kernels(E, () => undefined as unknown as string),
      calls = machineFor(blob.toString("latin1")).calls;
    const a = gf([...rnd.bytes(16)].map((x) => x * 256)),
      b = gf([...rnd.bytes(16)].map((x) => x * 255)),
      o = gf(),
      out = new Uint8Array(32);
    gone.mul(o, a, b);
    expect(mod(value(o), P)).toBe(mod(value(a) * value(b), P));
    expect(gone.base(out, 0, rnd.bytes(32))).toBe(false);
    const noFlat = kernels(
      { ...E, getAddressOf: (v: unknown) => (typeof v === "string" ? addressOf(v) : 0) },
      () => blob.toString("latin1")
    );
    noFlat.sq(o, a);
    expect(mod(value(o), P)).toBe(mod(value(a) * value(a), P));
    expect(machineFor(blob.toString("latin1")).calls).toBe(calls);
    k.sq(o, a); // and the bound one does call the blob (the hook below counts it)
  });

  it("a message in pieces (its buffer grown while the variables were scattered) is signed from a copy made after E.defrag()", () => {
    // the emulated Pico rebooted over a log of 1.2 KB messages: its first message's buffer came out in pieces
    // an array first seen while the variables are scattered is in pieces (no address); one made before keeps its own
    let scattered = false,
      defrags = 0;
    const seen = new WeakSet<object>(),
      pieces = new WeakSet<object>();
    const board = (defrag: boolean) =>
      kernels(
        {
          ...E,
          getAddressOf: (v: any, flat: boolean) => {
            if (ArrayBuffer.isView(v) && !seen.has(v.buffer)) {
              seen.add(v.buffer);
              if (scattered && v.byteLength > 1000) pieces.add(v.buffer);
            }
            return ArrayBuffer.isView(v) && pieces.has(v.buffer) ? 0 : E.getAddressOf(v, flat);
          },
          ...(defrag ? { defrag: () => (defrags++, (scattered = false)) } : {}),
        },
        () => blob.toString("latin1")
      );
    const sig = new Uint8Array(64),
      seed = rnd.bytes(32),
      kp = keypair(seed),
      m = rnd.bytes(1200);
    const withDefrag = board(true);
    expect(withDefrag.sign(kp, m, 0, 100, sig)).toBe(true); // m is flat: signed in place
    expect(defrags).toBe(0);
    scattered = true;
    const late = rnd.bytes(1200);
    expect(withDefrag.sign(kp, late, 0, 1200, sig)).toBe(true);
    expect(defrags).toBe(1);
    expect(toHex(sig)).toBe(toHex(ed.sign(late, seed)));
    expect(withDefrag.sign(kp, late, 100, 900, sig)).toBe(true); // the copy is kept
    expect(defrags).toBe(1);
    expect(toHex(sig)).toBe(toHex(ed.sign(late.subarray(100, 1000), seed)));
    // a firmware without E.defrag (built to save flash): the JavaScript way, as for any array that is not flat
    scattered = true;
    expect(board(false).sign(kp, rnd.bytes(1200), 0, 1200, sig)).toBe(false);
  });

  it("Ed25519 on the kernels: RFC 8032 section 7.1", () => {
    for (const v of RFC8032) {
      const kp = keypair(hex(v.secret)),
        msg = hex(v.message),
        s = new Uint8Array(64);
      expect(toHex(kp.subarray(64))).toBe(v.public);
      signBytes(kp, msg, 0, msg.length, s);
      expect(toHex(s)).toBe(v.signature);
      expect(verifySignature(kp, 64, msg, 0, msg.length, s, 0)).toBe(true);
      s[5] ^= 1;
      expect(verifySignature(kp, 64, msg, 0, msg.length, s, 0)).toBe(false);
    }
  });

  it("Ed25519 on the kernels re-signs the vector feeds byte for byte and verifies them", () => {
    let count = 0;
    for (const f of vectors.feeds) {
      const kp = keys(hex(f.seed_hex));
      for (const m of f.messages) {
        expect(signMessage(kp, draftOf(m.text))).toBe(m.text);
        expect(verifyMessage(m.text)).toBe(true);
        count++;
      }
    }
    expect(count).toBeGreaterThan(0);
  });

  // the kernels did run: each test's calls went to the harness
  let before = 0;
  beforeEach(() => void (before = machineFor(blob.toString("latin1")).calls));
  afterEach(
    () => void expect(machineFor(blob.toString("latin1")).calls - before).toBeGreaterThan(0)
  );
});

describe.skipIf(!!missing)("the firmware on simulated boards, with and without the kernels", () => {
  it("a Pico running the blob under qemu-arm writes the same messages as a Pico on E.convolve, a bare board and an ESP32", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "pigeon-native-fw-"));
    const blank = Buffer.from((await createImage(join(tmp, "blank.img"), 32 << 20)).buffer);
    const SEED = Array.from({ length: 32 }, (_, i) => 7 * i + 1);
    const WAVE =
      "var PIGEON_SENSORS = { wave: function () { return 20 + 5 * Math.sin(getTime() / 7200); } };";
    const m = machineFor(blob.toString("latin1")),
      calls0 = m.calls;
    const run = async (profile: "pico" | "wifi" | "bare" | "esp32", native: boolean) => {
      const img = await FatImage.fromBuffer(
        join(tmp, `${profile}-${native}.img`),
        Buffer.from(blank)
      );
      const b = loggerBoard({
        profile,
        native,
        image: img,
        clock: 1764000000,
        seedBytes: SEED,
        config: "sensors=wave\n",
        before: WAVE,
      });
      b.runFor(4 * 3600);
      expect(b.errors).toEqual([]);
      const [feed] = readCard(img);
      return { messages: feed.messages, native: b.load("PigeonLogger.state.native") };
    };
    const pico = await run("pico", true);
    expect(pico.native).toBe(true);
    expect(m.calls - calls0).toBeGreaterThan(3 * pico.messages.length); // the kernels signed them
    expect(pico.messages.length).toBe(24);
    checkFeed(pico.messages);
    for (const [profile, native] of [
      ["pico", false],
      ["bare", false],
      ["esp32", true],
      ["wifi", true],
    ] as const) {
      const other = await run(profile, native);
      expect(other.native, `${profile}`).toBe(profile === "wifi");
      expect(other.messages, `${profile}`).toEqual(pico.messages);
    }
  });
});

describe.skipIf(!!missing)(
  "wire_page: the kernel's answers to a pull are wire()'s, byte for byte",
  () => {
    // a log of mixed messages: readings of one shape; records that run on over pages (the JavaScript
    // way, inside a kernel's run); shapes longer than the 255 bytes kept; values that are ids and one-character strings
    const seed = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);
    const body = (d: number): string[][] => {
      const t = ["t", `"${1764000000 + 600 * d}"`];
      if (d % 17 === 5)
        return [
          t,
          ...Array.from({ length: 6 }, (_, i) => [`note${i}`, `"${"long ".repeat(23)}${d}"`]),
        ];
      if (d % 13 === 3)
        return [
          t,
          ...Array.from({ length: 9 }, (_, i) => [`key_${i}_${"k".repeat(24)}`, `"${i}"`]),
        ];
      if (d % 11 === 7) return [t, ["by", Pigeon.identity(seed)]];
      if (d % 7 === 2) return [t, ["e", '"-"']];
      return [t, ["temp", `"${(20 + (d % 50) / 10).toFixed(1)}"`]];
    };
    const feed = signFeed(260, seed, body);
    const disk = new MemDisk();
    createLog(disk, "W.LOG", feed.author, 400, 7);
    const log = openLog(disk, "W.LOG");
    for (const t of feed.texts) {
      const b = Buffer.from(t);
      expect(appendMessage(log, new Uint8Array(b), b.length)).toBe("");
    }
    const reader = disk.openFile("W.LOG", "r")!;
    const have = (a: number, b: number) => `${feed.author} ${a} ${b}`;
    let writes: string[] = []; // the last answer's writes
    /**
     * The lines of the answer to one request; clockStep: ms the clock moves at each reading of it, lineStep:
     * the same for the clock the board paces its line by.
     */
    const answerTo = (h: string, from: number, max: number, clockStep = 0, lineStep = 0) => {
      let bytes = "";
      writes = [];
      const tag = 7,
        check = crc32(`${tag} ${from} ${max} ${h}`).toString(16).padStart(8, "0");
      let now = 1764000000000;
      // the line's clock stands still: the board writes what its transmit buffer has room for once, then
      // each frame's line whole, so that both ways frame alike (with the line draining, the frames depend
      // on how long the board takes: test/link-sim.test.ts and the emulated pulls)
      let lineNow = now;
      const lineClock = vi.spyOn(Date, "now").mockImplementation(() => (lineNow += lineStep));
      serve(
        log,
        reader,
        feed.author,
        "",
        tag,
        h,
        from,
        max,
        check,
        (b) => (writes.push(b), (bytes += b)),
        () => (now += clockStep)
      );
      lineClock.mockRestore();
      expect(bytes.endsWith("\n")).toBe(true);
      return bytes.slice(0, -1).split("\n");
    };
    /** An answer's lines with each frame as its bytes: B (escaped by the kernel) and M (base64, without it) alike. */
    const framesAsBytes = (lines: string[]) =>
      lines.map((l) => {
        const a = answer(l)!;
        return a[1] === "B" || a[1] === "M"
          ? `frame ${a[2]} ${a[3]} ${Buffer.from(frameBytes(a)!, "latin1").toString("hex")}`
          : l;
      });
    const requests: [string, number, number, number?][] = [
      ["", 0, 1e6],
      [have(0, 49), 50, 40],
      [have(0, 9), 120, 1000], // a gap: the certificate path first
      ["", 77, 5],
      [have(10, 20), 0, 300],
      ["", 0, 1e6, 60], // the clock running: the answer stops after the frame that passes half a second
    ];
    let k: ReturnType<typeof kernels>;
    beforeAll(() => (k = kernels(E, () => blob.toString("latin1"))));
    afterEach(() => setFrameKernels(null));

    it("for requests from the start, after a held run, across a gap, mid-page, and with the time running out", () => {
      let taken = 0,
        escaped = 0;
      for (const [h, from, max, step] of requests) {
        setFrameKernels(null);
        const js = answerTo(h, from, max, step);
        setFrameKernels({
          frames: (io, out, shape) => {
            const f = k.frames(io, out, shape)!;
            return {
              wire: (b: Uint8Array) => {
                const left = io[4],
                  r = f.wire(b);
                taken += left - io[4];
                return r;
              },
              escape: (n: number) => {
                const r = f.escape(n);
                if (r >= 0) escaped++;
                return r;
              },
            };
          },
        });
        const native = answerTo(h, from, max, step);
        expect(framesAsBytes(native), `request ${h} ${from} ${max}`).toEqual(framesAsBytes(js));
        expect(js.some((l) => / B \d+ /.test(l))).toBe(false); // without the kernels: base64
        expect(native.some((l) => / B \d+ /.test(l))).toBe(true);
      }
      expect(taken).toBeGreaterThan(500); // the kernels made most of the records, and escaped most frames
      expect(escaped).toBeGreaterThan(50);
    });
    /** The messages the frames of an answer's lines rebuild. */
    const rebuilt = (lines: string[]) => {
      const texts: string[] = [],
        ids = new Map<number, string>(),
        st = { author: feed.author, expected: 0, linkId: (d: number) => ids.get(d) };
      for (const l of lines) {
        const a = answer(l)!;
        expect(a.length).toBeGreaterThan(0);
        if (a[1] !== "B" && a[1] !== "M") continue;
        expect(
          rebuild(st, frameBytes(a)!, (t, d) => {
            ids.set(d, Pigeon.id(t));
            texts[d] = t;
          })
        ).toBe("");
      }
      return texts;
    };
    it("the frames rebuild every message of the log byte for byte", () => {
      setFrameKernels(k);
      expect(rebuilt(answerTo("", 0, 1e6))).toEqual(feed.texts);
    });
    it("with the line draining, a frame's line goes in pieces the transmit buffer has room for, frames go early rather than leave the line idle, and every message arrives", () => {
      setFrameKernels(k);
      const still = answerTo("", 0, 1e6).filter((l) => / B \d+ /.test(l)).length;
      // the line's clock moves 10 ms at each reading: 115 bytes drain meanwhile at 115,200 baud
      const lines = answerTo("", 0, 1e6, 0, 10),
        pieces = writes.filter((w) => !w.endsWith("\n"));
      expect(pieces.length).toBeGreaterThan(50);
      expect(Math.max(...pieces.map((p) => p.length))).toBeLessThanOrEqual(127);
      expect(lines.filter((l) => / B \d+ /.test(l)).length).toBeGreaterThan(still);
      expect(rebuilt(lines)).toEqual(feed.texts);
    });
  }
);
