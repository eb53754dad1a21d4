// The card store under the logger firmware on simulated boards: profiles,
// power cuts in both fault models, a missing, pulled or full card, a bad
// configuration, a garbled byte, and the card read by mtools.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensure } from "../scripts/debian.mjs";
import { readCard } from "../sim/card/read";
import { createImage, FatImage } from "../sim/card/image";
import { loggerBoard } from "../sim/loggerboard";
import type { Board } from "../sim/espruino";
import { checkFeed } from "./feed";
import { Pigeon } from "./pigeon";
import { prng } from "../sim/prng";

const tmp = mkdtempSync(join(tmpdir(), "pigeon-card-"));
let blank: Buffer;
beforeAll(async () => {
  expect(ensure(["fsck.fat", "mdir", "mcopy"])).toEqual([]);
  blank = Buffer.from((await createImage(join(tmp, "blank.img"), 32 << 20)).buffer);
});
const card = (name: string) => FatImage.fromBuffer(join(tmp, name), Buffer.from(blank));
const SEED = Array.from({ length: 32 }, (_, i) => (i * 7 + 3) & 255);
const WAVE =
  "var PIGEON_SENSORS = { wave: function () { return 20 + 5 * Math.sin(getTime() / 7200); } };";
const ACKS = "var PIGEON_ON_APPEND = function (t) { print('ACK ' + t.split('\\n')[3]); };";
const acks = (b: Board) =>
  b.output.filter((l) => l.startsWith("ACK depth ")).map((l) => Number(l.slice(10)));

function fsck(img: FatImage) {
  const file = join(tmp, "fsck.img");
  writeFileSync(file, img.buffer);
  return spawnSync("fsck.fat", ["-n", file], { encoding: "utf8" });
}

describe("card store on simulated boards", () => {
  it("the same week on the pico, wifi, esp32 and bare profiles gives identical messages", async () => {
    const texts: Record<string, string[]> = {};
    for (const profile of ["pico", "wifi", "esp32", "bare"] as const) {
      const img = await card(`${profile}.img`);
      const b = loggerBoard({
        profile,
        image: img,
        clock: 1764000000,
        seedBytes: SEED,
        config: "sensors=wave\ninterval=600\n",
        before: WAVE,
      });
      b.runFor(7 * 86400);
      expect(b.errors).toEqual([]);
      const feeds = readCard(img);
      expect(feeds.length).toBe(1);
      texts[profile] = feeds[0].messages;
    }
    expect(texts.pico.length).toBe(7 * 144);
    checkFeed(texts.pico);
    for (const p of ["wifi", "esp32", "bare"]) expect(texts[p]).toEqual(texts.pico);
  });

  // CUTS=2000 for a longer run; npm test keeps to 200 of each model to stay within CI's time
  const CUTS = Number(process.env.CUTS ?? 200);
  for (const model of ["atomic", "torn"] as const)
    it(`keeps every acknowledged reading through ${CUTS} ${model} power cuts at random sector writes`, async () => {
      const img = await card(`${model}.img`);
      const b = loggerBoard({
        profile: "bare",
        image: img,
        clock: 1764000000,
        seedBytes: SEED,
        config: "sensors=wave\ninterval=60\n",
        before: WAVE + ACKS,
        seed: 9,
      });
      b.runFor(600); // the log exists: cuts land on appends
      const next = prng(model === "atomic" ? 11 : 12).float;
      let fsckRuns = 0;
      for (let cut = 0; cut < CUTS; cut++) {
        img.device.armFault({ model, after: 1 + Math.floor(next() * 40), seed: cut });
        for (let guard = 0; !b.off && guard < 100; guard++) b.runFor(60);
        expect(b.off).toBe(true);
        if (model === "atomic" && cut % 20 === 0) {
          const r = fsck(img);
          expect(r.status, r.stdout + r.stderr).toBe(0);
          fsckRuns++;
        }
        b.powerOn(30);
      }
      b.runFor(3600);
      const acked = new Set(acks(b));
      const [feed] = readCard(img);
      expect(feed.bad).toEqual([]);
      checkFeed(feed.messages);
      const onCard = feed.messages.map((t) => Number(/\ndepth (\d+)\n/.exec(t)![1]));
      for (const d of acked) expect(onCard).toContain(d);
      expect(new Set(onCard).size).toBe(onCard.length);
      expect(acked.size).toBeGreaterThan(CUTS);
      if (model === "atomic") expect(fsckRuns).toBe(Math.ceil(CUTS / 20));
    }, 600000); // 200 cuts: about 25 s on a quiet machine

  it("no card at boot: says so, keeps the readings in flash, and writes them in order when a card is put in", async () => {
    const b = loggerBoard({ profile: "pico", image: null, clock: 1764000000, seedBytes: SEED });
    b.runFor(1800);
    expect(b.output.join("\n")).toMatch(/pigeon: no card: /);
    const img = await card("late.img");
    b.insertCard(img);
    b.runFor(1800);
    expect(b.output.join("\n")).toMatch(/pigeon: logging: [0-9A-Z]{8}\.LOG/);
    const [feed] = readCard(img);
    expect(feed.messages.length).toBe(6);
    checkFeed(feed.messages);
    const times = feed.messages.map((t) => Number(/\nt:"(\d+)"/.exec(t)![1]));
    expect(times).toEqual([600, 1200, 1800, 2400, 3000, 3600].map((d) => 1764000000 + d));
  });

  it("a card pulled mid-run: the readings meanwhile wait in flash, and the feed goes on unbroken and in order", async () => {
    const img = await card("pulled.img");
    const b = loggerBoard({ profile: "pico", image: img, clock: 1764000000, seedBytes: SEED });
    b.runFor(6 * 600);
    b.removeCard();
    b.runFor(3 * 600);
    expect(b.output.join("\n")).toMatch(/pigeon: no card: /);
    b.insertCard(img); // put back: the board mounts it again by itself
    b.runFor(4 * 600);
    const [feed] = readCard(img);
    expect(feed.messages.length).toBe(13);
    checkFeed(feed.messages);
    const times = feed.messages.map((t) => Number(/\nt:"(\d+)"/.exec(t)![1]));
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(new Set(times).size).toBe(13);
  });

  it("a full card is reported and logging stops, keeping what is there", async () => {
    const img = await card("full.img");
    const b = loggerBoard({
      profile: "bare",
      image: img,
      clock: 1764000000,
      seedBytes: SEED,
      config: "log_mb=1\ninterval=1\nsensors=wave\n",
      before: WAVE,
    });
    b.runFor(4000);
    expect(b.output.join("\n")).toMatch(
      /pigeon: card full: [0-9A-Z]{8}\.LOG: log full; logging stopped/
    );
    const [feed] = readCard(img);
    expect(feed.messages.length).toBeGreaterThan(2000);
    checkFeed(feed.messages);
    b.runFor(100);
    expect(readCard(img)[0].messages).toEqual(feed.messages);
  });

  it("a bad PIGEON.CFG on the card is reported with its line and nothing is written", async () => {
    const img = await card("cfg.img");
    const setup = loggerBoard({ profile: "pico", image: img, clock: 1764000000, seedBytes: SEED });
    setup.load(`require("fs").writeFileSync("PIGEON.CFG", "interval=600\\nspeed=3\\n")`);
    const files = () => (img.readdir("") ?? []).map((e) => e.name).sort();
    const before = files();
    setup.reboot();
    setup.runFor(3600);
    expect(setup.output.join("\n")).toMatch(/pigeon: error: PIGEON\.CFG line 2: unknown key speed/);
    expect(files()).toEqual(before);
  });

  it("a byte garbled in the middle of the log is reported; the rest stays readable", async () => {
    const img = await card("garbled.img");
    const b = loggerBoard({
      profile: "bare",
      image: img,
      clock: 1764000000,
      seedBytes: SEED,
      config: "interval=60\nsensors=wave\n",
      before: WAVE,
    });
    b.runFor(300 * 60);
    const [before] = readCard(img);
    // find page 20's two slots in the image by their bytes (the file's clusters need not be in order)
    const name = before.path,
      log = img.readFile(name)!;
    const ix = Math.ceil(Number(/pages (\d+)/.exec(log.toString("latin1", 0, 200))![1]) / 60);
    for (const slot of [0, 1]) {
      const at = (1 + ix + 40 + slot) * 512,
        where = img.buffer.indexOf(log.subarray(at, at + 512));
      expect(where).toBeGreaterThan(0);
      img.buffer[where + 77] ^= 0x40;
    }
    const [after] = readCard(img);
    expect(after.bad).toEqual([20]);
    expect(after.messages.length).toBeGreaterThanOrEqual(before.messages.length - 3);
    for (const t of after.messages) expect(before.messages).toContain(t);
  });

  it("mtools lists and copies the card's files by their 8.3 names; a long name is refused", async () => {
    const img = await card("mtools.img");
    const b = loggerBoard({ profile: "pico", image: img, clock: 1764000000, seedBytes: SEED });
    b.runFor(3600);
    const file = join(tmp, "mtools.img");
    img.save(file);
    const dir = execFileSync("mdir", ["-b", "-i", file, "::"], { encoding: "utf8" });
    const ident = Pigeon.identity(Uint8Array.from(SEED));
    expect(dir).toContain("::/IDENT.TXT");
    expect(dir).toContain(`::/${ident.slice(1, 9)}.LOG`);
    expect(execFileSync("mcopy", ["-i", file, "::IDENT.TXT", "-"], { encoding: "utf8" })).toBe(
      ident + "\n"
    );
    expect(() => b.load(`E.openFile("READINGS2025.LOG", "w")`)).toThrow();
  });
});

describe("blobs on the card", () => {
  it("are stored at B/ + their bundle path in 8.3 names, read back by id, and a torn one is not served", async () => {
    const { putBlob, getBlob, blobPath } = await import("../src/log");
    const { vectors } = await import("./vectors");
    const img = await card("blobs.img");
    const b = loggerBoard({ profile: "pico", image: img, clock: 1764000000, seedBytes: SEED });
    const fs = b.load(`require("fs")`) as any;
    for (const v of vectors.blobs) {
      const bytes = new b.global.Uint8Array(Buffer.from(v.content_hex, "hex"));
      expect(putBlob(fs, bytes)).toBe(v.id);
      expect(blobPath(v.id.slice(1, 53))).toBe("B/" + v.path);
      expect(Buffer.from(getBlob(fs, v.id)!, "latin1").toString("hex")).toBe(v.content_hex);
      expect(img.readFile("B/" + v.path)!.toString("hex")).toBe(v.content_hex);
    }
    // a blob whose bytes no longer match its name
    fs.writeFileSync("B/" + vectors.blobs[0].path, "torn");
    expect(getBlob(fs, vectors.blobs[0].id)).toBeUndefined();
    expect(getBlob(fs, "&" + "0".repeat(52) + ".sha256")).toBeUndefined();
  });
});

describe("several readings per message", () => {
  it("per_message=3 gives one message per three readings, keys name.i and dt", async () => {
    const img = await card("multi.img");
    const b = loggerBoard({
      profile: "pico",
      image: img,
      clock: 1764000000,
      seedBytes: SEED,
      config: "per_message=3\nsensors=wave,temp\ninterval=600\n",
      before: WAVE,
    });
    b.runFor(9 * 600);
    const [feed] = readCard(img);
    expect(feed.messages.length).toBe(3);
    checkFeed(feed.messages);
    const body = feed.messages[1]
      .split("\n\n")[1]
      .split("\n")
      .map((l) => l.slice(0, l.indexOf(":")));
    expect(body).toEqual([
      "t",
      "boot",
      "dt",
      "wave.0",
      "temp.0",
      "wave.1",
      "temp.1",
      "wave.2",
      "temp.2",
    ]);
    expect(feed.messages[1]).toContain('\ndt:"600"\n');
  });
});
