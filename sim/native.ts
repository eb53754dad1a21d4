// E.nativeCall and E.getAddressOf for the simulator and the tests: the blob
// runs for real, as ARM code, in the harness (targets/espruino/native/harness.c)
// under qemu-arm. Typed arrays get addresses in the harness's arena, as flat
// buffers have on a board; a call copies every buffer that an argument points
// into to the harness and back. Calls are synchronous (two FIFOs), as on a board.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  closeSync,
  constants as fsConstants,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(__dirname, "..");
export const BLOB_FILE = join(root, "targets/espruino/native/kernels.bin");
export const HARNESS = join(root, "dist/native/harness");
const ARENA = 0x40000000,
  ARENA_SIZE = 8 << 20;

const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

/** Why the native kernels cannot run here (with what to install), or null when they can. */
export function nativeMissing(): string | null {
  const miss = [];
  if (!has("qemu-arm")) miss.push("qemu-user");
  if (!existsSync(HARNESS))
    miss.push(has("arm-linux-gnueabihf-gcc") ? "(run npm run build)" : "gcc-arm-linux-gnueabihf");
  return miss.length ? `the native kernels need: apt-get install ${miss.join(" ")}` : null;
}

type View = ArrayBufferView & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number };

// The arena's addresses, shared by every machine (E.getAddressOf takes no blob):
// a bump allocator over the typed arrays' buffers, kept in address order.
let next = ARENA;
const addrs = new WeakMap<ArrayBufferLike, number>();
const bufs: { addr: number; len: number; ref: WeakRef<ArrayBufferLike> }[] = [];

// Strings (such as the blob read from Storage, which a board maps from flash)
// get addresses in a region of their own; E.nativeCall at such an address runs
// that string's code at that offset.
const CODE = 0x08000000;
const codes: { addr: number; code: string }[] = [];

/** E.getAddressOf(v, true): the address of a string's or a typed array's data (flat on a board), 0 for anything else. */
export function addressOf(v: unknown): number {
  if (typeof v === "string") {
    if (!v.length) return 0;
    let c = codes.find((c) => c.code === v);
    if (!c) {
      const last = codes[codes.length - 1];
      codes.push(
        (c = { addr: last ? (last.addr + last.code.length + 4095) & ~4095 : CODE, code: v })
      );
    }
    return c.addr;
  }
  if (!ArrayBuffer.isView(v)) return 0;
  const view = v as View;
  let a = addrs.get(view.buffer);
  if (a === undefined) {
    const len = view.buffer.byteLength;
    if (next + len > ARENA + ARENA_SIZE) return 0; // no flat room left, as on a full board
    a = next;
    next += (len + 15) & ~7;
    addrs.set(view.buffer, a);
    bufs.push({ addr: a, len, ref: new WeakRef(view.buffer) });
  }
  return a + view.byteOffset;
}
/** The buffer holding address x, by binary search. */
function bufferAt(x: number) {
  let lo = 0,
    hi = bufs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1,
      b = bufs[mid];
    if (x < b.addr) hi = mid - 1;
    else if (x >= b.addr + Math.max(b.len, 1)) lo = mid + 1;
    else return b.ref.deref() ? { addr: b.addr, buf: b.ref.deref()! } : null;
  }
  return null;
}

/** One blob running in one harness process. */
export class NativeMachine {
  private proc: ChildProcess;
  private dir: string;
  private wfd: number;
  private rfd: number;
  /** Kernel calls made. */
  calls = 0;

  constructor(blob: Uint8Array | string = readFileSync(BLOB_FILE), extraArgs: string[] = []) {
    const why = nativeMissing();
    if (why) throw new Error(why);
    this.dir = mkdtempSync(join(tmpdir(), "pigeon-native-"));
    const file = join(this.dir, "blob.bin");
    writeFileSync(file, typeof blob === "string" ? Buffer.from(blob, "latin1") : blob);
    const fin = join(this.dir, "in"),
      fout = join(this.dir, "out");
    spawnSync("mkfifo", [fin, fout]);
    // qemu's messages go to a file, readable while this constructor waits synchronously
    const errFile = join(this.dir, "stderr"),
      errFd = openSync(errFile, "w");
    this.proc = spawn("qemu-arm", [...extraArgs, HARNESS, file, fin, fout], {
      stdio: ["ignore", "ignore", errFd],
    });
    closeSync(errFd);
    const pid = this.proc.pid!;
    const dead = () => {
      try {
        return / [ZX] /.test(readFileSync(`/proc/${pid}/stat`, "latin1"));
      } catch {
        return true;
      }
    };
    const fail = (what: string) => {
      this.proc.kill("SIGKILL");
      return new Error(
        `the native harness ${what}: ${readFileSync(errFile, "utf8").trim() || "(no message)"}`
      );
    };
    this.exited = new Promise<void>((done) => this.proc.on("exit", () => done()));
    this.proc.on("exit", (code) => {
      if (code)
        this.failure = `the native harness exited with ${code}: ${readFileSync(errFile, "utf8").trim()}`;
    });
    this.proc.unref();
    // Opening a FIFO waits for the other end, forever if the harness died first: open
    // without waiting, and poll until the harness has both ends open (or is gone).
    const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    const rnb = openSync(fout, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    let wnb = -1;
    for (let t0 = Date.now(); wnb < 0; sleep(2)) {
      try {
        wnb = openSync(fin, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
      } catch (e: any) {
        if (e.code !== "ENXIO") throw e;
        if (dead() || Date.now() - t0 > 20000) {
          closeSync(rnb);
          throw fail("did not start");
        }
      }
    }
    this.wfd = openSync(fin, "w"); // the reader is there: no wait
    closeSync(wnb);
    // the handshake: the blob's and the arena's addresses, once the harness has opened its output
    const hello = Buffer.alloc(8);
    for (let n = 0, t0 = Date.now(); n < 8;) {
      let k = 0;
      try {
        k = readSync(rnb, hello, n, 8 - n, null);
      } catch (e: any) {
        if (e.code !== "EAGAIN") throw e;
      }
      n += k;
      if (n < 8) {
        if (dead() || Date.now() - t0 > 20000) {
          closeSync(rnb);
          throw fail("stopped before its first reply");
        }
        sleep(1);
      }
    }
    this.blobAt = hello.readUInt32LE(0);
    this.rfd = openSync(fout, "r"); // the writer is there: no wait
    closeSync(rnb);
  }
  /** Where the harness mapped the blob (for counting its instructions in qemu's logs). */
  blobAt = 0;
  private failure = "";
  /** Settles when the harness process has ended (its -D log is complete then). */
  readonly exited: Promise<void>;

  /** Calls the kernel at offset | 1 with up to 5 int arguments; every buffer an argument points into goes across. */
  call(offset: number, args: number[]): number {
    if (!(offset & 1)) throw new Error("E.nativeCall: an even offset would run Thumb code as ARM");
    this.calls++;
    const regions: { addr: number; buf: ArrayBufferLike }[] = [];
    for (const x of args) {
      if (x < ARENA || x >= ARENA + ARENA_SIZE) continue;
      const b = bufferAt(x);
      if (b && !regions.some((r) => r.addr === b.addr)) regions.push(b);
    }
    const head = new Uint32Array(8 + 2 * regions.length);
    head.set([
      offset - 1,
      args.length,
      ...[0, 1, 2, 3, 4].map((i) => (args[i] ?? 0) >>> 0),
      regions.length,
    ]);
    const parts: Buffer[] = [Buffer.from(head.buffer, 0, 32)];
    for (const r of regions) {
      const len = r.buf.byteLength,
        pad = Buffer.alloc(((len + 3) & ~3) - len);
      parts.push(
        Buffer.from(new Uint32Array([r.addr, len]).buffer),
        Buffer.from(r.buf as ArrayBuffer),
        pad
      );
    }
    const req = Buffer.concat(parts);
    for (let o = 0; o < req.length;) o += writeSync(this.wfd, req, o);
    const ret = this.read(4).readUInt32LE(0);
    for (const r of regions) {
      const len = r.buf.byteLength,
        back = this.read((len + 3) & ~3);
      new Uint8Array(r.buf as ArrayBuffer).set(back.subarray(0, len));
    }
    return ret | 0;
  }
  private read(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let o = 0; o < n;) {
      const k = readSync(this.rfd, b, o, n - o, null);
      if (k <= 0)
        throw new Error(this.failure || "the native harness stopped (a crash in the blob?)");
      o += k;
    }
    return b;
  }

  /** E.nativeCall(offset, signature, code) for this machine's blob: a function of int arguments. */
  nativeCall(offset: number, sig: string) {
    const m = /^\s*(\w+)\s*\(([^)]*)\)\s*$/.exec(sig);
    if (!m) throw new Error(`E.nativeCall: bad signature ${sig}`);
    const types = m[2].trim() ? m[2].split(",").map((s) => s.trim()) : [];
    // Espruino packs the return type and the arguments into 16 bits, 3 each: at most 4 arguments
    if (types.length > 4)
      throw new Error(`E.nativeCall: Error Parsing signature at argument number 5 (${sig})`);
    if (types.some((t) => t !== "int"))
      throw new Error(`E.nativeCall: only int arguments are simulated (${sig})`);
    return (...a: unknown[]) => {
      const r = this.call(
        offset,
        types.map((_, i) => Number(a[i]) | 0)
      );
      return m[1] === "void" ? undefined : r;
    };
  }

  close() {
    this.proc.ref(); // so that awaiting `exited` keeps Node running
    try {
      const end = Buffer.alloc(4, 0xff);
      writeSync(this.wfd, end);
    } catch {}
    closeSync(this.wfd);
    closeSync(this.rfd);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** E.nativeCall(address, signature) without data: the code of the string at that address, as on a board. */
export function nativeCallAt(addr: number, sig: string) {
  const c = codes.find((c) => addr >= c.addr && addr < c.addr + c.code.length);
  if (!c) throw new Error(`the board crashed: no code at 0x${(addr >>> 0).toString(16)}`);
  return machineFor(c.code).nativeCall(addr - c.addr, sig);
}

/** One machine per distinct blob, shared (the simulator's boards and the tests start many). */
const machines = new Map<string, NativeMachine>();
export function machineFor(code: string): NativeMachine {
  let m = machines.get(code);
  if (!m) machines.set(code, (m = new NativeMachine(code)));
  return m;
}
