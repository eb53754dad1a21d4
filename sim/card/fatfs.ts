// FatFs (ChaN's FatFs R0.15 compiled to WebAssembly, npm `js-fatfs`) for the
// simulator's cards (fat.ts): making an instance over a disk from a compiled
// module, and the host-side file and directory reads of the cards it made.
// Cards brought in from outside are read by fatvolume.ts instead, which
// checks every number a card states (FatFs trusts them: a looping directory
// chain makes it loop, a claimed size is allocated).
import * as FatFsLib from "js-fatfs";
import type { DiskIO, FatFs } from "js-fatfs";

export const SECTOR = 512;

/** FRESULT names, as Espruino's jsfsReportError spells them (codes past TIMEOUT read "UNKNOWN" there). */
export const FRESULT = [
  "OK",
  "DISK_ERR",
  "INT_ERR",
  "NOT_READY",
  "NO_FILE",
  "NO_PATH",
  "INVALID_NAME",
  "DENIED",
  "EXIST",
  "INVALID_OBJECT",
  "WRITE_PROTECTED",
  "INVALID_DRIVE",
  "NOT_ENABLED",
  "NO_FILESYSTEM",
  "MKFS_ABORTED",
  "TIMEOUT",
];
export const frName = (res: number): string => FRESULT[res] ?? "UNKNOWN";

/**
 * A FatFs instance over `device` from the compiled `wasm` module, whose clock
 * (for file times) is `clock()` in ms since 1970. js-fatfs takes the time from
 * emscripten's Date.now() and localtime imports; they are replaced here (by
 * function name) with that clock, read as UTC as a board without a time zone does.
 */
export async function newFatFs(
  device: DiskIO,
  wasm: WebAssembly.Module,
  clock: () => number
): Promise<FatFs> {
  let heap: WebAssembly.Memory | null = null;
  const utcLocaltime = (lo: number, hi: number, tm: number) => {
    const d = new Date((hi * 4294967296 + (lo >>> 0)) * 1000);
    const h = new Int32Array(heap!.buffer, tm, 10);
    h.set([
      d.getUTCSeconds(),
      d.getUTCMinutes(),
      d.getUTCHours(),
      d.getUTCDate(),
      d.getUTCMonth(),
      d.getUTCFullYear() - 1900,
      d.getUTCDay(),
      Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 864e5),
      0,
      0,
    ]);
  };
  const opts = {
    diskio: device,
    codepage: 437, // the boards' code page
    instantiateWasm(
      info: { a: Record<string, Function> },
      receive: (i: WebAssembly.Instance) => void
    ) {
      for (const [k, f] of Object.entries(info.a)) {
        if (f.name === "_emscripten_date_now") info.a[k] = () => clock();
        else if (f.name === "__localtime_js") info.a[k] = utcLocaltime;
      }
      WebAssembly.instantiate(wasm, info as unknown as WebAssembly.Imports).then((inst) => {
        heap = Object.values(inst.exports).find(
          (x) => x instanceof WebAssembly.Memory
        ) as WebAssembly.Memory;
        receive(inst);
      });
      return {};
    },
  };
  return FatFsLib.create(opts as unknown as FatFsLib.FatFsOptions);
}

export interface HostEntry {
  name: string;
  size: number;
  dir: boolean;
}

/** A file's bytes on volume `vol` (e.g. "1:"), or undefined when missing; most: the volume's size, which a file's claimed size must not exceed. */
export function fatReadFile(
  ff: FatFs,
  vol: string,
  path: string,
  most: number
): Uint8Array | undefined {
  const fp = ff.malloc(FatFsLib.sizeof_FIL),
    br = ff.malloc(4);
  try {
    if (ff.f_open(fp, vol + path, FatFsLib.FA_READ) !== FatFsLib.FR_OK) return undefined;
    const size = ff.f_size(fp);
    if (size > most) {
      ff.f_close(fp);
      throw new Error(
        `${path}: its entry claims ${size} bytes, more than the card holds (${most})`
      );
    }
    const buf = ff.malloc(Math.max(1, size));
    const res = ff.f_read(fp, buf, size, br);
    const out = ff.HEAPU8.slice(buf, buf + ff.getValue(br, "i32"));
    ff.free(buf);
    ff.f_close(fp);
    if (res !== FatFsLib.FR_OK) throw new Error(`read ${path}: ${frName(res)}`);
    return out;
  } finally {
    ff.free(fp);
    ff.free(br);
  }
}

/** A directory's entries on volume `vol`, or undefined when missing. */
export function fatReaddir(ff: FatFs, vol: string, path = ""): HostEntry[] | undefined {
  const dp = ff.malloc(FatFsLib.sizeof_DIR),
    fno = ff.malloc(FatFsLib.sizeof_FILINFO);
  try {
    if (ff.f_opendir(dp, vol + path) !== FatFsLib.FR_OK) return undefined;
    const out: HostEntry[] = [];
    while (ff.f_readdir(dp, fno) === FatFsLib.FR_OK) {
      const name = ff.FILINFO_fname(fno);
      if (!name) break;
      out.push({
        name,
        size: ff.FILINFO_fsize(fno),
        dir: (ff.FILINFO_fattrib(fno) & FatFsLib.AM_DIR) !== 0,
      });
    }
    ff.f_closedir(dp);
    return out;
  } finally {
    ff.free(dp);
    ff.free(fno);
  }
}

/** Runs fn with volume `vol` mounted (and unmounts it after). */
export function withMount<T>(ff: FatFs, vol: string, what: string, fn: () => T): T {
  const fs = ff.malloc(FatFsLib.sizeof_FATFS);
  try {
    const res = ff.f_mount(fs, vol, 1);
    if (res !== FatFsLib.FR_OK) throw new Error(`mount ${what}: ${frName(res)}`);
    return fn();
  } finally {
    ff.f_mount(0, vol, 0);
    ff.free(fs);
  }
}
