// The logger firmware with messages of any size, and a power cut at every
// card write of its first boot: on simulated boards writing FAT16 card images.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensure } from "../scripts/debian.mjs";
import { readCard } from "../sim/card/read";
import { createImage, FatImage } from "../sim/card/image";
import { loggerBoard } from "../sim/loggerboard";
import type { Board, ProfileName } from "../sim/espruino";
import { checkFeed } from "./feed";
import { prng } from "../sim/prng";

const tmp = mkdtempSync(join(tmpdir(), "pigeon-records-"));
let blank: Buffer;
beforeAll(async () => {
  expect(ensure(["fsck.fat"])).toEqual([]);
  blank = Buffer.from((await createImage(join(tmp, "blank.img"), 32 << 20)).buffer);
});
const card = (name: string) => FatImage.fromBuffer(join(tmp, name), Buffer.from(blank));
const SEED = Array.from({ length: 32 }, (_, i) => (i * 11 + 5) & 255);
const WAVE =
  "var PIGEON_SENSORS = { wave: function () { return 20 + 5 * Math.sin(getTime() / 7200); } };";
const ACKS = "var PIGEON_ON_APPEND = function (t) { print('ACK ' + t.split('\\n')[3]); };";
const acks = (b: Board) =>
  b.output.filter((l) => l.startsWith("ACK depth ")).map((l) => Number(l.slice(10)));
const statusLines = (b: Board) => b.output.filter((l) => l.startsWith("pigeon: "));
const queueUsed = (b: Board) => b.load(`require("Storage").read("pigeon.q")`) !== undefined;

function fsck(img: FatImage) {
  const file = join(tmp, "fsck.img");
  writeFileSync(file, img.buffer);
  return spawnSync("fsck.fat", ["-n", file], { encoding: "utf8" });
}
/** The card's one feed: its messages, after checking nothing was reported lost and the chain verifies. */
function feedOf(img: FatImage) {
  const feeds = readCard(img);
  expect(feeds.length).toBe(1);
  expect(feeds[0].bad).toEqual([]);
  checkFeed(feeds[0].messages);
  return feeds[0].messages;
}

// 61 entries a message, the most PIGEON.CFG allows: one user sensor with a long name and a long value, 61 readings a
// message; or 61 user sensors with long names, one reading a message
const NAME = "water_temperature_at_the_mooring_chain_bottom_probe";
const LONG_ONE = `var PIGEON_SENSORS = { ${NAME}: function () { return "${"7".repeat(40)}." + Math.floor(getTime()); } };`;
const MANY = Array.from(
  { length: 61 },
  (_, i) => `salinity_conductivity_probe_${String(i).padStart(2, "0")}`
);
const LONG_MANY = `var PIGEON_SENSORS = {${MANY.map((n, i) => `${n}: function () { return ${i} + getTime() / 1e6; }`).join(", ")}};`;

describe("the board at the limit of PIGEON.CFG", () => {
  for (const profile of ["pico", "wifi", "esp32"] as const) {
    it(`${profile}: per_message=61 with a long-named sensor and long values gives one message per 61 readings, one status line, no queue`, async () => {
      const img = await card(`one-${profile}.img`);
      const b = loggerBoard({
        profile,
        image: img,
        clock: 1764000000,
        seedBytes: SEED,
        config: `per_message=61\nsensors=${NAME}\ninterval=10\n`,
        before: LONG_ONE,
      });
      b.runFor(3 * 61 * 10 + 5);
      expect(b.errors).toEqual([]);
      expect(statusLines(b)).toEqual([
        expect.stringMatching(/^pigeon: logging: [0-9A-Z]{8}\.LOG$/),
      ]);
      expect(queueUsed(b)).toBe(false);
      const messages = feedOf(img);
      expect(messages.length).toBe(3);
      for (const t of messages) {
        const body = t.split("\n\n")[1].split("\n");
        expect(body.length).toBe(64);
        expect(body[63]).toMatch(new RegExp(`^${NAME}\\.60:"7{40}\\.\\d+"$`));
        expect(Buffer.byteLength(t)).toBeGreaterThan(6000);
      }
    });
    it(`${profile}: 61 long-named sensors, one reading a message`, async () => {
      const img = await card(`many-${profile}.img`);
      const b = loggerBoard({
        profile,
        image: img,
        clock: 1764000000,
        seedBytes: SEED,
        config: `sensors=${MANY.join(",")}\ninterval=60\n`,
        before: LONG_MANY,
      });
      b.runFor(10 * 60 + 5);
      expect(b.errors).toEqual([]);
      expect(statusLines(b).length).toBe(1);
      expect(queueUsed(b)).toBe(false);
      const messages = feedOf(img);
      expect(messages.length).toBe(10);
      expect(
        messages[9]
          .split("\n\n")[1]
          .split("\n")
          .map((l) => l.slice(0, l.indexOf(":")))
      ).toEqual(["t", "boot", ...MANY]);
    });
  }
});

describe("messages that run on across pages, through power cuts on the board", () => {
  for (const model of ["atomic", "torn"] as const)
    it(`per_message=20 with 3 sensors: every acknowledged reading kept through 60 ${model} cuts at random writes${model === "atomic" ? ", fsck.fat clean" : ""}`, async () => {
      const img = await card(`cuts-${model}.img`);
      const b = loggerBoard({
        profile: "bare",
        image: img,
        clock: 1764000000,
        seedBytes: SEED,
        config: "per_message=20\nsensors=temp,vbat,wave\ninterval=5\n",
        before: WAVE + ACKS,
        seed: 3,
      });
      b.runFor(20 * 5 * 3); // the log exists: cuts land on appends
      const rnd = prng(model === "atomic" ? 21 : 22);
      for (let cut = 0; cut < 60; cut++) {
        img.device.armFault({ model, after: 1 + rnd.int(12), seed: cut });
        for (let guard = 0; !b.off && guard < 100; guard++) b.runFor(100);
        expect(b.off).toBe(true);
        if (model === "atomic" && cut % 20 === 0) {
          const r = fsck(img);
          expect(r.status, r.stdout + r.stderr).toBe(0);
        }
        b.powerOn(30);
      }
      b.runFor(20 * 5 * 3);
      const messages = feedOf(img),
        onCard = messages.map((t) => Number(/\ndepth (\d+)\n/.exec(t)![1]));
      for (const d of new Set(acks(b))) expect(onCard).toContain(d);
      expect(acks(b).length).toBeGreaterThan(20);
      for (const t of messages) expect(t.split("\n\n")[1].split("\n").length).toBe(3 + 60);
    }, 600000);
});

describe("a power cut at every card write of the first boot", () => {
  /** Card writes of a first boot, from power-on to "logging". */
  async function firstBootWrites(
    profile: ProfileName,
    config: string,
    card: (name: string) => Promise<FatImage>
  ) {
    const img = await card("count.img");
    img.device.trace = [];
    const b = loggerBoard({ profile, image: img, clock: 1764000000, seedBytes: SEED, config });
    expect(b.output.join("\n")).toMatch(/pigeon: logging/);
    return img.device.trace;
  }
  /** Cuts at every write of the first boot but the FAT's, and every stride-th of those; after each the board must boot again, make its log and log on. */
  async function cutFirstBoot(
    profile: ProfileName,
    model: "atomic" | "torn",
    config: string,
    card: (name: string) => Promise<FatImage>,
    stride: number
  ) {
    const trace = await firstBootWrites(profile, config, card),
      writes = trace.length;
    const cuts = trace
      .map((_, i) => i + 1)
      .filter((k) => trace[k - 1][1] !== "fat" || k % stride === 1 || stride === 1);
    console.log(
      `${profile}, ${model}, ${config.replace(/\n/g, " ")}: a power cut at ${cuts.length} of the first boot's ${writes} card writes`
    );
    expect(writes).toBeGreaterThan(20);
    const outcomes = new Map<string, number>();
    for (const k of cuts) {
      const img = await card("first.img");
      img.device.armFault({ model, after: k, seed: k });
      const b = loggerBoard({ profile, image: img, clock: 1764000000, seedBytes: SEED, config });
      expect(b.off, `cut at write ${k}`).toBe(true);
      b.powerOn(30);
      b.runFor(3 * 600);
      const status = statusLines(b).pop()!;
      expect(status, `cut at write ${k} of ${writes}`).toMatch(/^pigeon: logging: /);
      expect(feedOf(img).length, `cut at write ${k}`).toBe(3);
      const key = img.device.fault!.region;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    // the cuts fell on every kind of sector the making writes
    expect([...outcomes.keys()].sort()).toEqual(expect.arrayContaining(["data", "fat", "root"]));
  }
  // the Pico's both ways, the bare profile's torn (CI's time: the bare profile atomic adds little the others do not)
  for (const [profile, model] of [
    ["pico", "atomic"],
    ["pico", "torn"],
    ["bare", "torn"],
  ] as const)
    it(`${profile}, ${model}, a 4 MiB log: after each cut the board boots again, makes its log and logs; the host reads the card with nothing lost`, async () => {
      await cutFirstBoot(profile, model, "interval=600\nlog_mb=4\n", card, 1);
    }, 600000);
  // the default 64 MiB log takes about 200 writes to make on this card, the same steps over more FAT sectors: every
  // write here but the FAT's, and every 15th of those
  for (const model of ["atomic", "torn"] as const)
    it(`pico, ${model}, the default 64 MiB log on a 128 MiB card: the same at every write but every 15th of the FAT's`, async () => {
      const big = Buffer.from((await createImage(join(tmp, "big.img"), 128 << 20)).buffer);
      await cutFirstBoot(
        "pico",
        model,
        "interval=600\n",
        (name) => FatImage.fromBuffer(join(tmp, name), Buffer.from(big)),
        15
      );
    }, 600000);
});
