import { describe, expect, it } from "vitest";
import {
  createLog,
  each,
  find,
  LOG_FULL,
  openLog,
  rec,
  record,
  records,
  text,
  type Log,
} from "../src/log";
import { parse } from "../src/message";
import { enc, encode } from "../src/utf8";
import { Pigeon } from "./pigeon";
import { MemDisk } from "../sim/card/memdisk";
import { prng } from "../sim/prng";
import { vectors } from "./vectors";
import { appendText, appendUntilCut } from "./cuts";
import { signFeed } from "./feed";

const SEED = new Uint8Array(32).fill(7);
const KEYS = Pigeon.keys(SEED);
const AUTHOR = Pigeon.identity(KEYS);

/** The logger's n-th message after ids (a reading with a time and a temperature). */
function reading(ids: string[], depth: number) {
  const l = Pigeon.lipmaa(depth);
  return Pigeon.sign(KEYS, {
    kind: "reading",
    prev: depth ? ids[depth - 1] : "NONE",
    depth,
    lipmaa: l === null ? "NONE" : ids[l],
    body: [
      ["t", `"${1764000000 + 600 * depth}"`],
      ["temp_c", `"${(20 + Math.sin(depth)).toFixed(2)}"`],
    ],
  });
}
function feed(n: number) {
  const ids: string[] = [],
    texts: string[] = [];
  for (let d = 0; d < n; d++) {
    texts.push(reading(ids, d));
    ids.push(Pigeon.id(texts[d]));
  }
  return texts;
}
const FEED = feed(400);

function all(disk: MemDisk, log: Log) {
  const out: string[] = [];
  each(log, disk.openFile(log.path, "r")!, (t) => out.push(t));
  return out;
}

describe("card log records", () => {
  it("a record gives back the exact message text, for every vector message", () => {
    for (const f of vectors.feeds)
      for (const m of f.messages) {
        const n = encode(m.text);
        expect(parse(enc.b, 0, n)).toBe("");
        const len = record(enc.b, 0);
        expect(len).toBeGreaterThan(0);
        expect(text(rec.b, 0, f.author)).toBe(m.text);
      }
  });
  it("keeps depths up to 2^53 - 1 and page fields up to 2^32 - 1 exactly", () => {
    const id = Pigeon.id(FEED[0]);
    for (const depth of [255, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3, 9007199254740991]) {
      const t = Pigeon.sign(KEYS, {
        kind: "reading",
        prev: id,
        depth,
        lipmaa: Pigeon.lipmaa(depth) === null ? "NONE" : id,
        body: [["t", '"1"']],
      });
      const n = encode(t);
      expect(parse(enc.b, 0, n)).toBe("");
      record(enc.b, 0);
      expect(text(rec.b, 0, AUTHOR)).toBe(t);
    }
    // an epoch of 32 bits set and a log's pages: mounted again, all of it back
    const disk = new MemDisk();
    createLog(disk, "E.LOG", AUTHOR, 50, 0xffffffff);
    const log = openLog(disk, "E.LOG");
    for (const t of FEED.slice(0, 30)) appendText(log, t);
    expect(openLog(disk, "E.LOG").epoch).toBe(0xffffffff);
    expect(all(disk, openLog(disk, "E.LOG"))).toEqual(FEED.slice(0, 30));
  });
});

describe("card log", () => {
  it("appends, mounts again and reads back every message in order", () => {
    const disk = new MemDisk();
    createLog(disk, "K.LOG", AUTHOR, 500, 1234567);
    let log = openLog(disk, "K.LOG");
    for (const t of FEED) appendText(log, t);
    log = openLog(disk, "K.LOG");
    expect(log.next).toBe(FEED.length);
    expect(all(disk, log)).toEqual(FEED);
  });
  it("writes one data sector per append and mounts by reading under 1% of a long log", () => {
    const disk = new MemDisk();
    createLog(disk, "K.LOG", AUTHOR, 20000, 99);
    let log = openLog(disk, "K.LOG");
    const w0 = disk.writes;
    for (const t of FEED) appendText(log, t);
    // index sectors add a little
    expect((disk.writes - w0) / FEED.length).toBeLessThan(1.02);
    disk.reads = 0;
    log = openLog(disk, "K.LOG");
    expect(log.next).toBe(FEED.length);
    expect(disk.reads / (2 * 20000)).toBeLessThan(0.01);
  });
  for (const model of ["atomic", "torn"] as const)
    it(`keeps every acknowledged message through 150 power cuts (${model})`, () => {
      for (let cut = 0; cut < 150; cut++) {
        const disk = new MemDisk();
        createLog(disk, "K.LOG", AUTHOR, 500, 42);
        let log = openLog(disk, "K.LOG");
        const acked = appendUntilCut(disk, log, FEED, {
          model,
          after: 1 + prng(cut + 1).int(300),
          seed: cut,
        });
        log = openLog(disk, "K.LOG");
        const back = all(disk, log);
        expect(back.length).toBeGreaterThanOrEqual(acked);
        expect(back).toEqual(FEED.slice(0, back.length));
        // and it goes on from there
        for (const t of FEED.slice(back.length, back.length + 20)) appendText(log, t);
        expect(all(disk, openLog(disk, "K.LOG"))).toEqual(FEED.slice(0, back.length + 20));
      }
    });
});

describe("card log with non-ASCII text", () => {
  it("stores and gives back UTF-8 strings exactly", () => {
    const disk = new MemDisk();
    createLog(disk, "U.LOG", AUTHOR, 10, 5);
    const log = openLog(disk, "U.LOG");
    const t = Pigeon.sign(KEYS, {
      kind: "note",
      prev: "NONE",
      depth: 0,
      lipmaa: "NONE",
      body: [["text", '"été: 20 €, 😀, 中文"']],
    });
    appendText(log, t);
    const back = all(disk, openLog(disk, "U.LOG"));
    expect(back).toEqual([t]);
    expect(Pigeon.verify(back[0])).toBe(true);
  });
});

describe("the logger's feed on a card log", () => {
  it("refuses to open the log of another key: its messages would be rebuilt with that author", async () => {
    const { openFeed, OTHER_AUTHOR } = await import("../src/ownfeed");
    const disk = new MemDisk();
    createLog(disk, "F.LOG", Pigeon.identity(Pigeon.keys(new Uint8Array(32).fill(8))), 400, 77);
    let e: any;
    try {
      openFeed(openLog(disk, "F.LOG"), disk.openFile("F.LOG", "r")!, KEYS);
    } catch (x) {
      e = x;
    }
    expect(e?.code).toBe(OTHER_AUTHOR);
    expect(e.message).toMatch(/^F\.LOG is the log of @.*, not of this key$/);
  });
  it("signs readings with prev and lipmaa ids read back from the card, across a remount", async () => {
    const { openFeed, append, readingBody } = await import("../src/ownfeed");
    const disk = new MemDisk();
    createLog(disk, "F.LOG", AUTHOR, 400, 77);
    const texts: string[] = [];
    let feed = openFeed(openLog(disk, "F.LOG"), disk.openFile("F.LOG", "r")!, KEYS);
    for (let d = 0; d < 150; d++) {
      if (d === 70) feed = openFeed(openLog(disk, "F.LOG"), disk.openFile("F.LOG", "r")!, KEYS); // a reboot
      texts.push(
        append(
          feed,
          "reading",
          readingBody(1764000000 + 600 * d, d < 70 ? 1 : 2, 600, ["temp"], [[20 + d / 10]])
        )
      );
    }
    const back = all(disk, openLog(disk, "F.LOG"));
    expect(back).toEqual(texts);
    const ids = back.map((t) => Pigeon.id(t));
    back.forEach((t, d) => {
      expect(Pigeon.verify(t)).toBe(true);
      const l = Pigeon.lipmaa(d);
      expect(t).toContain(`\nprev ${d ? ids[d - 1] : "NONE"}\n`);
      expect(t).toContain(`\nlipmaa ${l === null ? "NONE" : ids[l]}\n`);
    });
    expect(back[3]).toContain('\nt:"1764001800"\nboot:"1"\ntemp:"20.3"\n');
  });
  it("reads the card back only for a lipmaa id it lost with a reboot, once each: the ids later messages link to are kept", async () => {
    const { openFeed, append, readingBody } = await import("../src/ownfeed");
    const disk = new MemDisk();
    createLog(disk, "F.LOG", AUTHOR, 400, 77);
    let reads = 0;
    const reader = () => {
      const f = disk.openFile("F.LOG", "r")!,
        read = f.read.bind(f);
      f.read = (n: number) => (reads++, read(n));
      return f;
    };
    let feed = openFeed(openLog(disk, "F.LOG"), reader(), KEYS);
    const texts: string[] = [],
      readAt: number[] = [];
    for (let d = 0; d < 300; d++) {
      if (d === 130) feed = openFeed(openLog(disk, "F.LOG"), reader(), KEYS); // a reboot: what was kept is gone
      reads = 0;
      texts.push(
        append(
          feed,
          "reading",
          readingBody(1764000000 + 600 * d, d < 130 ? 1 : 2, 600, ["temp"], [[20 + d / 10]])
        )
      );
      if (reads) readAt.push(d);
      expect(feed.linked.length / 3).toBeLessThanOrEqual(8);
    }
    // after the reboot, the first message to link each depth below 130 reads it from the card; no other append reads
    const lost = new Set<number>(),
      want: number[] = [];
    for (let d = 130; d < 300; d++) {
      const l = Pigeon.lipmaa(d);
      if (l !== null && l < 130 && !lost.has(l)) (lost.add(l), want.push(d));
    }
    expect(want.length).toBeGreaterThan(1);
    expect(readAt).toEqual(want);
    expect(all(disk, openLog(disk, "F.LOG"))).toEqual(texts);
    texts.forEach((t) => expect(Pigeon.verify(t)).toBe(true));
  });
  it("puts several readings in one message as name.i with dt", async () => {
    const { readingBody } = await import("../src/ownfeed");
    expect(
      readingBody(
        1764000000.7,
        3,
        60,
        ["temp", "vbat"],
        [
          [21.5, 3.7123],
          [21.25, 3.7],
        ]
      )
    ).toEqual([
      ["t", '"1764000000"'],
      ["boot", '"3"'],
      ["dt", '"60"'],
      ["temp.0", '"21.5"'],
      ["vbat.0", '"3.712"'],
      ["temp.1", '"21.25"'],
      ["vbat.1", '"3.7"'],
    ]);
  });
});

describe("card log faults", () => {
  it("reports a byte the card garbled in the middle of the log and reads all the rest", () => {
    const disk = new MemDisk();
    createLog(disk, "K.LOG", AUTHOR, 500, 3);
    const log = openLog(disk, "K.LOG");
    for (const t of FEED) appendText(log, t);
    // garble one byte of page 40 in both slots' record area
    const f = disk.files.get("K.LOG")!;
    const page40 = (1 + log.indexSectors + 80) * 512;
    f[page40 + 100] ^= 0x55;
    f[page40 + 512 + 100] ^= 0x55;
    const bad: number[] = [],
      out: string[] = [];
    const again = openLog(disk, "K.LOG");
    each(
      again,
      disk.openFile("K.LOG", "r")!,
      (t) => out.push(t),
      (p) => bad.push(p)
    );
    expect(bad).toEqual([40]);
    expect(out.length).toBeGreaterThan(FEED.length - 4);
    for (const t of out) expect(FEED).toContain(t);
    expect(out).toEqual(FEED.filter((t) => out.includes(t)));
  });
  it("a page garbled anywhere does not end the log early: mount finds the end past it, and appends never write over what follows", () => {
    const disk = new MemDisk();
    createLog(disk, "K.LOG", AUTHOR, 500, 3);
    const log = openLog(disk, "K.LOG");
    for (const t of FEED) appendText(log, t);
    const pristine = Buffer.from(disk.files.get("K.LOG")!);
    for (let page = 0; page < log.page; page++) {
      const f = Buffer.from(pristine),
        at = (1 + log.indexSectors + 2 * page) * 512;
      f[at + 100] ^= 0x55;
      f[at + 512 + 100] ^= 0x55;
      disk.files.set("K.LOG", f);
      const again = openLog(disk, "K.LOG");
      expect(again.next, `page ${page} garbled`).toBe(FEED.length);
      expect(again.page).toBe(log.page);
    }
  });
  it("says the log is full and keeps what it holds", () => {
    const disk = new MemDisk();
    createLog(disk, "K.LOG", AUTHOR, 20, 3);
    const log = openLog(disk, "K.LOG");
    let n = 0;
    expect(() => {
      for (const t of FEED) {
        appendText(log, t);
        n++;
      }
    }).toThrow(expect.objectContaining({ code: LOG_FULL, message: "K.LOG: log full" }));
    expect(all(disk, openLog(disk, "K.LOG"))).toEqual(FEED.slice(0, n));
  });
  it("refuses a name that is not 8.3", () => {
    expect(() => createLog(new MemDisk(), "LONGFILENAME.LOG", AUTHOR, 10, 1)).toThrow(
      /not an 8\.3 name/
    );
    expect(() => createLog(new MemDisk(), "k.log", AUTHOR, 10, 1)).toThrow(/not an 8\.3 name/);
  });
});

describe("card log index", () => {
  it("is rebuilt when an index sector was lost, and written again in order", () => {
    const disk = new MemDisk();
    createLog(disk, "K.LOG", AUTHOR, 500, 9);
    let log = openLog(disk, "K.LOG");
    for (const t of FEED.slice(0, 250)) appendText(log, t);
    expect(log.indexed).toBe(60);
    // lose index sector 0 (as if its write was torn), then go on
    disk.files.get("K.LOG")![512 + 5] ^= 1;
    log = openLog(disk, "K.LOG");
    expect(log.indexed).toBe(0);
    for (const t of FEED.slice(250, 400)) appendText(log, t);
    expect(log.indexed).toBe(120);
    const again = openLog(disk, "K.LOG");
    expect(again.indexed).toBe(120);
    expect(all(disk, again)).toEqual(FEED);
  });
  it("finds a depth's page from the index: one sector read a step, not two pages; a garbled index sector or entry leaves it to the pages", () => {
    const disk = new MemDisk();
    createLog(disk, "K.LOG", AUTHOR, 500, 5);
    const log = openLog(disk, "K.LOG");
    for (const t of FEED) appendText(log, t);
    expect(log.indexed).toBe(120); // two index sectors, and pages waiting in memory
    expect(log.waiting).toBeGreaterThan(0);
    const f = disk.openFile("K.LOG", "r")!;
    // every depth, from the log as appended and as mounted (its waiting entries read from the pages)
    for (const l of [log, openLog(disk, "K.LOG")]) {
      const reads = disk.reads;
      for (let d = 0; d < FEED.length; d++) expect(find(l, f, d), `depth ${d}`).toBe(FEED[d]);
      // the page and the walk from it read 4 to 6 sectors; a bisection of the pages alone read 18 a find
      expect((disk.reads - reads) / FEED.length).toBeLessThan(8);
    }
    // index sector 1 garbled: the depths it covers are found by the pages
    const at = 512 * 2 + 100;
    disk.files.get("K.LOG")![at] ^= 1;
    for (let d = 0; d < FEED.length; d += 7) expect(find(log, f, d), `depth ${d}`).toBe(FEED[d]);
    disk.files.get("K.LOG")![at] ^= 1;
    // an entry in memory that names a page past its depth (as if the card changed under it)
    const depth = log.index[0];
    log.index[0] = 255;
    for (let d = 0; d < FEED.length; d += 7) expect(find(log, f, d), `depth ${d}`).toBe(FEED[d]);
    log.index[0] = depth;
  });
  it("records() from a page it is given (where the walk before stopped) when that page's depth is at most from, else from the index; the same records either way", () => {
    const disk = new MemDisk();
    createLog(disk, "K.LOG", AUTHOR, 500, 5);
    const log = openLog(disk, "K.LOG");
    for (const t of FEED) appendText(log, t);
    const f = disk.openFile("K.LOG", "r")!;
    const depthsFrom = (from: number, near?: number, stop = Infinity) => {
      const got: number[] = [];
      const last = records(
        log,
        f,
        from,
        (_b, _p, d) => (got.push(d), d >= stop),
        () => {},
        undefined,
        undefined,
        near
      );
      return { got, last };
    };
    const pages = log.page + 1;
    for (const from of [0, 1, 57, 200, FEED.length - 1]) {
      const plain = depthsFrom(from);
      expect(plain.got).toEqual(FEED.map((_, d) => d).slice(from));
      // the first page, one before the middle, the middle, the last, past the log's end, none
      for (const near of [0, (pages >> 1) - 1, pages >> 1, pages - 1, pages + 5, -1])
        expect(depthsFrom(from, near).got, `from ${from} near ${near}`).toEqual(plain.got);
    }
    // a walk that stopped at depth 199 returns the last page it read; the next walk starts there
    const { last } = depthsFrom(150, -1, 199);
    expect(last).toBeGreaterThan(0);
    expect(depthsFrom(200, last, 230).got).toEqual(FEED.map((_, d) => d).slice(200, 231));
  });
  it("keeps more than a sector's worth of pages waiting while one record runs on over them", () => {
    // depth 150 is about as long as a message can be (64 entries of 90-character keys and 128 4-byte
    // characters: 39 KB, some 80 pages), sealed while the 50 pages before it wait
    const big = (d: number) =>
      d === 150
        ? Array.from({ length: 64 }, (_, i) => [
            `k${i}`.padEnd(90, "_"),
            `"${"\u{1F426}".repeat(128)}"`,
          ])
        : [["temp_c", `"${d}"`]];
    const { author, texts } = signFeed(300, new Uint8Array(32).fill(3), big);
    const disk = new MemDisk();
    createLog(disk, "B.LOG", author, 500, 5);
    let log = openLog(disk, "B.LOG");
    for (const t of texts.slice(0, 151)) appendText(log, t);
    expect(log.indexed).toBe(120); // both written once the record was whole
    // their entries (spec/card.md): each page's depth, little-endian in 7 bytes, and the records begun on it
    const file = disk.files.get("B.LOG")!,
      entries: number[][] = [];
    for (let o = 512; o < 3 * 512; o += 512)
      for (let e = o; e < o + 480; e += 8)
        entries.push([file.readUIntLE(e, 6) + 2 ** 48 * file[e + 6], file[e + 7]]);
    const begins = entries.findIndex(([d]) => d === 150);
    expect(entries[0][0]).toBe(0);
    for (let i = 1; i < 120; i++) {
      expect(entries[i][0]).toBeGreaterThanOrEqual(entries[i - 1][0]);
      expect(entries[i][0]).toBeLessThanOrEqual(entries[i - 1][0] + entries[i - 1][1]);
    }
    // the long record began on a page before the first sector was due and runs past the second
    expect(begins).toBeGreaterThan(40);
    expect(begins).toBeLessThan(60);
    expect(entries.slice(begins + 1)).toEqual(entries.slice(begins + 1).map(() => [150, 0]));
    for (const t of texts.slice(151)) appendText(log, t);
    expect(log.indexed).toBe(log.page - (log.page % 60));
    log = openLog(disk, "B.LOG");
    expect(log.indexed).toBe(log.page - (log.page % 60));
    const f = disk.openFile("B.LOG", "r")!;
    for (const d of [0, 40, 149, 150, 151, 200, 299]) expect(find(log, f, d)).toBe(texts[d]);
    expect(all(disk, log)).toEqual(texts);
  });
});

describe("a followed feed's log", () => {
  it("can start above depth 0 and takes that author's messages from there", () => {
    const disk = new MemDisk();
    createLog(disk, "F.LOG", AUTHOR, 100, 4, 200);
    const log = openLog(disk, "F.LOG");
    expect(log.next).toBe(200);
    for (const t of FEED.slice(200, 260)) appendText(log, t);
    expect(all(disk, openLog(disk, "F.LOG"))).toEqual(FEED.slice(200, 260));
    expect(() => appendText(openLog(disk, "F.LOG"), FEED[100])).toThrow(
      /depth 100 is not the next one \(260\)/
    );
  });
});
