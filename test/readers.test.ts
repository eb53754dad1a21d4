// The host's readers of cards and bundles (issues 15 and 16): blobs wherever a
// bundle lies on a card image, hostile images that must not hang them, and
// each loss a damaged card can cause, named with its file and reason, with
// `pigeon verify` and `import` ending in exit status 1 and everything else
// read. The property test over damaged images is readers-property.test.ts.
import { spawnSync } from "node:child_process";
import {
  closeSync,
  cpSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { appendMessage, createLog, each, openLog, type Log } from "../src/log";
import { enc, encode } from "../src/utf8";
import { readCard } from "../sim/card/read";
import type { Summary } from "../targets/host/chain";
import { type Loss, cardLog, logRecords } from "../targets/host/bundle";
import { memoryBytes } from "../targets/host/bytes";
import { MemDisk } from "../sim/card/memdisk";
import { NodeDisk } from "../targets/node/nodedisk";
import { header, loggerCard, pcCard, run, where } from "./cards";
import { makeFeed, signFeed } from "./feed";
import { VECTORS, vectors } from "./vectors";

const SEED = new Uint8Array(32).fill(7);
const root = resolve(__dirname, "..");
const tmp = mkdtempSync(join(tmpdir(), "pigeon-readers-"));
/** `pigeon` with a time bound far above its normal run: a hang fails the test instead of stalling it. */
function pigeon(args: string[], opts: { heapMb?: number } = {}) {
  const p = spawnSync(
    "node",
    [
      ...(opts.heapMb ? [`--max-old-space-size=${opts.heapMb}`] : []),
      join(root, "bin/pigeon.mjs"),
      ...args,
    ],
    { encoding: "utf8", timeout: 120000, maxBuffer: 1 << 26 }
  );
  if (p.error) throw p.error;
  return {
    code: p.status,
    out: p.stdout,
    err: p.stderr,
    json: (): Summary => JSON.parse(p.stdout),
  };
}
const INTERNAL =
  /undefined|Cannot read|out of bounds|is not a function|is not defined|TypeError|RangeError|NaN is/;
/** What `pigeon verify --json` says of a path; its losses never carry a JavaScript or WebAssembly message. */
function verifyJson(path: string, code?: number) {
  const r = pigeon(["verify", path, "--json"]);
  if (code !== undefined) expect(r.code, r.err).toBe(code);
  for (const l of r.json().losses ?? []) expect(l.reason).not.toMatch(INTERNAL);
  return r.json();
}
const dir = (name: string, files: Record<string, Uint8Array>) => {
  const d = join(tmp, name);
  mkdirSync(d, { recursive: true });
  for (const [f, b] of Object.entries(files)) writeFileSync(join(d, f), b);
  return d;
};

// the simulated logger's card: 3 days of 10-minute readings (432 messages, 152 pages of a 960-page log)
let card: { img: Buffer; log: string; bytes: Buffer; ident: Buffer; texts: string[] };
beforeAll(async () => {
  const img = await loggerCard(join(tmp, "card.img"), 3),
    log = img.readdir("")!.find((e) => e.name.endsWith(".LOG"))!.name;
  card = {
    img: Buffer.from(img.buffer),
    log,
    bytes: img.readFile(log)!,
    ident: img.readFile("IDENT.TXT")!,
    texts: readCard(img)[0].messages,
  };
  expect(card.texts.length).toBe(432);
});
/** The card's log with its bytes changed by fn, in a card directory. */
function cardDirWith(name: string, fn: (log: Buffer) => Buffer | void) {
  const b = Buffer.from(card.bytes);
  return dir(name, { "IDENT.TXT": card.ident, [card.log]: fn(b) ?? b });
}
/** The card's log read in-process: messages and losses. */
function readLog(bytes: Uint8Array) {
  const losses: Loss[] = [],
    texts: string[] = [],
    l = cardLog(memoryBytes(bytes), card.log, card.log, losses);
  if (l) for (const [t] of logRecords(l.log, l.file, card.log, losses)) texts.push(t);
  return { texts, losses, log: l?.log };
}

/** A log of the given messages in a MemDisk, with room for pages. */
function logOf(texts: string[], author: string, pages: number) {
  const disk = new MemDisk();
  createLog(disk, "F.LOG", author, pages, 1234);
  const log = openLog(disk, "F.LOG");
  for (const t of texts) {
    const n = encode(t); // before reading enc.b: encoding may replace it
    expect(appendMessage(log, enc.b, n)).toBe("");
  }
  return { disk, log, bytes: disk.files.get("F.LOG")! };
}
const sectorOf = (log: Log, page: number, slot: number) => 1 + log.indexSectors + 2 * page + slot;

describe("the store code on damaged logs", () => {
  it("pages damaged before the last ones end the bisection early; the mount's look past that end, and a reader of every page (openLog everyPage), still find the end and read past them", () => {
    const feed = makeFeed(600, SEED),
      { disk, log, bytes } = logOf(feed.texts, feed.author, 400);
    const tail = log.page;
    expect(tail).toBeGreaterThan(150);
    // both slots of pages tail-12..tail-5 garbled: past the last index sector, where mount bisects
    for (let p = tail - 12; p <= tail - 5; p++)
      for (const s of [0, 1])
        bytes.fill(0x5a, sectorOf(log, p, s) * 512, (sectorOf(log, p, s) + 1) * 512);
    const quick = openLog(disk, "F.LOG"),
      every = openLog(disk, "F.LOG", true);
    expect(quick.page).toBe(tail); // the board's mount looks 1, 2, 4 ... pages past where its bisection stopped
    expect(every.page).toBe(tail);
    const texts: string[] = [],
      bad: number[] = [];
    each(
      every,
      disk.openFile("F.LOG", "r")!,
      (t) => texts.push(t),
      (page) => bad.push(page)
    );
    expect(bad).toEqual([
      tail - 12,
      tail - 11,
      tail - 10,
      tail - 9,
      tail - 8,
      tail - 7,
      tail - 6,
      tail - 5,
    ]);
    expect(texts.at(-1)).toBe(feed.texts.at(-1));
    expect(texts.length).toBeGreaterThan(feed.texts.length - 8 * 4);
  });
});

describe("blobs wherever a bundle lies on a card image (issue 15)", () => {
  const copyBundle = (under: string) => (volume: string) => {
    const b = join(VECTORS, "bundle-ab");
    run("mcopy", ["-i", volume, join(b, "messages.pgn"), "::"]);
    if (under) run("mmd", ["-i", volume, "::" + under]);
    for (const d of new Set(vectors.blobs.map((x) => x.path.split("/")[0])))
      run("mcopy", ["-s", "-i", volume, join(b, d), "::" + under]);
  };

  it("a PC-style card image (partition table, mkfs.fat -F 16, the bundle copied with mtools) verifies with every blob accepted, blobs at the root or under B/; one blob's bytes changed are refused for that blob", () => {
    const asDir = verifyJson(join(VECTORS, "bundle-ab"), 0);
    for (const under of ["", "B"]) {
      const img = join(tmp, `pc${under}.img`);
      pcCard(img, copyBundle(under));
      expect(verifyJson(img, 0)).toEqual(asDir);
      expect(asDir.blobs).toEqual({ accepted: vectors.blobs.length, refused: 0 });
    }
    // import keeps the blobs from the image
    const store = join(tmp, "pc-store");
    expect(pigeon(["import", join(tmp, "pc.img"), "--store", store]).code).toBe(0);
    for (const b of vectors.blobs) expect(existsSync(join(store, "B", b.path))).toBe(true);
    // one blob's bytes changed on the image (its directory entry says where)
    const bad = join(tmp, "pc-badblob.img");
    pcCard(bad, copyBundle(""), (vol) => {
      vol[where(vol, vectors.blobs[0].path).offset(0)] ^= 1;
    });
    const r = verifyJson(bad, 1);
    expect(r.blobs).toEqual({ accepted: vectors.blobs.length - 1, refused: 1 });
    expect(r.refusals.map((x) => x.reason)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^blob ${vectors.blobs[0].path}: its bytes hash to &[0-9A-Z]{52}\\.sha256, not to its name$`
        )
      ),
    ]);
  });

  it("FAT12 and FAT32 volumes are read as FAT16 ones", () => {
    const asDir = verifyJson(join(VECTORS, "bundle-ab"), 0);
    for (const fat of [12, 32] as const) {
      const img = join(tmp, `pc-fat${fat}.img`);
      pcCard(img, copyBundle(""), undefined, fat);
      expect(
        readFileSync(img).toString(
          "latin1",
          (1 << 20) + (fat === 32 ? 82 : 54),
          (1 << 20) + (fat === 32 ? 87 : 59)
        )
      ).toBe(`FAT${fat}`);
      expect(verifyJson(img, 0), `FAT${fat}`).toEqual(asDir);
    }
  });

  it("a directory whose cluster chain loops, and directories packed with entries that all name one child, end within seconds, each directory read once", () => {
    const blob = vectors.blobs[0].path.split("/");
    // the blob's fifth directory's chain points back at itself
    const loop = join(tmp, "pc-loop.img");
    pcCard(loop, copyBundle(""), (vol) => {
      const d = where(vol, blob.slice(0, 5).join("/"));
      vol.writeUInt16LE(d.clusters[0], d.fat(d.clusters[0]));
    });
    const t0 = Date.now(),
      r = verifyJson(loop, 1);
    expect(Date.now() - t0).toBeLessThan(60000);
    expect(r.messages).toEqual(verifyJson(join(VECTORS, "bundle-ab")).messages);
    expect(r.losses!.map((l) => l.reason)).toEqual([
      `a directory: its cluster chain loops back to cluster ${where(readFileSync(loop).subarray(1 << 20), blob.slice(0, 5).join("/")).clusters[0]} after 1 cluster; the entries after are not read`,
    ]);
    // every directory of the blob's path filled with 60 entries naming the next one: 60^6 paths, if each were followed
    const packed = join(tmp, "pc-packed.img");
    pcCard(packed, copyBundle(""), (vol) => {
      for (let level = 1; level < 6; level++) {
        const d = where(vol, blob.slice(0, level).join("/")),
          child = where(vol, blob.slice(0, level + 1).join("/"));
        const entry = vol.subarray(child.entry, child.entry + 32),
          at = d.data(d.clusters[0]);
        for (let i = 3; i < d.clusterBytes / 32; i++) {
          entry.copy(vol, at + 32 * i);
          vol.write("Z" + String(i).padStart(6, "0"), at + 32 * i, "latin1"); // each its own name, after the real one
        }
      }
    });
    const t1 = Date.now(),
      p = verifyJson(packed, 1);
    expect(Date.now() - t1).toBeLessThan(60000);
    expect(p.messages).toEqual(verifyJson(join(VECTORS, "bundle-ab")).messages);
    expect(p.blobs.accepted).toBe(vectors.blobs.length);
    expect(p.losses!.length).toBeGreaterThan(5 * 50);
    expect(new Set(p.losses!.map((l) => l.reason))).toEqual(
      new Set([
        "the same directory entry as another path (a link, or a cross-linked entry): not read again",
      ])
    );
  });
});

describe("every loss a damaged card causes is named, and the rest is read (issue 16)", () => {
  const headerText = () => card.bytes.toString("latin1", 0, 504).trimEnd();

  it("a header whose page count is 1e300, 0, -5, NaN or 3000000000 is a loss with its reason; verify ends with exit 1 (it hung on 1e300)", () => {
    for (const pages of ["1e300", "0", "-5", "NaN", "3000000000"]) {
      const d = cardDirWith(
        `pages-${pages}`,
        (b) => void header(headerText().replace(/\npages \d+\n/, `\npages ${pages}\n`)).copy(b)
      );
      const r = verifyJson(d, 1);
      expect(r.messages).toEqual({ accepted: 0, refused: 0 });
      expect(r.losses).toEqual([
        {
          file: join(d, card.log),
          page: null,
          depths: null,
          reason: "cannot be read: the header's page count is not a number from 1 to 2097152",
        },
      ]);
    }
    // the viewer's worker reads through the same code (input.ts): its verdicts are in viewer.test.ts
  });

  it("a header missing its lines, with an author of invalid UTF-8, or garbled, is a loss with its reason, never an internal error", () => {
    const cases: [string, Buffer, RegExp][] = [
      ["lines", header("PIGEON-LOG 2\n"), /the header's author line is not an identity/],
      [
        "utf8",
        header(headerText().replace(/author @[0-9A-Z]{3}/, "author @\xff\xfe\xc3")),
        /the header's author line is not an identity/,
      ],
      ["garbled", Buffer.alloc(512, 0x41), /no valid header/],
    ];
    for (const [name, sector, why] of cases) {
      const r = verifyJson(
        cardDirWith(`header-${name}`, (b) => void sector.copy(b)),
        1
      );
      expect(r.losses!.map((l) => l.reason)).toEqual([expect.stringMatching(why)]);
    }
  });

  it("a page garbled in both slots is named with its page and the depths it held; import keeps all the rest and reports the same", () => {
    const { log } = readLog(card.bytes),
      page = 100,
      at = (1 + log!.indexSectors + 2 * page) * 512;
    const d = cardDirWith("garbled", (b) => void b.fill(0x33, at, at + 1024));
    const r = verifyJson(d, 1),
      lost = r.losses!;
    expect(lost.length).toBe(1);
    expect(lost[0]).toMatchObject({
      file: join(d, card.log),
      page,
      reason: `page ${page} is garbled in both slots: its records are lost`,
    });
    const [first, last] = lost[0].depths as [number, number];
    expect(last - first).toBeLessThan(4);
    // the messages after the gap are taken where a lipmaa link reaches over it, else refused by the chain rules: none is lost
    expect(r.messages.accepted + r.messages.refused).toBe(432 - (last - first + 1));
    for (const x of r.refusals) expect(x.reason).toMatch(/leaves a gap/);
    const s = join(tmp, "garbled-store"),
      im = pigeon(["import", d, "--store", s, "--json"]);
    expect(im.code).toBe(1);
    expect(im.json()).toEqual(r);
    expect(pigeon(["feeds", "--store", s]).out).toContain(`depths 0..${first - 1},`);
    const text = pigeon(["verify", d]).out;
    expect(text).toContain(
      `${join(d, card.log)} page ${page}: lost depths ${first}..${last}: page ${page} is garbled in both slots: its records are lost\n`
    );
    expect(text).toMatch(/; 1 losses \(not read\)\n$/);
  });

  it("a sealed page read from its older slot (the newer one damaged): the depths missing are named", () => {
    const { log } = readLog(card.bytes),
      page = 60;
    const slots = [0, 1].map((s) => (1 + log!.indexSectors + 2 * page + s) * 512),
      newer =
        card.bytes.readUInt32LE(slots[0] + 8) > card.bytes.readUInt32LE(slots[1] + 8)
          ? slots[0]
          : slots[1];
    const b = Buffer.from(card.bytes);
    b[newer + 100] ^= 0xff;
    const r = readLog(b);
    expect(r.texts.length).toBe(431);
    const d = r.losses[0].depths![0];
    expect(r.losses).toEqual([
      {
        file: card.log,
        page: null,
        depths: [d, d],
        reason: `depths ${d}..${d} are missing between the records around them (a page was read from its older slot: the newer one is damaged)`,
      },
    ]);
    expect(card.texts[d]).not.toBe(r.texts[d]);
  });

  it("a log cut short to half its bytes gives the messages in the half kept (about 3,400) and names the rest lost", () => {
    const feed = makeFeed(7000, SEED),
      { bytes, log } = logOf(feed.texts, feed.author, 2400);
    expect(log.page).toBeGreaterThan(2000);
    const d = dir("half", { "F.LOG": bytes.subarray(0, bytes.length >> 1) });
    const r = verifyJson(d, 1),
      held = Math.floor((bytes.length / 2 / 512 - 1 - log.indexSectors) / 2);
    expect(r.messages.accepted).toBeGreaterThan(3300);
    expect(r.messages.accepted).toBeLessThan(3700);
    expect(r.losses).toEqual([
      {
        file: join(d, "F.LOG"),
        page: held,
        depths: [r.messages.accepted, null],
        reason: `the file ends at page ${held} of 2400: the records after it are lost`,
      },
    ]);
  });

  it("a log whose cluster chain loops, or whose directory entry claims 2 GiB or 4 GiB, is read as far as its chain goes and the loss named", () => {
    const w = where(card.img, card.log),
      img = (name: string, fn: (b: Buffer) => void) => {
        const b = Buffer.from(card.img);
        fn(b);
        writeFileSync(join(tmp, name), b);
        return join(tmp, name);
      };
    // the chain's 60th cluster leads back to its 50th: the file reads as 60 clusters, then the loss
    const loop = verifyJson(
      img("loop.img", (b) => b.writeUInt16LE(w.clusters[49], w.fat(w.clusters[59]))),
      1
    );
    const held = Math.floor(((60 * w.clusterBytes) / 512 - 1 - 16) / 2);
    expect(loop.losses!.map((l) => l.reason)).toEqual([
      `its cluster chain loops back to cluster ${w.clusters[49]} after 60 clusters`,
      `the file ends at page ${held} of 960: the records after it are lost`,
    ]);
    expect(loop.messages.accepted).toBeGreaterThan(0);
    expect(loop.messages.accepted).toBeLessThan(432);
    for (const size of [2 ** 31, 2 ** 32 - 1]) {
      const r = verifyJson(
        img(`size${size}.img`, (b) => b.writeUInt32LE(size, w.entry + 28)),
        1
      );
      expect(r.messages).toEqual({ accepted: 432, refused: 0 });
      expect(r.losses!.map((l) => l.reason)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^its entry claims ${size} bytes, more than the volume holds \\(\\d+\\); its cluster chain ends after ${w.clusters.length} clusters$`
          )
        ),
      ]);
    }
  });

  it("one unreadable log does not hide the others: a card directory with the good log and an empty second .LOG", () => {
    const d = dir("two-logs", {
      "IDENT.TXT": card.ident,
      [card.log]: card.bytes,
      "ZZZZZZZZ.LOG": new Uint8Array(0),
    });
    const r = verifyJson(d, 1);
    expect(r.messages).toEqual({ accepted: 432, refused: 0 });
    expect(r.losses).toEqual([
      {
        file: join(d, "ZZZZZZZZ.LOG"),
        page: null,
        depths: null,
        reason:
          "cannot be read: no header (the log was being made when power failed, or the file is empty)",
      },
    ]);
  });

  it("a card whose board's log is gone (IDENT.TXT names it) names the loss", () => {
    const d = dir("no-log", { "IDENT.TXT": card.ident });
    const r = verifyJson(d, 1);
    expect(r.losses).toEqual([
      {
        file: join(d, card.log),
        page: null,
        depths: null,
        reason: `missing: IDENT.TXT names the board ${card.ident.toString().trim()}, whose log it is`,
      },
    ]);
  });

  it("a store with a zeroed log: feeds and import go on with the others; a log that may hold records is never made again", () => {
    const s = join(tmp, "zeroed-store");
    expect(pigeon(["import", join(VECTORS, "bundle-ab"), "--store", s]).code).toBe(0);
    writeFileSync(join(s, "AAAAAAAA.LOG"), Buffer.alloc(1 << 20));
    const f = pigeon(["feeds", "--store", s]);
    expect(f.code).toBe(0);
    expect(f.out.trim().split("\n").length).toBe(vectors.feeds.length);
    expect(f.err).toBe(
      `pigeon: ${join(s, "AAAAAAAA.LOG")}: cannot be read: no valid header (the log was being made when power failed, or the card damaged it)\n`
    );
    const other = makeFeed(5, SEED),
      pgn = join(tmp, "other.pgn");
    writeFileSync(pgn, other.texts.join("\n\n") + "\n");
    expect(pigeon(["import", pgn, "--store", s]).code).toBe(0);
    expect(pigeon(["feeds", "--store", s]).out.trim().split("\n").length).toBe(
      vectors.feeds.length + 1
    );
    // a feed's log with its header damaged may hold records: it stays as it is, and its feed is not taken
    const own = join(s, vectors.feeds[1].author.slice(1, 9) + ".LOG"),
      fd = openSync(own, "r+");
    writeSync(fd, Buffer.alloc(100, 0x41), 0, 100, 0);
    closeSync(fd);
    const head = (f: string) => {
      const b = Buffer.alloc(1 << 16),
        h = openSync(f, "r");
      readSync(h, b, 0, b.length, 0);
      closeSync(h);
      return b;
    };
    const before = statSync(own),
      first = head(own);
    const again = pigeon(["import", join(VECTORS, "bundle-ab"), "--store", s]);
    expect(again.code).toBe(2);
    expect(again.err).toContain(
      `${own}: a log that cannot be read is kept as it is, not made again`
    );
    expect([statSync(own).size, statSync(own).mtimeMs]).toEqual([before.size, before.mtimeMs]);
    expect(head(own).equals(first)).toBe(true);
  });

  it("a FIFO as messages.pgn, as a blob, or given as the path, is never opened: no reader waits on it", () => {
    const d = join(tmp, "fifo");
    cpSync(join(VECTORS, "bundle-ab"), d, { recursive: true });
    rmSync(join(d, "messages.pgn"));
    run("mkfifo", [join(d, "messages.pgn")]);
    rmSync(join(d, vectors.blobs[0].path));
    run("mkfifo", [join(d, vectors.blobs[0].path)]);
    const r = verifyJson(d, 1);
    expect(r.losses).toEqual(
      [join(d, "messages.pgn"), join(d, ...vectors.blobs[0].path.split("/"))].map((file) => ({
        file,
        page: null,
        depths: null,
        reason: "not a regular file: not read",
      }))
    );
    expect(r.blobs.accepted).toBe(0); // no message names the other blob now
    const direct = pigeon(["verify", join(d, "messages.pgn")]);
    expect(direct.code).toBe(2);
    expect(direct.err).toContain("messages.pgn: not a regular file");
    const im = pigeon(["import", d, "--store", join(tmp, "fifo-store")]);
    expect(im.code).toBe(1);
  });

  it("40 logs of 30 MB each (1.2 GB) are read in a 64 MB heap: logs are read page by page, never whole", () => {
    const d = join(tmp, "many"),
      feed = makeFeed(20, SEED);
    mkdirSync(d);
    createLog(new NodeDisk(d), "L0.LOG", feed.author, 30000, 99);
    const log = openLog(new NodeDisk(d), "L0.LOG");
    for (const t of feed.texts) {
      const n = encode(t);
      appendMessage(log, enc.b, n);
    }
    // the copies hold the same bytes, sparse: header, index and the pages written
    const used = readFileSync(join(d, "L0.LOG")).subarray(
        0,
        (1 + log.indexSectors + 2 * (log.page + 1)) * 512
      ),
      size = 512 * (1 + log.indexSectors + 2 * 30000);
    for (let i = 1; i < 40; i++) {
      const fd = openSync(join(d, `L${i}.LOG`), "w");
      writeSync(fd, used);
      ftruncateSync(fd, size);
      closeSync(fd);
    }
    const r = pigeon(["verify", d, "--json"], { heapMb: 64 });
    expect(r.code, r.err).toBe(0);
    expect(r.json().losses).toBeUndefined();
    expect(r.json().messages.refused).toBe(0);
    expect(r.json().messages.accepted).toBeGreaterThanOrEqual(20);
  });

  it("a log of more messages than a slice is read whole and in order, records that run on across the slices' ends included", () => {
    // two thirds of the messages are 4 KB long (they run on over nine pages), among them the first slice's last (4095) and the next slice's first
    const feed = signFeed(5000, SEED, (d) =>
        d % 3 === 2
          ? [["t", `"${d}"`]]
          : Array.from({ length: 32 }, (_, i) => [`line${i}`, `"${String(d).padEnd(120, "x")}"`])
      ),
      { bytes } = logOf(feed.texts, feed.author, 40000);
    const losses: Loss[] = [],
      l = cardLog(memoryBytes(bytes), "F.LOG", "F.LOG", losses)!,
      got: string[] = [];
    for (const [t] of logRecords(l.log, l.file, "F.LOG", losses)) got.push(t);
    expect(losses).toEqual([]);
    expect(got.length).toBe(feed.texts.length);
    expect(got.every((t, i) => t === feed.texts[i])).toBe(true);
  });
});
