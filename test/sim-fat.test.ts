// The simulator's SD card: FAT16 images made and driven by real FatFs
// (targets/node/fat.ts), sector counters by region, power faults, and the
// images checked by Debian's own FAT tools (dosfstools, mtools, file).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensure, TOOLS } from "../scripts/debian.mjs";
import { readGeometry } from "../sim/card/device";
import { PowerCut } from "../sim/card/fault";
import { FatImage, createImage, openImage } from "../sim/card/image";
import { prng } from "../sim/prng";
import { Board } from "../sim/espruino";

const tmp = mkdtempSync(join(tmpdir(), "pigeon-fat-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TOOLS_USED = ["fsck.fat", "mdir", "mcopy", "file"];
beforeAll(() => {
  const missing = ensure(TOOLS_USED);
  if (missing.length)
    throw new Error(
      `missing ${missing.join(", ")}: apt-get install ${[...new Set(missing.map((c: string) => (TOOLS as Record<string, string>)[c]))].join(" ")}`
    );
});

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error) throw r.error;
  return { status: r.status, out: r.stdout + r.stderr };
}

/**
 * What fsck.fat -n may say about a card whose power failed in the middle of a
 * FatFs update, none of it damage: FatFs writes data, then both FATs, then the
 * directory entry, so a cut leaves at most clusters allocated but not yet used
 * (lost clusters, or a chain longer than the recorded size) or a second FAT one
 * update behind the first. Anything else (cross-links, bad entries, bad chains)
 * would be corruption.
 */
const BENIGN = [
  /^Reclaimed \d+ unused clusters? \(\d+ bytes\)\.$/,
  /^\/[A-Z0-9/~_.-]+$/, // the file the next lines are about
  /^ {2}File size is \d+ bytes, cluster chain length is > \d+ bytes\.$/,
  /^ {2}Truncating file to \d+ bytes\.$/,
  /^FATs differ but appear to be intact\.$/,
  /^ {2}Using first FAT\.$/,
  /^Leaving filesystem unchanged\.$/,
  /^fsck\.fat /,
  /: \d+ files, \d+\/\d+ clusters$/,
];
function fsck(path: string) {
  const r = run("fsck.fat", ["-n", path]);
  const lines = r.out.split("\n").filter((l) => l.trim());
  return {
    status: r.status,
    out: r.out,
    damage: lines.filter((l) => !BENIGN.some((re) => re.test(l))),
  };
}

/** A board with the card connected, its ids of the SPI setup done. */
function board(img: FatImage, profile: "pico" | "wifi" | "esp32" | "bare" = "pico") {
  const b = new Board({ profile, image: img, clock: 1764000000 });
  b.load(`E.connectSDCard(SPI1, ${profile === "esp32" ? "D5" : "B6"});`);
  return b;
}

describe("FAT16 images (f_mkfs through js-fatfs)", () => {
  it("a 64 MiB image: FAT16, 512-byte sectors, 512 root entries, no partition table; fsck.fat and file agree", async () => {
    const path = join(tmp, "fresh.img");
    const img = await createImage(path, 64 << 20);
    const g = img.geometry!;
    expect(g).toMatchObject({
      bytesPerSector: 512,
      rootEntries: 512,
      fats: 2,
      fatType: 16,
      totalSectors: 131072,
      reservedSectors: 1,
    });
    expect(g.clusters).toBeGreaterThanOrEqual(4085);
    expect(g.clusters).toBeLessThan(65525);
    const disk = readFileSync(path);
    expect(disk.length).toBe(64 << 20);
    expect(readGeometry(disk)).toEqual(g);
    expect(disk.readUInt32LE(28)).toBe(0); // no hidden sectors: the volume starts at sector 0
    const f = fsck(path);
    expect(f.status, f.out).toBe(0);
    expect(f.out).toMatch(/0 files, 0\/\d+ clusters/);
    expect(run("file", [path]).out).toMatch(/FAT \(16 bit\)/);
    expect(run("file", [path]).out).toMatch(/root entries 512/);
  });

  it("32, 128 and 256 MiB also format as FAT16", async () => {
    for (const mib of [32, 128, 256]) {
      const path = join(tmp, `size${mib}.img`);
      const img = await createImage(path, mib << 20);
      expect(img.geometry!.fatType, `${mib} MiB`).toBe(16);
      expect(img.geometry!.rootEntries).toBe(512);
      const f = fsck(path);
      expect(f.status, f.out).toBe(0);
      rmSync(path);
    }
  });

  it("openImage loads a saved image; the host helpers read what a board wrote", async () => {
    const path = join(tmp, "reopen.img");
    const img = await createImage(path, 32 << 20);
    const b = board(img);
    b.load(
      `require("fs").mkdirSync("LOGS"); require("fs").writeFileSync("LOGS/DAY1.TXT", "t=1\\nt=2\\n");`
    );
    // nothing reached the file yet: the image lives in memory until save()
    expect(readFileSync(path).equals(img.buffer)).toBe(false);
    img.save();
    const again = await openImage(path);
    expect(again.readFile("LOGS/DAY1.TXT")!.toString()).toBe("t=1\nt=2\n");
    expect(again.readFile("LOGS/NONE.TXT")).toBeUndefined();
    expect(again.readdir("")).toEqual([{ name: "LOGS", size: 0, dir: true }]);
    expect(again.readdir("LOGS")).toEqual([{ name: "DAY1.TXT", size: 8, dir: false }]);
  });
});

describe("sector counters", () => {
  it("a plain append within a cluster writes one data sector and one directory sector; reads are counted too", async () => {
    const img = await createImage(join(tmp, "count.img"), 32 << 20);
    const b = board(img);
    b.load(`var f = E.openFile("LOG.TXT", "w"); f.write("first line\\n"); f.close();`);
    img.device.resetCounters();
    expect(img.device.totals()).toEqual({ reads: 0, writes: 0 });
    b.load(`var f = E.openFile("LOG.TXT", "a"); var n = f.write("a reading\\n"); f.close(); n`);
    expect(img.device.writes).toEqual({ boot: 0, fat: 0, root: 1, dir: 0, data: 1 });
    expect(img.device.totals().reads).toBeGreaterThan(0);
    expect(img.device.reads.fat + img.device.reads.root + img.device.reads.data).toBe(
      img.device.totals().reads
    );
  });

  it("appends in a sub-directory count as data + dir (its cluster), and crossing into a new cluster writes both FATs", async () => {
    const img = await createImage(join(tmp, "count2.img"), 32 << 20);
    const b = board(img);
    const cluster = img.geometry!.sectorsPerCluster * 512;
    b.load(
      `require("fs").mkdirSync("LOGS"); var f = E.openFile("LOGS/A.TXT", "w"); f.write(E.toString({ data: "x", count: ${cluster - 4} })); f.close();`
    );
    img.device.resetCounters();
    b.load(`var f = E.openFile("LOGS/A.TXT", "a"); f.write("ab"); f.close();`);
    expect(img.device.writes).toEqual({ boot: 0, fat: 0, root: 0, dir: 1, data: 1 });
    img.device.resetCounters();
    img.device.trace = [];
    b.load(`var f = E.openFile("LOGS/A.TXT", "a"); f.write("cdefgh"); f.close();`); // 2 bytes end the cluster, 4 start the next
    expect(img.device.writes).toEqual({ boot: 0, fat: 2, root: 0, dir: 1, data: 2 });
    // FatFs' order: data, FAT, FAT copy, then the directory entry
    expect(img.device.trace.map((t) => t[1])).toEqual(["data", "data", "fat", "fat", "dir"]);
    expect(img.readFile("LOGS/A.TXT")!.length).toBe(cluster + 4);
  });
});

describe("power faults", () => {
  /** Files, each closed before the next; the device records the ones finished. */
  const WORKLOAD = `
    var fs = require("fs"), done = [], appended = 0, body = "";
    for (var k = 0; k < 300; k++) body += String.fromCharCode(97 + k % 26);
    fs.mkdirSync("LOGS");
    for (var i = 0; i < 30; i++) {
      var name = (i % 3 ? "LOGS/F" : "G") + i + ".TXT", f = E.openFile(name, "w");
      for (var j = 0; j < 6; j++) f.write(i + ":" + j + ":" + body + "\\n");
      f.close();
      done.push(name);
      var a = E.openFile("ALL.TXT", "a"); a.write("entry " + i + " " + body.slice(0, 200) + "\\n"); a.close();
      appended++;
    }`;
  const content = (name: string) => {
    const i = Number(/(\d+)\.TXT$/.exec(name)![1]);
    let body = "";
    for (let k = 0; k < 300; k++) body += String.fromCharCode(97 + (k % 26));
    return Array.from({ length: 6 }, (_, j) => `${i}:${j}:${body}\n`).join("");
  };
  /** ALL.TXT after n appends. */
  const appendedText = (n: number) => {
    let body = "";
    for (let k = 0; k < 200; k++) body += String.fromCharCode(97 + (k % 26));
    return Array.from({ length: n }, (_, i) => `entry ${i} ${body}\n`).join("");
  };

  it("atomic cuts at random writes: fsck.fat finds no damage and every file closed before the cut reads back", async () => {
    const base = await createImage(join(tmp, "fault-base.img"), 32 << 20);
    const clean = Buffer.from(base.buffer);
    // how many sector writes the whole workload makes
    board(base).load(WORKLOAD);
    const total = base.device.totals().writes;
    expect(total).toBeGreaterThan(100);
    const rnd = prng(2024);
    for (let trial = 0; trial < 12; trial++) {
      const path = join(tmp, `atomic${trial}.img`);
      const img = await FatImage.fromBuffer(path, Buffer.from(clean));
      const b = board(img);
      const k = 1 + rnd.int(total);
      img.device.armFault({ model: "atomic", after: k });
      b.load(WORKLOAD);
      expect(b.off, `trial ${trial}: cut at write ${k} of ${total}`).toBe(true);
      expect(b.cut).toBeInstanceOf(PowerCut);
      expect(img.device.fault).toMatchObject({ model: "atomic", outcome: "lost" });
      const done: string[] = [...b.global.done],
        appended: number = b.global.appended;
      img.save();
      const f = fsck(path);
      expect(f.damage, `trial ${trial}, cut at write ${k}:\n${f.out}`).toEqual([]);
      // a new board boots on the card and reads back every finished file
      b.powerOn();
      b.load(`E.connectSDCard(SPI1, B6);`);
      for (const name of done)
        expect(b.load(`require("fs").readFileSync(${JSON.stringify(name)})`), name).toBe(
          content(name)
        );
      // the appended file holds every append that returned, and at most the one in flight
      const all = (b.load(`require("fs").readFileSync("ALL.TXT")`) as string | undefined) ?? "";
      expect([appendedText(appended), appendedText(appended + 1)], `trial ${trial}`).toContain(all);
      rmSync(path);
    }
  });

  it("a torn cut garbles at most the one data sector in flight; on FAT or directory sectors it acts as atomic", async () => {
    const base = await createImage(join(tmp, "torn-base.img"), 32 << 20);
    const clean = Buffer.from(base.buffer);
    const trace = (base.device.trace = []) as [number, string][];
    board(base).load(WORKLOAD);
    const dataWrites = trace.flatMap(([, r], i) => (r === "data" ? [i + 1] : []));
    const metaWrites = trace.flatMap(([, r], i) => (r !== "data" ? [i + 1] : []));
    const rnd = prng(77);
    const pick = (a: number[]) => a[rnd.int(a.length)];
    let garbled = 0;
    for (let trial = 0; trial < 10; trial++) {
      const k = trial < 7 ? pick(dataWrites) : pick(metaWrites);
      const images: Record<string, FatImage> = {};
      let done: string[] = [];
      for (const model of ["atomic", "torn"] as const) {
        const img = await FatImage.fromBuffer(join(tmp, `${model}.img`), Buffer.from(clean));
        img.device.armFault({
          model,
          after: k,
          seed: trial,
          tail: trial % 2 ? "garbage" : "either",
        });
        const b = board(img);
        b.load(WORKLOAD);
        expect(b.off).toBe(true);
        done = [...b.global.done];
        images[model] = img;
      }
      const fault = images.torn.device.fault!;
      expect(fault.sector).toBe(images.atomic.device.fault!.sector);
      const differing: number[] = [];
      for (let s = 0; s < images.torn.buffer.length / 512; s++)
        if (
          !images.torn.buffer
            .subarray(s * 512, s * 512 + 512)
            .equals(images.atomic.buffer.subarray(s * 512, s * 512 + 512))
        )
          differing.push(s);
      if (fault.region === "data") {
        expect(fault.outcome).toBe("torn");
        expect(
          differing.every((s) => s === fault.sector),
          `trial ${trial}`
        ).toBe(true);
        garbled += differing.length;
        // what did land is the new bytes' prefix
        expect(fault.prefix).toBeGreaterThanOrEqual(0);
        expect(fault.prefix).toBeLessThan(512);
      } else {
        expect(fault.outcome).toBe("lost");
        expect(differing).toEqual([]);
      }
      images.torn.save();
      expect(fsck(images.torn.path).damage, `trial ${trial}`).toEqual([]);
      // the sector in flight belonged to the file being written: the finished ones are whole
      for (const name of done)
        expect(images.torn.readFile(name)!.toString("latin1"), name).toBe(content(name));
    }
    expect(garbled, "no torn write changed anything: the test tests nothing").toBeGreaterThan(0);
  });

  it("after the cut the card is dead: writes are dropped, reads still work, until power returns", async () => {
    const img = await createImage(join(tmp, "dead.img"), 32 << 20);
    const b = board(img);
    b.load(`require("fs").writeFileSync("KEEP.TXT", "kept");`);
    img.device.armFault({ model: "atomic", after: 1 });
    expect(
      b.load(`require("fs").writeFileSync("LOST.TXT", "lost"); "not reached"`)
    ).toBeUndefined();
    expect(b.off).toBe(true);
    expect(img.device.dead).toBe(true);
    // the device code is stopped: any further call throws PowerCut
    expect(() => b.load("1")).toThrow(PowerCut);
    expect(img.readFile("KEEP.TXT")!.toString()).toBe("kept");
    const before = Buffer.from(img.buffer);
    img.device.powerCut(); // still dead: nothing changes
    expect(img.buffer.equals(before)).toBe(true);
    b.powerOn();
    expect(img.device.dead).toBe(false);
    b.load(`E.connectSDCard(SPI1, B6);`);
    expect(b.load(`require("fs").readdirSync().join()`)).toBe("KEEP.TXT");
  });
});

describe("Debian's mtools read what the shim wrote", () => {
  it("mdir lists the 8.3 names and mcopy copies the bytes back out", async () => {
    const path = join(tmp, "mtools.img");
    const img = await createImage(path, 32 << 20);
    const b = board(img);
    const bin = Array.from({ length: 700 }, (_, i) => (i * 7 + 3) & 255);
    b.load(`var fs = require("fs");
      fs.mkdirSync("logs");
      fs.writeFileSync("logs/day1.txt", "t=1 temp=20.5\\n");
      fs.appendFileSync("logs/day1.txt", "t=2 temp=20.7\\n");
      fs.writeFileSync("BLOB.BIN", ${JSON.stringify(bin)});
      var f = E.openFile("README", "w"); f.write("no extension"); f.close();`);
    img.save();
    const root = run("mdir", ["-i", path, "-b", "::/"]).out.split("\n").filter(Boolean).sort();
    expect(root).toEqual(["::/BLOB.BIN", "::/LOGS/", "::/README"]);
    const logs = run("mdir", ["-i", path, "::/LOGS"]);
    expect(logs.status, logs.out).toBe(0);
    expect(logs.out).toMatch(/^DAY1\s+TXT\s+28 /m);
    const out = join(tmp, "copied");
    expect(run("mcopy", ["-n", "-i", path, "::/LOGS/DAY1.TXT", out + ".txt"]).status).toBe(0);
    expect(readFileSync(out + ".txt", "latin1")).toBe("t=1 temp=20.5\nt=2 temp=20.7\n");
    expect(run("mcopy", ["-n", "-i", path, "::/BLOB.BIN", out + ".bin"]).status).toBe(0);
    expect([...readFileSync(out + ".bin")]).toEqual(bin);
    expect(fsck(path).status).toBe(0);
  });
});
