// The Espruino shim (sim/espruino.ts): files, fs, Storage, crypto, E.*, timers on
// the virtual clock, watchdog, profiles. Each expectation is a line of
// /work/shared/ESPRUINO.md or of the Espruino C it cites.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PowerCut } from "../sim/card/fault";
import { FatImage, createImage } from "../sim/card/image";
import { Board, Flash, PROFILES, REMOVED, is83, type ProfileName } from "../sim/espruino";

const tmp = mkdtempSync(join(tmpdir(), "pigeon-shim-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let blank: Buffer;
beforeAll(async () => {
  blank = Buffer.from((await createImage(join(tmp, "blank.img"), 32 << 20)).buffer);
});
/** A fresh card (a copy of one formatted image: formatting each time is slower). */
const card = () => FatImage.fromBuffer(join(tmp, "card.img"), Buffer.from(blank));

/** A board with a card, SD connected; `js` runs code and returns its value. */
async function sd(profile: ProfileName = "pico") {
  const img = await card();
  const b = new Board({ profile, image: img, clock: 1764000000 });
  b.load(
    `E.connectSDCard(${profile === "esp32" ? "SPI2, D5" : "SPI1, B6"}); var fs = require("fs");`
  );
  return { b, img, js: (code: string) => b.load(code) };
}
/** The message of the error that code throws on the board ("" when it does not throw). */
function thrown(b: Board, code: string): string {
  return b.load(
    `(function () { try { ${code}; return ""; } catch (e) { return e instanceof Error ? e.message : "not an Error: " + e; } })()`
  ) as string;
}

describe("E.openFile: the modes of ESPRUINO.md's table", () => {
  let b: Board, js: (c: string) => unknown;
  beforeEach(async () => ({ b, js } = await sd()));

  it("r: read, existing only; a missing file throws NO_FILE; write returns 0", () => {
    expect(thrown(b, `E.openFile("NONE.TXT", "r")`)).toBe("Could not open file : NO_FILE");
    expect(thrown(b, `E.openFile("NONE.TXT")`)).toBe("Could not open file : NO_FILE"); // default mode r
    js(`fs.writeFileSync("A.TXT", "hello")`);
    expect(
      js(`var f = E.openFile("A.TXT", "r"); [f.write("xx"), f.read(3), f.read(99), f.read(1)]`)
    ).toEqual([0, "hel", "lo", undefined]);
    expect(js(`fs.readFileSync("A.TXT")`)).toBe("hello");
  });

  it("r+: read and write, existing only, position 0, no truncation", () => {
    expect(thrown(b, `E.openFile("NONE.TXT", "r+")`)).toBe("Could not open file : NO_FILE");
    js(`fs.writeFileSync("A.TXT", "hello world")`);
    expect(
      js(
        `var f = E.openFile("A.TXT", "r+"); var n = f.write("HE"); var r = f.read(3); f.close(); [n, r]`
      )
    ).toEqual([2, "llo"]);
    expect(js(`fs.readFileSync("A.TXT")`)).toBe("HEllo world");
  });

  it("w: creates, truncates, write-only (read gives undefined)", () => {
    js(`fs.writeFileSync("A.TXT", "old contents")`);
    expect(
      js(
        `var f = E.openFile("A.TXT", "w"); var r = f.read(5); var n = f.write("new"); f.close(); [r, n]`
      )
    ).toEqual([undefined, 3]);
    expect(js(`fs.readFileSync("A.TXT")`)).toBe("new");
    expect(js(`var f = E.openFile("B.TXT", "w"); f.close(); fs.statSync("B.TXT").size`)).toBe(0);
  });

  it("w+: read and write, opens or creates, does NOT truncate, starts at position 0", () => {
    js(`fs.writeFileSync("A.TXT", "0123456789")`);
    expect(
      js(
        `var f = E.openFile("A.TXT", "w+"); var r = f.read(4); f.write("ab"); f.seek(0); var all = f.read(100); f.close(); [r, all]`
      )
    ).toEqual(["0123", "0123ab6789"]);
    expect(js(`fs.readFileSync("A.TXT")`)).toBe("0123ab6789");
    expect(
      js(`var f = E.openFile("NEW.TXT", "w+"); f.write("x"); f.close(); fs.readFileSync("NEW.TXT")`)
    ).toBe("x");
  });

  it("a: opens or creates, one seek to the end at open, write-only; later writes follow the position", () => {
    js(`fs.writeFileSync("A.TXT", "0123456789")`);
    expect(
      js(
        `var f = E.openFile("A.TXT", "a"); var r = f.read(1); f.write("AB"); f.seek(2); f.write("cd"); f.close(); r`
      )
    ).toBeUndefined();
    expect(js(`fs.readFileSync("A.TXT")`)).toBe("01cd456789AB");
    expect(
      js(
        `var f = E.openFile("C.TXT", "a"); f.write("1"); f.close(); f = E.openFile("C.TXT", "a"); f.write("2"); f.close(); fs.readFileSync("C.TXT")`
      )
    ).toBe("12");
  });

  it("only the first two characters count; an unknown mode returns undefined without throwing", () => {
    js(`fs.writeFileSync("A.TXT", "abc")`);
    expect(
      js(`var f = E.openFile("A.TXT", "r+junk"); f.write("X"); f.close(); fs.readFileSync("A.TXT")`)
    ).toBe("Xbc");
    for (const m of ["rb", "a+", "x", "R", "", "wr"])
      expect(js(`typeof E.openFile("A.TXT", ${JSON.stringify(m)})`), m).toBe("undefined");
    expect(js(`typeof E.openFile("A.TXT", 1)`)).toBe("undefined");
    expect(js(`fs.readFileSync("A.TXT")`)).toBe("Xbc"); // nothing was opened, nothing truncated
    expect(thrown(b, `E.openFile()`)).toBe("Path is undefined");
  });
});

describe("File objects", () => {
  let b: Board, js: (c: string) => unknown;
  beforeEach(async () => ({ b, js } = await sd()));

  it("write returns the bytes written and takes strings, arrays, typed arrays, ArrayBuffers and numbers as bytes", () => {
    expect(
      js(`var f = E.openFile("B.BIN", "w");
      [f.write("ab"), f.write([67, 324, -1]), f.write(new Uint8Array([1, 2])), f.write(new Uint8Array([9, 8]).buffer), f.write(65), f.write(), f.write("")]`)
    ).toEqual([2, 3, 2, 2, 1, 0, 0]);
    js(`f.close()`);
    expect([...Buffer.from(js(`fs.readFileSync("B.BIN")`) as string, "latin1")]).toEqual([
      97, 98, 67, 68, 255, 1, 2, 9, 8, 65,
    ]);
  });

  it("read returns byte strings (chars 0-255); a string's characters are cropped to 8 bits as on boards", () => {
    js(
      `var all = []; for (var i = 0; i < 256; i++) all.push(i); fs.writeFileSync("ALL.BIN", all); fs.writeFileSync("EURO.TXT", "\\u20ac\\u00e9")`
    );
    const s = js(`fs.readFileSync("ALL.BIN")`) as string;
    expect(s.length).toBe(256);
    expect([...s].every((c, i) => c.charCodeAt(0) === i)).toBe(true);
    expect(
      js(`var s = fs.readFileSync("EURO.TXT"); [s.length, s.charCodeAt(0), s.charCodeAt(1)]`)
    ).toEqual([2, 0xac, 0xe9]);
  });

  it("read at the end of the file gives undefined and does not close: seek back and read again", () => {
    js(`fs.writeFileSync("A.TXT", "abcdef")`);
    expect(js(`var f = E.openFile("A.TXT", "r"); [f.read(6), f.read(6), f.read(1)]`)).toEqual([
      "abcdef",
      undefined,
      undefined,
    ]);
    expect(js(`f.seek(2); [f.read(2), f.read(0)]`)).toEqual(["cd", ""]);
    expect(js(`f.skip(1); f.read(9)`)).toBe("f");
  });

  it("seeking past the end extends the file with write access; read-only seeks stop at the end", () => {
    js(`fs.writeFileSync("A.TXT", "abc")`);
    expect(
      js(
        `var f = E.openFile("A.TXT", "r+"); f.seek(10); f.write("Z"); f.close(); fs.statSync("A.TXT").size`
      )
    ).toBe(11);
    expect(js(`var s = fs.readFileSync("A.TXT"); [s.slice(0, 3), s.charAt(10)]`)).toEqual([
      "abc",
      "Z",
    ]);
    expect(
      js(
        `var f = E.openFile("A.TXT", "r"); f.seek(100); var r = f.read(5); f.close(); [r, fs.statSync("A.TXT").size]`
      )
    ).toEqual([undefined, 11]);
    b.output.length = 0;
    js(`var f = E.openFile("A.TXT", "r"); f.seek(-1); f.skip(-1); f.close()`);
    expect(b.output).toEqual([
      "WARNING: Position to seek to must be >=0",
      "WARNING: Bytes to skip must be >=0",
    ]);
  });

  it("close twice is harmless; a closed file reads undefined and writes 0", () => {
    expect(
      js(
        `var f = E.openFile("A.TXT", "w"); f.write("x"); f.close(); f.close(); [f.write("y"), f.read(1)]`
      )
    ).toEqual([0, undefined]);
    expect(js(`fs.readFileSync("A.TXT")`)).toBe("x");
  });

  it("every write ends with f_sync: the card holds the data before close", async () => {
    const { js, img } = await sd();
    js(`var f = E.openFile("LOG.TXT", "w"); f.write("synced")`);
    expect(img.readFile("LOG.TXT")!.toString()).toBe("synced");
    // with E.setFlags({unsyncFiles:1}) the size reaches the card only at close
    js(`E.setFlags({ unsyncFiles: 1 }); f.write(" more")`);
    expect(img.readFile("LOG.TXT")!.toString()).toBe("synced");
    js(`f.close()`);
    expect(img.readFile("LOG.TXT")!.toString()).toBe("synced more");
  });
});

describe("paths: 63 characters and 8.3 names", () => {
  let b: Board, js: (c: string) => unknown;
  beforeEach(async () => ({ b, js } = await sd()));

  it("a 63-character path works; 64 throws File path too long", () => {
    const dirs = ["ABCDEFGH", "IJKLMNOP", "QRSTUVWX", "YZ012345", "6789ABCD", "EFGHIJKL"];
    js(
      `var p = ""; ${JSON.stringify(dirs)}.forEach(function (d) { p += (p ? "/" : "") + d; fs.mkdirSync(p); })`
    );
    const p63 = dirs.join("/") + "/ABCDE.TXT",
      p64 = dirs.join("/") + "/ABCDEF.TXT";
    expect([p63.length, p64.length]).toEqual([63, 64]);
    expect(
      js(
        `fs.writeFileSync(${JSON.stringify(p63)}, "deep"); fs.readFileSync(${JSON.stringify(p63)})`
      )
    ).toBe("deep");
    expect(thrown(b, `E.openFile(${JSON.stringify(p64)}, "w")`)).toBe("File path too long");
    for (const call of [
      "fs.readdirSync",
      "fs.mkdirSync",
      "fs.unlinkSync",
      "fs.statSync",
      "fs.readFileSync",
    ])
      expect(thrown(b, `${call}(${JSON.stringify(p64)})`), call).toBe("File path too long");
  });

  it("names must be 8.3: longer names throw INVALID_NAME; lower case is stored upper case", async () => {
    expect(thrown(b, `E.openFile("LONGFILENAME.TXT", "w")`)).toBe(
      "Could not open file : INVALID_NAME"
    );
    expect(thrown(b, `E.openFile("A.TEXT", "w")`)).toBe("Could not open file : INVALID_NAME");
    expect(thrown(b, `E.openFile("A B.TXT", "w")`)).toBe("Could not open file : INVALID_NAME");
    expect(thrown(b, `E.openFile("A+B.TXT", "w")`)).toBe("Could not open file : INVALID_NAME");
    expect(thrown(b, `fs.mkdirSync("DIRECTORY")`)).toBe(
      "Unable to create the directory : INVALID_NAME"
    );
    expect(thrown(b, `fs.writeFileSync("LONGDIRNAME/A.TXT", "x")`)).toBe(
      "Could not open file : INVALID_NAME"
    );
    expect(js(`fs.readdirSync()`)).toEqual([]);
    js(
      `fs.mkdirSync("logs"); fs.writeFileSync("logs/day1.txt", "x"); fs.writeFileSync("/Mixed.Txt", "y")`
    );
    expect(js(`fs.readdirSync()`)).toEqual(["LOGS", "MIXED.TXT"]);
    expect(js(`fs.readdirSync("LOGS")`)).toEqual([".", "..", "DAY1.TXT"]);
    expect(js(`fs.readFileSync("LOGS\\\\Day1.TXT")`)).toBe("x"); // either separator, any case
    for (const ok of ["A", "ABCDEFGH.TXT", "A.B", "$X~1.{}_", "12345678.123"])
      expect(is83(ok), ok).toBe(true);
    for (const bad of ["", ".TXT", "A.", "ABCDEFGHI", "A.BCDE", "A.B.C", "A*B", "É.TXT"])
      expect(is83(bad), bad).toBe(false);
  });
});

describe("mounting: E.connectSDCard, no card, card removed", () => {
  it("without E.connectSDCard every file call throws", async () => {
    const b = new Board({ profile: "pico", image: await card() });
    for (const call of [
      `E.openFile("A.TXT", "w")`,
      `require("fs").readdirSync()`,
      `require("fs").writeFileSync("A.TXT", "x")`,
    ])
      expect(thrown(b, call), call).toBe("SD card must be setup with E.connectSDCard first");
    expect(thrown(b, `E.connectSDCard(1, B6)`)).toBe(
      "First argument is a number, not an SPI object"
    );
    expect(thrown(b, `E.connectSDCard(SPI1, 6)`)).toBe("Second argument is not a valid pin");
  });

  it("an empty slot: Unable to mount media : NOT_READY; a card inserted later mounts", async () => {
    const b = new Board({ profile: "wifi", image: null });
    b.load(`E.connectSDCard(SPI1, B6)`);
    expect(thrown(b, `require("fs").readdirSync()`)).toBe("Unable to mount media : NOT_READY");
    b.insertCard(await card());
    expect(
      b.load(`require("fs").writeFileSync("A.TXT", "x"); require("fs").readdirSync()`)
    ).toEqual(["A.TXT"]);
  });

  it("an unformatted card: NO_FILESYSTEM", async () => {
    const b = new Board({
      profile: "pico",
      image: await FatImage.fromBuffer(join(tmp, "raw.img"), Buffer.alloc(8 << 20)),
    });
    b.load(`E.connectSDCard(SPI1, B6)`);
    expect(thrown(b, `require("fs").readdirSync()`)).toBe("Unable to mount media : NO_FILESYSTEM");
  });

  it("a card pulled out while mounted gives disk errors until E.unmountSD()", async () => {
    const { b, js } = await sd();
    js(`fs.writeFileSync("A.TXT", "x")`);
    const img = b.image!;
    b.removeCard();
    expect(thrown(b, `fs.writeFileSync("B.TXT", "y")`)).toMatch(
      /^(Could not open file|Unable to write file) : (DISK_ERR|NOT_READY)$/
    );
    b.insertCard(img);
    js(`E.unmountSD(); E.connectSDCard(SPI1, B6)`);
    expect(js(`fs.readdirSync()`)).toEqual(["A.TXT"]);
  });
});

describe('require("fs")', () => {
  let b: Board, js: (c: string) => unknown;
  beforeEach(async () => ({ b, js } = await sd()));

  it("readFileSync: missing throws, empty gives undefined", () => {
    expect(thrown(b, `fs.readFileSync("NONE.TXT")`)).toBe("Could not open file : NO_FILE");
    js(`var f = E.openFile("EMPTY.TXT", "w"); f.close()`);
    expect(js(`fs.readFileSync("EMPTY.TXT")`)).toBeUndefined();
  });

  it('writeFileSync / appendFileSync return true when bytes were written; writing "" truncates and returns false', () => {
    expect(
      js(
        `[fs.writeFileSync("A.TXT", "abc"), fs.appendFileSync("A.TXT", "def"), fs.appendFileSync("NEW.TXT", "n"), fs.writeFileSync("U.TXT")]`
      )
    ).toEqual([true, true, true, false]);
    expect(js(`fs.readFileSync("A.TXT")`)).toBe("abcdef");
    expect(js(`fs.writeFileSync("A.TXT", "")`)).toBe(false);
    expect(js(`fs.statSync("A.TXT").size`)).toBe(0);
    expect(js(`fs.readdirSync().sort()`)).toEqual(["A.TXT", "NEW.TXT"]); // U.TXT: no data, no file
  });

  it("unlinkSync and mkdirSync throw on failure; statSync gives {size, dir, mtime} or undefined", () => {
    expect(thrown(b, `fs.unlinkSync("NONE.TXT")`)).toBe("Unable to delete file : NO_FILE");
    expect(js(`fs.mkdirSync("LOGS")`)).toBe(true);
    expect(thrown(b, `fs.mkdirSync("LOGS")`)).toBe("Unable to create the directory : EXIST");
    expect(thrown(b, `fs.mkdirSync("NONE/SUB")`)).toBe("Unable to create the directory : NO_PATH");
    js(`fs.writeFileSync("LOGS/A.TXT", "12345")`);
    expect(
      js(
        `var s = fs.statSync("LOGS/A.TXT"); [s.size, s.dir, s.mtime instanceof Date, s.mtime.getTime()]`
      )
    ).toEqual([5, false, true, 1764000000000]);
    expect(js(`var s = fs.statSync("LOGS"); [s.size, s.dir]`)).toEqual([0, true]);
    expect(js(`typeof fs.statSync("NONE.TXT")`)).toBe("undefined");
    expect(thrown(b, `fs.unlinkSync("LOGS")`)).toBe("Unable to delete file : DENIED"); // not empty
    expect(js(`[fs.unlinkSync("LOGS/A.TXT"), fs.unlinkSync("LOGS"), fs.readdirSync()]`)).toEqual([
      true,
      true,
      [],
    ]);
    expect(thrown(b, `fs.readdirSync("NONE")`)).toBe("Unable to list files : NO_PATH");
  });

  it("file times come from the board's clock (setTime); statSync decodes them as jswrap_fs_stat does, seconds oddly", () => {
    js(`setTime(Date.UTC(2030, 5, 15, 12, 30, 10) / 1000); fs.writeFileSync("T.TXT", "x")`);
    // FAT keeps seconds / 2 (5); Espruino reads the seconds field as ftime & 63 and never doubles it
    expect(js(`fs.statSync("T.TXT").mtime.toISOString()`)).toBe("2030-06-15T12:30:05.000Z");
    js(`setTime(Date.UTC(2030, 5, 15, 12, 31, 10) / 1000); fs.writeFileSync("T.TXT", "x")`);
    expect(js(`fs.statSync("T.TXT").mtime.toISOString()`)).toBe("2030-06-15T12:31:37.000Z"); // + 32: the minute's low bit
  });

  it("there is no rename, rmdir or exists; the old non-Sync names are there", () => {
    expect(
      js(
        `[typeof fs.renameSync, typeof fs.rename, typeof fs.rmdirSync, typeof fs.existsSync, typeof fs.exists]`
      )
    ).toEqual(Array(5).fill("undefined"));
    expect(
      js(
        `[typeof fs.readdir, typeof fs.readFile, typeof fs.writeFile, typeof fs.appendFile, typeof fs.unlink, typeof fs.mkdir]`
      )
    ).toEqual(Array(6).fill("function"));
  });
});

describe('require("Storage")', () => {
  const storage = (profile: ProfileName = "pico", file?: string) => {
    const b = new Board({ profile, storageFile: file });
    return { b, js: (c: string) => b.load(`var S = require("Storage"); ${c}`) };
  };

  it("write and read strings, arrays and typed arrays as bytes; missing files read undefined", () => {
    const { js } = storage();
    expect(
      js(`[S.write("a", "hello"), S.read("a"), S.read("a", 1, 3), typeof S.read("none")]`)
    ).toEqual([true, "hello", "ell", "undefined"]);
    expect(
      js(
        `S.write("b", [1, 2, 300]); S.write("c", new Uint16Array([0x0102])); [S.read("b"), S.read("c")]`
      )
    ).toEqual(["\x01\x02\x2c", "\x02\x01"]);
    expect(
      js(`var ab = S.readArrayBuffer("a"); [ab instanceof ArrayBuffer, new Uint8Array(ab)[0]]`)
    ).toEqual([true, 104]);
    expect(js(`S.write("j", { x: [1, 2] }); [S.read("j"), S.readJSON("j").x[1]]`)).toEqual([
      '{"x":[1,2]}',
      2,
    ]);
  });

  it("offset 0 creates; size reserves 0xFF; later writes may only fill 0xFF bytes", () => {
    const { b, js } = storage();
    expect(js(`S.write("f", "Hello", 0, 14); S.read("f")`)).toBe("Hello" + "\xff".repeat(9));
    expect(js(`S.write("f", " ", 5); S.write("f", "World!!!", 6); S.read("f")`)).toBe(
      "Hello World!!!"
    );
    expect(thrown(b, `S.write("f", "X", 1)`)).toBe("File already written with different data");
    expect(thrown(b, `S.write("f", "e", 1)`)).toBe("File already written with different data"); // even the same byte
    expect(thrown(b, `S.write("g", "X", 3)`)).toBe("Unable to find or create file");
    expect(thrown(b, `S.write("h", "123", 0, 2)`)).toBe("Too much data for file size");
    expect(js(`S.write("f", " ", 0); S.read("f")`)).toBe(" "); // offset 0 again: a new file
    expect(thrown(b, `S.write("e", "")`)).toBe("Can't create zero length file");
    expect(thrown(b, `S.write("e")`)).toBe("Can't create zero length file");
  });

  it("names over 28 characters are silently truncated; names are case sensitive", () => {
    const { js } = storage();
    const long = "abcdefghijklmnopqrstuvwxyz0123456789";
    expect(
      js(
        `S.write(${JSON.stringify(long)}, "v"); [S.read(${JSON.stringify(long.slice(0, 28))}), S.read(${JSON.stringify(long.slice(0, 28) + "XYZ")}), S.list()]`
      )
    ).toEqual(["v", "v", [long.slice(0, 28)]]);
    expect(
      js(`S.write("Case", "1"); S.write("case", "2"); [S.read("Case"), S.read("case")]`)
    ).toEqual(["1", "2"]);
  });

  it("erase, list with a regex, getFree; rewriting leaves trash until compaction", () => {
    const { js } = storage();
    const free0 = js(`S.getFree()`) as number;
    expect(free0).toBe(PROFILES.pico.storageBytes);
    js(`S.write("log1.json", "[1]"); S.write("log2.json", "[2]"); S.write("other", "x")`);
    expect(js(`S.list(/\\.json$/)`)).toEqual(["log1.json", "log2.json"]);
    expect(js(`S.getFree()`)).toBe(free0 - 3 * 36);
    js(`S.erase("log1.json"); S.write("other", "y")`);
    expect(
      js(`[S.list(), typeof S.read("log1.json"), S.getStats().trashCount, S.getFree()]`)
    ).toEqual([["log2.json", "other"], "undefined", 2, free0 - 4 * 36]);
    js(`S.compact()`);
    expect(js(`[S.list(), S.getStats().trashCount, S.getFree()]`)).toEqual([
      ["log2.json", "other"],
      0,
      free0 - 2 * 36,
    ]);
  });

  it("a full Storage compacts by itself, then refuses", () => {
    const { b, js } = storage();
    const size = PROFILES.pico.storageBytes;
    js(`S.write("big", "x", 0, ${size / 2}); S.erase("big"); S.write("big2", "y", 0, ${size / 2})`); // needs the trash back
    expect(js(`[S.list(), S.getStats().trashCount]`)).toEqual([["big2"], 0]);
    expect(thrown(b, `S.write("big3", "z", 0, ${size / 2})`)).toBe("Unable to find or create file");
  });

  it("Storage lives in its own file per board: saved, reloaded, kept over reboots", () => {
    const file = join(tmp, "pico-storage.bin");
    const a = storage("pico", file);
    a.js(`S.write("seed", "0123456789abcdef")`);
    a.b.reboot();
    expect(a.js(`S.read("seed")`)).toBe("0123456789abcdef");
    a.b.save();
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file).length).toBe(PROFILES.pico.storageBytes);
    const c = storage("pico", file);
    expect(c.js(`S.read("seed")`)).toBe("0123456789abcdef");
    // the layout is Espruino's: a 32-byte header (size, 28-byte name), then the data
    const raw = readFileSync(file);
    expect(raw.readUInt32LE(0)).toBe(16);
    expect(raw.subarray(4, 8).toString()).toBe("seed");
    expect(raw.subarray(32, 48).toString()).toBe("0123456789abcdef");
    expect(() => new Flash(1024, file)).toThrow(/Storage is 1024/);
  });

  it(".bootcde from Storage runs at every boot, then onInit and E.on('init')", () => {
    const b = new Board({ profile: "pico" });
    b.setBootCode(
      `var booted = (typeof booted == "number" ? booted : 0) + 1; function onInit() { print("onInit " + booted); } E.on("init", function () { print("init event"); });`
    );
    expect(b.global.booted).toBeUndefined();
    b.reboot();
    expect(b.global.booted).toBe(1);
    expect(b.output).toEqual(["onInit 1", "init event"]);
    b.load(`var ram = 1`);
    b.reboot();
    expect(b.global.ram).toBeUndefined(); // RAM is lost
    expect(b.boots).toBe(3);
  });
});

describe("crypto, E.convolve and bytes per profile", () => {
  const profiles: ProfileName[] = ["pico", "wifi", "esp32", "bare"];
  const sha = (alg: string, s: string) =>
    createHash(alg).update(Buffer.from(s, "latin1")).digest("hex");
  const hexOf = `function hex(ab) { var u = new Uint8Array(ab), s = "", i; for (i = 0; i < u.length; i++) s += (u[i] < 16 ? "0" : "") + u[i].toString(16); return s; }`;

  it("SHA256 everywhere but bare, SHA512 only on WiFi and ESP32; hashes are ArrayBuffers of the bytes", () => {
    const want = {
      pico: ["function", "undefined"],
      wifi: ["function", "function"],
      esp32: ["function", "function"],
    };
    for (const p of profiles) {
      const b = new Board({ profile: p });
      if (p === "bare") {
        expect(thrown(b, `require("crypto")`)).toBe('Module "crypto" not found');
        continue;
      }
      expect(b.load(`var c = require("crypto"); [typeof c.SHA256, typeof c.SHA512]`), p).toEqual(
        want[p]
      );
      expect(
        b.load(
          `${hexOf} var h = c.SHA256("abc\\u00e9"); [h instanceof ArrayBuffer, h.byteLength, hex(h)]`
        )
      ).toEqual([true, 32, sha("sha256", "abc\xe9")]);
      expect(b.load(`hex(c.SHA256(new Uint8Array([97, 98, 99])))`)).toBe(sha("sha256", "abc"));
      expect(b.load(`hex(c.SHA1("abc"))`)).toBe(sha("sha1", "abc"));
      if (p !== "pico") expect(b.load(`hex(c.SHA512("abc"))`)).toBe(sha("sha512", "abc"));
    }
  });

  it("E.convolve(a, b, offset) sums a[i] * b[(i + offset) mod b.length]; absent on bare", () => {
    for (const p of profiles) {
      const b = new Board({ profile: p });
      if (p === "bare") {
        expect(b.load(`typeof E.convolve`)).toBe("undefined");
        continue;
      }
      expect(b.load(`E.convolve([1, 2, 3], [10, 20, 30, 40], 0)`)).toBe(1 * 10 + 2 * 20 + 3 * 30);
      expect(b.load(`E.convolve([1, 2, 3], [10, 20, 30, 40], 3)`)).toBe(1 * 40 + 2 * 10 + 3 * 20); // b wraps
      expect(b.load(`E.convolve([1, 1, 1, 1, 1], [1, 2], 1)`)).toBe(2 + 1 + 2 + 1 + 2); // a's length drives the loop
      expect(
        b.load(`E.convolve(new Float64Array([0.5, 65536]), new Int32Array([4, 65535]), 0)`)
      ).toBe(2 + 65536 * 65535);
      expect(b.load(`E.convolve("ab", [1, 2], 0)`)).toBe(97 + 98 * 2); // strings as char codes
      expect(thrown(b, `E.convolve(1, [1], 0)`)).toMatch(
        /^Expecting first 2 arguments to be iterable/
      );
    }
  });

  it("E.mapInPlace cuts a typed array's bits into groups and maps them (the examples of Espruino's reference); absent on bare", () => {
    for (const p of profiles) {
      const b = new Board({ profile: p });
      if (p === "bare") {
        expect(b.load(`typeof E.mapInPlace`)).toBe("undefined");
        continue;
      }
      const run = (code: string) =>
        b.load(
          `var a = new Uint8Array([0x12,0x34,0x56,0x78]), b = new Uint8Array(8); ${code}; [].slice.call(b)`
        );
      expect(
        b.load(
          `var a = new Uint8Array([1,2,3,1,2,3]); E.mapInPlace(a, a, new Uint8Array([128,129,130,131])); [].slice.call(a)`
        )
      ).toEqual([129, 130, 131, 129, 130, 131]);
      expect(run(`E.mapInPlace(a, b, undefined)`)).toEqual([0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0]);
      expect(run(`E.mapInPlace(a, b, function (v, i) { return i; })`)).toEqual([
        0, 1, 2, 3, 0, 0, 0, 0,
      ]);
      expect(run(`E.mapInPlace(a, b, undefined, 4)`)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(run(`E.mapInPlace(a, b, undefined, -4)`)).toEqual([2, 1, 4, 3, 6, 5, 8, 7]);
      expect(run(`E.mapInPlace(a, b, function (v) { return v + 2; }, 4)`)).toEqual([
        3, 4, 5, 6, 7, 8, 9, 10,
      ]);
      expect(
        b.load(`var c = new Uint16Array(4); E.mapInPlace(a, c, undefined, 12); [].slice.call(c)`)
      ).toEqual([0x123, 0x456, 0x780, 0]);
      expect(b.load(`E.mapInPlace(a, c, undefined, -12); [].slice.call(c)`)).toEqual([
        0x412, 0x563, 0x078, 0,
      ]);
      expect(thrown(b, `E.mapInPlace([1], b)`)).toBe("First 2 arguments should be array buffers");
    }
  });

  it("E.toUint8Array and E.toString work on bytes; strings are cropped to 8 bits", () => {
    const b = new Board({ profile: "pico" });
    expect(
      b.load(
        `var u = E.toUint8Array("a\\u20ac", [1, 258], 7, { data: [5], count: 2 }); [u instanceof Uint8Array, Array.prototype.slice.call(u)]`
      )
    ).toEqual([true, [97, 0xac, 1, 2, 7, 5, 5]]);
    expect(b.load(`E.toString(new Uint8Array([104, 105]))`)).toBe("hi");
    expect(b.load(`E.toString([0xe2, 0x82, 0xac]).length`)).toBe(3);
    expect(b.load(`[btoa("\\u00ff\\u00fe"), atob("//4=").charCodeAt(1)]`)).toEqual(["//4=", 254]);
  });
});

describe("the language and the globals per profile", () => {
  it("what ESPRUINO.md lists as missing is absent; typed arrays and the Espruino extras are there", () => {
    const b = new Board({ profile: "pico" });
    for (const p of REMOVED) {
      const expr = p.includes("(") || p.includes(".") ? p : `globalThis[${JSON.stringify(p)}]`;
      expect(b.load(`typeof ${expr}`), p).toBe("undefined");
    }
    expect(
      b.load(
        `[typeof "a".codePointAt, typeof [].lastIndexOf, typeof Uint8Array.from, typeof Object.freeze, typeof TextEncoder, typeof escape]`
      )
    ).toEqual(Array(6).fill("undefined"));
    expect(
      b.load(
        `[typeof Float64Array, typeof Int32Array, typeof DataView, typeof new Uint8Array(2).fill, typeof Object.assign, typeof btoa, typeof global, typeof globalThis]`
      )
    ).toEqual([
      "function",
      "function",
      "function",
      "function",
      "function",
      "function",
      "object",
      "object",
    ]);
  });

  it("an API a profile lacks is absent, not stubbed", () => {
    const probe = `[typeof setDeepSleep, typeof E.convolve, typeof LED1, typeof LED2, typeof E.hwRand, typeof E.getTemperature, typeof E.enableWatchdog, typeof E.openFile, typeof require("fs").readdirSync]`;
    const got = Object.fromEntries(
      (["pico", "wifi", "esp32", "bare"] as const).map((p) => [
        p,
        new Board({ profile: p }).load(probe),
      ])
    );
    const f = "function",
      u = "undefined",
      o = "object";
    expect(got).toEqual({
      pico: [f, f, o, o, f, f, f, f, f],
      wifi: [f, f, o, o, f, f, f, f, f],
      esp32: [u, f, o, u, f, f, f, f, f],
      bare: [u, u, o, o, f, f, f, f, f],
    });
  });

  it("print and console.log are captured; process.memory() gives rough figures", () => {
    const lines: string[] = [];
    const b = new Board({ profile: "pico", console: (l) => lines.push(l) });
    b.load(`print("a", 1); console.log({ x: 1 }, [2])`);
    expect(b.output).toEqual(["a 1", '{"x":1} [2]']);
    expect(lines).toEqual(b.output);
    const m = b.load(`process.memory()`) as Record<string, number>;
    expect(m.total).toBe(5100);
    expect(m.free + m.usage).toBe(5100);
  });
});

describe("timers on the virtual clock", () => {
  it("timeouts and intervals fire in time order (ties in creation order), nothing waits in real time", () => {
    const b = new Board({ profile: "pico", clock: 1000 });
    b.load(`var log = [];
      setTimeout(function () { log.push("t3:" + getTime()); }, 3000);
      var iv = setInterval(function (x) { log.push(x + ":" + getTime()); if (getTime() >= 1004) clearInterval(iv); }, 1000, "i");
      setTimeout(function () { log.push("t1:" + getTime()); }, 1000);
      setTimeout("log.push('str:' + getTime())", 2500);`);
    const t0 = performance.now();
    b.run(1010);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect([...b.global.log]).toEqual([
      "i:1001",
      "t1:1001",
      "i:1002",
      "str:1002.5",
      "t3:1003",
      "i:1003",
      "i:1004",
    ]);
    expect(b.time).toBe(1010);
    expect(b.pendingTimers()).toEqual([]);
  });

  it("ids count up from 1; clearTimeout() clears all, clearTimeout(undefined) throws; Date.now follows getTime", () => {
    const b = new Board({ profile: "wifi", clock: 50 });
    expect(
      b.load(
        `[setTimeout(function(){}, 10), setInterval(function(){}, 10), setTimeout(function(){}, 10)]`
      )
    ).toEqual([1, 2, 3]);
    expect(thrown(b, `clearTimeout(undefined)`)).toBe(
      "clearTimeout(undefined) not allowed. Use clearTimeout() instead"
    );
    expect(thrown(b, `setTimeout(5, 10)`)).toBe("Function or String not supplied!");
    b.load(`clearTimeout(2)`);
    expect(b.pendingTimers().map((t) => t[0])).toEqual([1, 3]);
    b.load(`clearTimeout()`);
    expect(b.pendingTimers()).toEqual([]);
    expect(b.load(`setTimeout(function(){}, 10)`)).toBe(1); // the list was empty: ids restart
    expect(b.load(`[Date.now(), new Date().getTime(), getTime()]`)).toEqual([50000, 50000, 50]);
  });

  it("setTime moves the clock, not the timers", () => {
    const b = new Board({ profile: "pico" });
    b.load(`var at; setTimeout(function () { at = getTime(); }, 5000); setTime(1764000000);`);
    b.runFor(10);
    expect(b.global.at).toBe(1764000005);
    expect(b.time).toBe(1764000010);
  });

  it("setDeepSleep exists only on the STM32 profiles", () => {
    const got = (["pico", "wifi", "esp32", "bare"] as const).map((p) =>
      new Board({ profile: p }).load(`typeof setDeepSleep`)
    );
    expect(got).toEqual(["function", "function", "undefined", "undefined"]);
    const b = new Board({ profile: "pico" });
    expect(b.load(`setDeepSleep(1); E.getFlags().deepSleep`)).toBe(1);
  });
});

describe("watchdog, reboots and power", () => {
  it("a manual watchdog not kicked in time reboots the board; kicked, it does not", () => {
    const b = new Board({ profile: "pico" });
    b.setBootCode(
      `var ok = true; E.enableWatchdog(2, false); setInterval(function () { if (ok) E.kickWatchdog(); }, 1000);`
    );
    b.reboot();
    b.runFor(60);
    expect(b.resets.map((r) => r.reason)).toEqual(["power-on", "reset"]);
    b.load(`ok = false`);
    b.runFor(2.5);
    expect(b.resets.at(-1)).toMatchObject({ reason: "watchdog" });
    expect(b.global.ok).toBe(true); // a fresh boot
  });

  it("an automatic watchdog fires on STM32 only when deep sleep outlasts it", () => {
    const sleepy = (profile: ProfileName, deep: boolean) => {
      const b = new Board({ profile });
      b.setBootCode(
        `E.enableWatchdog(5); ${deep && profile !== "esp32" ? "setDeepSleep(1);" : ""} setInterval(function () {}, 10000);`
      );
      b.reboot();
      b.runFor(30);
      return b.resets.filter((r) => r.reason === "watchdog").length;
    };
    expect(sleepy("pico", true)).toBeGreaterThan(0);
    expect(sleepy("pico", false)).toBe(0);
    expect(sleepy("esp32", false)).toBe(0);
  });

  it("with cpuLimitMs, an endless loop is a hang: the watchdog reboots the board, or run() throws", () => {
    const b = new Board({ profile: "pico", cpuLimitMs: 50 });
    b.load(`E.enableWatchdog(1); setTimeout(function () { for (;;) {} }, 100)`);
    b.runFor(1);
    expect(b.resets.at(-1)!.reason).toBe("watchdog");
    b.load(`setTimeout(function () { while (true) {} }, 100)`);
    expect(() => b.runFor(1)).toThrow(/the board hung/);
  });

  it("E.reboot() reboots; a power cut stops everything until powerOn, and the clock restarts at 0", () => {
    const b = new Board({ profile: "pico", clock: 5000 });
    b.load(`setTimeout(function () { E.reboot(); }, 1000)`);
    b.runFor(2);
    expect(b.resets.at(-1)!.reason).toBe("E.reboot");
    expect(b.time).toBe(5002); // the RTC keeps running through a reset
    b.load(`setTimeout(function () { print("never"); }, 1000)`);
    b.powerCut();
    expect(b.off).toBe(true);
    expect(() => b.load(`1`)).toThrow(PowerCut);
    b.runFor(5);
    expect(b.output).toEqual([]);
    b.powerOn(60);
    expect(b.off).toBe(false);
    expect(b.time).toBe(0);
    expect(b.elapsed).toBe(67);
  });
});

describe("hardware: noise, sensors, LEDs", () => {
  it("E.hwRand gives int32 noise from the seed on STM32; ESP32's rand() repeats its sequence every boot", () => {
    const seq = (profile: ProfileName, seed: number, reboot = false) => {
      const b = new Board({ profile, seed });
      if (reboot) b.reboot();
      return b.load(`var r = []; for (var i = 0; i < 20; i++) r.push(E.hwRand()); r`) as number[];
    };
    const a = seq("pico", 1);
    expect(a.every((x) => x === (x | 0))).toBe(true);
    expect(a.some((x) => x < 0)).toBe(true);
    expect(new Set(a).size).toBe(20);
    expect(seq("pico", 1)).toEqual(a);
    expect(seq("pico", 2)).not.toEqual(a);
    expect(seq("pico", 1, true)).not.toEqual(a); // new noise each boot
    const e = seq("esp32", 1);
    expect(e.every((x) => x >= 0 && x <= 0x7fffffff)).toBe(true);
    expect(seq("esp32", 2, true)).toEqual(e); // whatever the board, whatever the boot
  });

  it("analogRead is 0 <= v < 1 from the sensor model; E.getTemperature and E.getAnalogVRef too (NaN on ESP32)", () => {
    const b = new Board({
      profile: "pico",
      sensors: { temperature: (t) => 20 + t / 3600, analog: (pin) => (pin === "A0" ? 2 : 0.25) },
    });
    expect(b.load(`[analogRead(A0), analogRead(A1), E.getTemperature()]`)).toEqual([
      4095 / 4096,
      0.25,
      20,
    ]);
    b.runFor(3600);
    expect(b.load(`E.getTemperature()`)).toBe(21);
    expect(b.load(`E.getAnalogVRef()`)).toBeCloseTo(3.3, 1);
    expect(new Board({ profile: "esp32" }).load(`isNaN(E.getAnalogVRef())`)).toBe(true);
  });

  it("digitalWrite and LED methods are recorded with the board time", () => {
    const b = new Board({ profile: "pico", clock: 100 });
    b.load(
      `LED1.set(); setTimeout(function () { digitalWrite(LED2, 1); LED1.reset(); }, 500); setTimeout(function () { LED2.toggle(); }, 1000)`
    );
    b.runFor(2);
    expect(b.leds).toEqual([
      { t: 100, led: "LED1", value: 1 },
      { t: 100.5, led: "LED2", value: 1 },
      { t: 100.5, led: "LED1", value: 0 },
      { t: 101, led: "LED2", value: 0 },
    ]);
    expect(b.load(`[LED1 === B2, String(LED2), digitalRead(B12)]`)).toEqual([true, "B12", 0]);
  });
});

describe("the device bundle runs on the shim", () => {
  it("dist/pigeon.js on a Pico profile gives Node's identity, signature and verdict", async () => {
    const dist = join(__dirname, "..", "dist", "pigeon.js");
    const Node = (await import(dist)).default ?? (await import(dist));
    const b = new Board({ profile: "pico" });
    b.load(readFileSync(dist, "utf8"), "pigeon.js");
    const seed = Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 255);
    const draft = {
      kind: "reading",
      prev: "NONE",
      depth: 0,
      lipmaa: "NONE",
      body: [["t", '"1764000000"']],
    };
    b.global.seedBytes = seed;
    b.global.draft = b.load(`(${JSON.stringify(draft)})`);
    const got = b.load(
      `var k = new Uint8Array(seedBytes); var s = Pigeon.sign(k, draft); [Pigeon.identity(k), s, Pigeon.verify(s)]`
    ) as unknown[];
    const k = Uint8Array.from(seed);
    expect([...got]).toEqual([Node.identity(k), Node.sign(k, draft), true]);
  });
});
