// pigeon csv --wide and pigeon lines (issue 18, part 4): the readings for
// spreadsheets (a row per feed and time, a column per key) and for InfluxDB
// (line protocol), each the same values as pigeon csv's, a row or line per
// reading time.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createImage } from "../sim/card/image";
import { loggerBoard } from "../sim/loggerboard";
import { lpLine, TimeRows } from "../targets/host/readings";

const root = resolve(__dirname, "..");
const tmp = mkdtempSync(join(tmpdir(), "pigeon-lines-"));
function pigeon(...args: string[]) {
  const p = spawnSync("node", [join(root, "bin/pigeon.mjs"), ...args], { encoding: "utf8" });
  return { code: p.status, out: p.stdout, err: p.stderr };
}
/** A message text as the readers take it (header, body, signature; nothing checks it here). */
const text = (kind: string, entries: [string, string][]) =>
  `author @A\nkind ${kind}\nprev NONE\ndepth 0\nlipmaa NONE\n\n${entries.map(([k, v]) => `${k}:${v}`).join("\n")}\n\nsignature X.sig.ed25519`;

/** One line of line protocol, split as its reference says (backslash escapes; a string field in quotes). */
function parseLine(line: string) {
  const m = /^((?:[^ ,\\]|\\.)+),feed=((?:[^ ,=\\]|\\.)+) (.*) (-?\d+)$/.exec(line);
  if (!m) throw new Error("not a line: " + line);
  const fields: Record<string, string | number> = {};
  for (const f of m[3].matchAll(/((?:[^ ,=\\]|\\.)+)=("(?:[^"\\]|\\.)*"|[^,]+)(?:,|$)/g)) {
    const [k, v] = [f[1].replace(/\\(.)/g, "$1"), f[2]];
    fields[k] = v.startsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, "$1") : Number(v);
  }
  return { measurement: m[1].replace(/\\(.)/g, "$1"), feed: m[2], fields, ns: BigInt(m[4]) };
}

describe("csv --wide and lines on a simulated card", () => {
  const s = join(tmp, "store");
  let csv: { feed: string; time: number; key: string; value: string }[];
  beforeAll(async () => {
    // a day of one board: six samplings of two sensors a message (times t + dt * i); and an hour of
    // another with a reading a message and one sensor of its own: the columns are the union
    for (const [name, config, seconds] of [
      ["wide", "per_message=6\nsensors=temp,vbat\n", 86400],
      ["one", "sensors=wave\n", 3600],
    ] as const) {
      const img = await createImage(join(tmp, name + ".img"), 32 << 20);
      const before =
        "var PIGEON_SENSORS = { wave: function () { return 20 + 5 * Math.sin(getTime() / 7200); } };";
      loggerBoard({
        profile: "bare",
        image: img,
        clock: 1764000000,
        seedBytes: Array.from({ length: 32 }, (_, i) => i + name.length),
        config,
        before,
      }).runFor(seconds + 1);
      img.save();
      expect(pigeon("import", join(tmp, name + ".img"), "--store", s).code).toBe(0);
    }
    // the station's own note: another kind, with characters the line protocol escapes
    expect(
      pigeon("post", "visit", "t=1764003000", 'note=card, swapped "A\\B"', "--store", s).code
    ).toBe(0);
    csv = pigeon("csv", "--store", s)
      .out.trim()
      .split("\n")
      .slice(1)
      .map((l) => {
        const [feed, , time, key, value] = l.split(",");
        return { feed, time: Number(time), key, value };
      });
  }, 120_000);

  /** pigeon csv's values by feed and time: key → value. */
  const byTime = () => {
    const m = new Map<string, Record<string, string>>();
    for (const r of csv) {
      const at = `${r.feed} ${r.time}`;
      if (!m.has(at)) m.set(at, {});
      m.get(at)![r.key] = r.value;
    }
    return m;
  };

  it("csv --wide: a row per feed and reading time, a column per key, each cell pigeon csv's value (empty where none)", () => {
    const [header, ...rows] = pigeon("csv", "--wide", "--store", s).out.trim().split("\n");
    expect(header.split(",").slice(0, 2)).toEqual(["feed", "time"]);
    const keys = header.split(",").slice(2);
    expect(keys.sort()).toEqual(["temp", "vbat", "wave"]);
    const want = byTime();
    expect(want.size).toBe(144 + 6); // a reading every 10 minutes: a day of one board and an hour of the other
    expect(rows.length).toBe(want.size);
    const cols = header.split(",");
    for (const row of rows) {
      const cells = row.split(","),
        w = want.get(`${cells[0]} ${cells[1]}`);
      expect(w, row).toBeDefined();
      for (let c = 2; c < cols.length; c++)
        expect(cells[c], `${row}: ${cols[c]}`).toBe(w![cols[c]] ?? "");
    }
    // --key: one column
    const one = pigeon("csv", "--wide", "--key", "vbat", "--store", s).out.trim().split("\n");
    expect(one[0]).toBe("feed,time,vbat");
    expect(one.length - 1).toBe(144);
  });

  it("lines: a line per feed, kind and reading time; fields are pigeon csv's values, numbers as floats; the time in ns", () => {
    const lines = pigeon("lines", "--store", s).out.trim().split("\n").map(parseLine);
    const readings = lines.filter((l) => l.measurement === "reading"),
      want = byTime();
    expect(readings.length).toBe(want.size);
    for (const l of readings) {
      expect(l.ns % 1_000_000_000n).toBe(0n);
      const w = want.get(`${l.feed} ${l.ns / 1_000_000_000n}`)!;
      expect(w).toBeDefined();
      expect(Object.keys(l.fields).sort()).toEqual(Object.keys(w).sort());
      for (const [k, v] of Object.entries(l.fields)) expect(v, k).toBe(Number(w[k]));
    }
    // the note: its own measurement, its string escaped (comma and space as they are, '"' and '\' with a backslash)
    const note = pigeon("lines", "--store", s)
      .out.split("\n")
      .find((l) => l.startsWith("visit,"));
    const me = pigeon("identity", "--store", s).out.trim();
    expect(note).toBe(`visit,feed=${me} note="card, swapped \\"A\\\\B\\"" 1764003000000000000`);
  });
});

describe("rows by time and line protocol's escapes", () => {
  it("a message's readings at one time make one row; a later message at that time joins it, unless it repeats a key", () => {
    const rows: [string, number, [string, string][]][] = [],
      r = new TimeRows((...x) => rows.push(x));
    r.add(
      "f",
      text("reading", [
        ["t", '"100"'],
        ["dt", '"10"'],
        ["a.0", '"1"'],
        ["b.0", '"2"'],
        ["a.1", '"3"'],
        ["b.1", '"4"'],
      ])
    );
    r.add(
      "f",
      text("reading", [
        ["t", '"110"'],
        ["c", '"5"'],
      ])
    ); // joins 110
    r.add(
      "f",
      text("reading", [
        ["t", '"110"'],
        ["a", '"6"'],
      ])
    ); // a at 110 again: a row of its own
    r.add(
      "g",
      text("reading", [
        ["t", '"110"'],
        ["z", '"7"'],
      ])
    ); // another series
    r.end();
    expect(rows).toEqual([
      [
        "f",
        100,
        [
          ["a", "1"],
          ["b", "2"],
        ],
      ],
      [
        "f",
        110,
        [
          ["a", "3"],
          ["b", "4"],
          ["c", "5"],
        ],
      ],
      ["f", 110, [["a", "6"]]],
      ["g", 110, [["z", "7"]]],
    ]);
  });

  it("escapes as the protocol's reference says; decimal numbers are floats, anything else a string; fractions of a second kept", () => {
    expect(
      lpLine("a=b.c", "@F", 1764000000.5, [
        ["k=1", '"x"'],
        ["n", "21.50"],
        ["e", "-1e3"],
        ["s", 'say "hi", \\o/'],
        ["h", "0x10"],
        ["i", "Infinity"],
      ])
    ).toBe(
      'a=b.c,feed=@F k\\=1="\\"x\\"",n=21.5,e=-1000,s="say \\"hi\\", \\\\o/",h="0x10",i="Infinity" 1764000000500000000\n'
    );
  });
});
