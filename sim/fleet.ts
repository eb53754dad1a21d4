// The fleet simulation: boards running the real firmware (dist/firmware.js)
// on FAT16 card images, stations (host stores that follow feeds) and data
// mules (host stores that carry what they hold from place to place), on one
// virtual clock. A mule visiting a board reads its card as the host does
// (readCard) and imports what it lacks, verifying it; at a station it gossips
// both ways with bundles (exportBundle, HAVE.TXT). Boards only write their own
// feed: checking other feeds' Ed25519 signatures would take a Pico minutes a
// message, so a board is never a relay here.
//
// Adversaries: a mule that alters, forges or drops messages in the bundles it
// hands over, and a board that forks a feed (it reuses another board's seed).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createImage, FatImage } from "./card/image";
import { readCard } from "./card/read";
import { sendFrom } from "../targets/host/have";
import { exportBundle, feedsToExport } from "../targets/node/export";
import { importInto } from "../targets/node/import";
import { splitPgn } from "../targets/host/bundle";
import { readInput } from "../targets/node/files";
import { Store } from "../targets/node/store";
import { body, field } from "../targets/host/message";
import { checkReceipts, readReceipt, receiptDepths, type Receipt } from "../targets/host/receipt";
import { unquote } from "../targets/host/readings";
import { Pigeon } from "../targets/node/core";
import type { ProfileName, Board } from "./espruino";
import { loggerBoard } from "./loggerboard";

export interface Scenario {
  /** Unix seconds at which the boards' clocks start. */
  start: number;
  /** Days the boards log. */
  days: number;
  /** Days the mules go on after the boards stop (default: twice the longest mule period), so the last readings arrive. */
  settle?: number;
  /** Hours between two snapshots of who holds what (default 24). */
  sampleHours?: number;
  boards: { name: string; profile?: ProfileName; interval?: number; sensors?: string }[];
  stations: { name: string; follows: string[] }[];
  /** A mule starts a trip every `every` days (first at `offset` days), visiting its route `hop` hours apart. */
  mules: { name: string; every: number; offset?: number; hop?: number; route: string[] }[];
  adversaries?: Adversary[];
  /** Stations and mules sign a receipt per feed taken at each import (spec/pigeon.md, section 6.1). */
  receipts?: boolean;
}
export type Adversary =
  | { node: string; kind: "alter" | "drop"; every?: number }
  | { node: string; kind: "forge" }
  | { node: string; kind: "fork"; of: string };

/** When a node held how many messages of a feed: change points (time, count). */
type Steps = [number, number][];

export interface FleetResult {
  scenario: Scenario;
  end: number;
  wallSeconds: number;
  appends: number;
  feeds: {
    name: string;
    author: string;
    messages: number;
    /** per node: the depths held at the end, and reading -> arrival delays (s) of the depths held */
    held: Record<
      string,
      { ranges: [number, number][]; delays: { median: number; max: number } | null }
    >;
  }[];
  /** Per station, the feeds it follows (a forked feed aside) and how many of their messages it lacks at the end. */
  converged: Record<string, { follows: string[]; missing: number }>;
  visits: { mule: string; node: string; t: number; bytes: number; messages: number }[];
  adversaries: {
    node: string;
    kind: string;
    acts: number;
    caught: Record<string, number>;
    forksKept: Record<string, number>;
  }[];
  /** Messages held anywhere that their author did not write (altered or forged data taken): must be empty. */
  untrue: { node: string; author: string; depth: number }[];
  /** With receipts: per station, read from its own receipts alone, where its messages came from (fromReceipts). */
  receipts?: Record<string, StationReceipts>;
  timeline: { feed: string; node: string; steps: Steps }[];
  /** Per feed, the times its messages were written (by depth). */
  written: Record<string, number[]>;
}

interface BoardNode {
  name: string;
  board: Board;
  img: FatImage;
  author: string;
}
interface StoreNode {
  name: string;
  store: Store;
  follows: Set<string>; // authors
  arrival: Map<string, Float64Array>; // author -> time each depth arrived (NaN: not yet)
  ranges: Map<string, [number, number][]>; // author -> depths held at the last look
  steps: Map<string, Steps>;
  adversary?: Adversary;
  acts: number;
}

const DAY = 86400;
/** A board's 32-byte seed, from its name (a fork's twin uses the seed of the board it forks). */
const seedOf = (name: string) => [
  ...createHash("sha256")
    .update("pigeon fleet " + name)
    .digest(),
];

/** Runs a scenario in `dir` (card images and stores go there); returns the report's figures. */
export async function runFleet(sc: Scenario, dir: string): Promise<FleetResult> {
  const t0 = performance.now();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const adv = new Map((sc.adversaries ?? []).map((a) => [a.node, a]));
  const end = sc.start + sc.days * DAY;

  // ---- boards: each its own card, its seed in Storage, its interval in PIGEON.CFG ----
  const boards = new Map<string, BoardNode>();
  const blank = await createImage(join(dir, "blank.img"), 16 << 20);
  rmSync(blank.path);
  for (const [i, b] of sc.boards.entries()) {
    const a = adv.get(b.name),
      interval = b.interval ?? 600;
    const seedBytes = seedOf(a?.kind === "fork" ? a.of : b.name);
    // the log preallocated for the readings of the whole run (about 400 bytes of card a message), at least 1 MiB
    const logMb = Math.max(1, Math.ceil((((sc.days * DAY) / interval) * 400) / (1 << 20)) + 1);
    const img = await FatImage.fromBuffer(join(dir, b.name + ".img"), Buffer.from(blank.buffer));
    const config =
      `interval=${interval}\nlog_mb=${logMb}\n` + (b.sensors ? `sensors=${b.sensors}\n` : "");
    const board = loggerBoard({
      profile: b.profile ?? "bare",
      image: img,
      clock: sc.start,
      seed: i + 1,
      seedBytes,
      config,
    });
    if (board.errors.length) throw new Error(`${b.name}: ${board.errors.join("; ")}`);
    boards.set(b.name, {
      name: b.name,
      board,
      img,
      author: Pigeon.identity(Uint8Array.from(seedBytes)),
    });
  }
  const authorOf = (name: string) => {
    const b = boards.get(name);
    if (!b) throw new Error(`no board ${name}`);
    return b.author;
  };
  // ---- stations and mules: host stores ----
  const stores = new Map<string, StoreNode>();
  const storeNode = (name: string, follows: string[]): StoreNode => {
    if (boards.has(name) || stores.has(name)) throw new Error(`${name} is named twice`);
    const n: StoreNode = {
      name,
      store: new Store(join(dir, name)),
      follows: new Set(follows.map(authorOf)),
      arrival: new Map(),
      ranges: new Map(),
      steps: new Map(),
      adversary: adv.get(name),
      acts: 0,
    };
    n.store.setList("FOLLOWS.TXT", n.follows);
    stores.set(name, n);
    return n;
  };
  for (const s of sc.stations) storeNode(s.name, s.follows);
  const boardAuthors = new Set([...boards.values()].map((b) => b.author));
  for (const m of sc.mules) storeNode(m.name, []).follows = new Set(boardAuthors); // a mule carries every feed
  for (const a of sc.adversaries ?? [])
    if (!boards.has(a.node) && !stores.has(a.node))
      throw new Error(`adversary ${a.node}: no such node`);

  // ---- the mules' visits, in time order ----
  const settle = sc.settle ?? 2 * Math.max(...sc.mules.map((m) => m.every));
  const visits: { t: number; mule: StoreNode; at: string }[] = [];
  for (const m of sc.mules)
    for (let trip = (m.offset ?? 0) * DAY; trip < (sc.days + settle) * DAY; trip += m.every * DAY)
      m.route.forEach((at, i) => {
        if (!boards.has(at) && !stores.has(at))
          throw new Error(`${m.name}: no node ${at} on its route`);
        visits.push({
          t: sc.start + trip + i * (m.hop ?? 2) * 3600,
          mule: stores.get(m.name)!,
          at,
        });
      });
  visits.sort((a, b) => a.t - b.t);

  /** Notes the depths that arrived at a node at time t (from its store's ranges). */
  const arrived = (n: StoreNode, t: number) => {
    for (const author of n.store.authors()) {
      let a = n.arrival.get(author);
      if (!a) n.arrival.set(author, (a = new Float64Array(0)));
      const ranges = n.store.ranges(author),
        top = ranges.length ? ranges[ranges.length - 1][1] : -1;
      if (top + 1 > a.length) {
        const b = new Float64Array(Math.max(top + 1, a.length * 2)).fill(NaN);
        b.set(a);
        n.arrival.set(author, (a = b));
      }
      let count = 0,
        j = 0;
      const before = n.ranges.get(author) ?? [];
      for (const [lo, hi] of ranges) {
        count += hi - lo + 1;
        // the depths of this range not held before (held ranges only ever grow and merge)
        for (let d = lo; d <= hi;) {
          while (j < before.length && before[j][1] < d) j++;
          if (j < before.length && before[j][0] <= d) d = before[j][1] + 1;
          else
            for (
              const stop = Math.min(hi + 1, j < before.length ? before[j][0] : Infinity);
              d < stop;
              d++
            )
              a[d] = t;
        }
      }
      n.ranges.set(author, ranges);
      let s = n.steps.get(author);
      if (!s) n.steps.set(author, (s = []));
      if (!s.length || s[s.length - 1][1] !== count) s.push([t, count]);
    }
  };
  const caught = new Map<string, Map<string, number>>(); // adversary -> station -> refusals of its tampering
  const record: FleetResult["visits"] = [];
  let bundleNo = 0;
  const bundleSize = (d: string): number =>
    readdirSync(d).reduce(
      (n, f) =>
        n +
        (statSync(join(d, f)).isDirectory() ? bundleSize(join(d, f)) : statSync(join(d, f)).size),
      0
    );
  /** A bundle from one store for another, as `pigeon export --for`, tampered with when the writer is an adversary. */
  const hand = (from: StoreNode, to: StoreNode, all: boolean) => {
    const d = join(dir, "bundles", String(bundleNo++));
    const r = exportBundle(
      from.store,
      d,
      feedsToExport(from.store, all),
      from.store.peer(to.store.identity())
    );
    if (from.adversary && r.messages) tamper(from, d);
    const bytes = bundleSize(d);
    return { d, bytes, messages: r.messages };
  };
  const take = async (to: StoreNode, d: string, t: number, from: StoreNode) => {
    const { report } = importInto(to.store, await readInput(d), {
      receipt: sc.receipts ? { t } : undefined,
    });
    rmSync(d, { recursive: true });
    arrived(to, t);
    if (from.adversary && report.refusals.length) {
      let c = caught.get(from.name);
      if (!c) caught.set(from.name, (c = new Map()));
      c.set(
        to.name,
        (c.get(to.name) ?? 0) + report.refusals.filter((f) => /signature/.test(f.reason)).length
      );
    }
  };
  /** An adversary mule's doing to a bundle it hands over. */
  const tamper = (m: StoreNode, d: string) => {
    const a = m.adversary!,
      file = join(d, "messages.pgn");
    let texts = splitPgn(readFileSync(file, "utf8"), file).map((s) => s.text);
    const every = "every" in a && a.every ? a.every : 3;
    // the boards' messages are counted, so stores' receipts in the bundle leave the boards' data to the same fate
    let i = 0;
    const nth = (t: string) => boardAuthors.has(field(t, "author")!) && i++ % every === every - 1;
    if (a.kind === "drop") texts = texts.filter((t) => !nth(t) || (m.acts++, false));
    if (a.kind === "alter")
      texts = texts.map((t) =>
        nth(t)
          ? (m.acts++, t.replace(/\n(temp|a0|vbat):"([^"]*)"/, (_, k, v) => `\n${k}:"${v}1"`))
          : t
      );
    if (a.kind === "forge") {
      // before each feed's first message, one of the same depth and links with a new reading, signed with the mule's own key under the feed's author
      // (not under its own: that would be its own fork, no forgery)
      const seed = Uint8Array.from(readFileSync(join(m.store.dir, "SECRET.KEY"))),
        out: string[] = [],
        seen = new Set<string>([m.store.identity()]);
      for (const t of texts) {
        const author = field(t, "author")!;
        if (!seen.has(author)) {
          seen.add(author);
          const forged = Pigeon.sign(seed, {
            kind: "reading",
            prev: field(t, "prev")!,
            depth: Number(field(t, "depth")),
            lipmaa: field(t, "lipmaa")!,
            body: [
              ["t", `"${/\nt:"(\d+)"/.exec(t)![1]}"`],
              ["temp", '"99.9"'],
            ],
          });
          out.push(forged.replace(/^author \S+/, "author " + author));
          m.acts++;
        }
        out.push(t);
      }
      texts = out;
    }
    writeFileSync(file, texts.length ? texts.join("\n\n") + "\n" : "");
  };

  // ---- run ----
  for (const v of visits) {
    const m = v.mule,
      b = boards.get(v.at);
    if (b) {
      // at a board: its card, read as the host reads one; the mule takes what it lacks of each feed
      b.board.run(Math.min(v.t, end));
      const messages = readCard(b.img).flatMap((f) => {
        const r = m.store.ranges(f.author),
          from = sendFrom(
            { first: 0, next: f.messages.length },
            r.length ? { first: r[0][0], last: r[0][1] } : undefined
          );
        return from === undefined
          ? []
          : f.messages.slice(from).map((text) => ({ text, file: b.name + "/" + f.path, line: 0 }));
      });
      importInto(
        m.store,
        { messages, blobs: [] },
        { receipt: sc.receipts ? { t: v.t } : undefined }
      );
      arrived(m, v.t);
      record.push({
        mule: m.name,
        node: b.name,
        t: v.t,
        bytes: messages.reduce((n, s) => n + Buffer.byteLength(s.text) + 2, 0),
        messages: messages.length,
      });
    } else {
      // at a station: the mule's bundle for it (all the mule carries, less what the station held at their last
      // meeting: the mule writes it on the way), then the station's for the mule (own and followed feeds)
      const s = stores.get(v.at)!;
      const down = hand(m, s, true);
      await take(s, down.d, v.t, m);
      const up = hand(s, m, false);
      await take(m, up.d, v.t, s);
      record.push({
        mule: m.name,
        node: s.name,
        t: v.t,
        bytes: up.bytes + down.bytes,
        messages: up.messages + down.messages,
      });
    }
  }
  for (const b of boards.values()) b.board.run(end);
  for (const b of boards.values())
    if (b.board.errors.length) throw new Error(`${b.name}: ${b.board.errors.join("; ")}`);
  for (const b of boards.values()) b.img.save(); // <dir>/<board>.img: each card as the board left it

  // ---- what the boards wrote, and what every store holds of it ----
  const cards = new Map([...boards.values()].map((b) => [b.name, readCard(b.img)[0].messages]));
  const truth = new Map<string, Set<string>[]>(); // author -> per depth, the texts boards wrote (two for a fork)
  for (const b of boards.values())
    cards.get(b.name)!.forEach((t, d) => {
      let f = truth.get(b.author);
      if (!f) truth.set(b.author, (f = []));
      (f[d] ??= new Set()).add(t);
    });
  const untrue: FleetResult["untrue"] = [],
    writer = new Map([...stores.values()].map((n) => [n.store.identity(), n.store]));
  for (const n of stores.values())
    for (const author of n.store.authors())
      n.store.each(author, (text, depth) => {
        // a board's message as its card holds it, a station's or mule's (its receipts) as its own store does
        if (!(
          truth.get(author)?.[depth]?.has(text) || writer.get(author)?.text(author, depth) === text
        ))
          untrue.push({ node: n.name, author, depth });
      });
  const forked = new Set(
    (sc.adversaries ?? []).flatMap((a) => (a.kind === "fork" ? [authorOf(a.of)] : []))
  );
  const written: Record<string, number[]> = {};
  const feeds: FleetResult["feeds"] = [];
  for (const b of boards.values()) {
    if (written[b.author]) continue;
    const times = cards.get(b.name)!.map((t) => Number(/\nt:"(\d+)"/.exec(t)![1]));
    written[b.author] = times;
    const held: FleetResult["feeds"][number]["held"] = {};
    for (const n of stores.values()) {
      const ranges = n.store.ranges(b.author);
      if (!ranges.length) continue;
      const a = n.arrival.get(b.author)!,
        delays: number[] = [];
      for (const [lo, hi] of ranges)
        for (let d = lo; d <= hi && d < times.length; d++) delays.push(a[d] - times[d]);
      delays.sort((x, y) => x - y);
      held[n.name] = {
        ranges,
        delays: delays.length
          ? { median: delays[delays.length >> 1], max: delays[delays.length - 1] }
          : null,
      };
    }
    feeds.push({ name: b.name, author: b.author, messages: times.length, held });
  }
  const converged: FleetResult["converged"] = {};
  for (const s of sc.stations) {
    const n = stores.get(s.name)!,
      follows = [...n.follows].filter((a) => !forked.has(a));
    let missing = 0;
    for (const a of follows) {
      const have = n.store.ranges(a).reduce((k, [lo, hi]) => k + hi - lo + 1, 0);
      missing += written[a].length - have;
    }
    converged[n.name] = {
      follows: follows.map((a) => feeds.find((f) => f.author === a)!.name),
      missing,
    };
  }
  const adversaries: FleetResult["adversaries"] = (sc.adversaries ?? []).map((a) => {
    const n = stores.get(a.node),
      forksKept: Record<string, number> = {};
    if (a.kind === "fork")
      for (const s of stores.values())
        forksKept[s.name] = s.store
          .forks()
          .filter((t) => field(t, "author") === authorOf(a.of)).length;
    return {
      node: a.node,
      kind: a.kind,
      acts: n?.acts ?? 0,
      caught: Object.fromEntries(caught.get(a.node) ?? []),
      forksKept,
    };
  });
  const timeline: FleetResult["timeline"] = [];
  for (const f of feeds)
    for (const n of stores.values())
      if (n.steps.get(f.author))
        timeline.push({ feed: f.name, node: n.name, steps: n.steps.get(f.author)! });
  const appends = [...cards.values()].reduce((k, c) => k + c.length, 0);
  const names = new Map([...stores.values()].map((n) => [n.store.identity(), n.name]));
  const receipts = sc.receipts
    ? Object.fromEntries(
        sc.stations.map((st) => [st.name, fromReceipts(stores.get(st.name)!.store, names)])
      )
    : undefined;
  return {
    scenario: sc,
    end,
    wallSeconds: (performance.now() - t0) / 1000,
    appends,
    feeds,
    converged,
    visits: record,
    adversaries,
    untrue,
    receipts,
    timeline,
    written,
  };
}

/** What a station's own receipts say (fromReceipts). */
export interface StationReceipts {
  /** Per source (a mule's name, or "card"): messages taken, their delay from their time t to the receipt's, and depths left out. */
  from: Record<
    string,
    {
      messages: number;
      delays: { median: number; max: number } | null;
      holes: number;
      withheld: number;
    }
  >;
  /** The receipt chain against what the station holds (checkReceipts, summed over feeds): all 0 when consistent. */
  chain: { problems: number; unnamed: number; notHeld: number };
}

/**
 * From a store's own receipts and the messages it holds, nothing else: for
 * each source, how many messages the store took from it and how late (now
 * minus the message's t), its holes (depths inside a receipt's first..last,
 * not taken, and still lacking after that import) and, of those, how many
 * the mule's own receipts show it had taken before (withheld: a mule that
 * drops messages). names: identity -> node name.
 */
export function fromReceipts(store: Store, names: Map<string, string>): StationReceipts {
  const me = store.identity(),
    mine: Receipt[] = [];
  const read = (author: string, fn: (r: Receipt) => void) =>
    store.each(author, (text) => {
      const r = readReceipt(text);
      if (r && typeof r !== "string") fn(r);
    });
  read(me, (r) => mine.push(r));
  // what each mule's receipts say it took, and when: mule -> feed -> depth -> time
  const took = new Map<string, Map<string, Map<number, number>>>();
  for (const who of new Set(mine.map((r) => r.from).filter((f): f is string => !!f))) {
    const m = new Map<string, Map<number, number>>();
    read(who, (r) => {
      if (!m.has(r.feed)) m.set(r.feed, new Map());
      for (const [lo, hi] of receiptDepths(r))
        for (let d = lo; d <= hi; d++) if (!m.get(r.feed)!.has(d)) m.get(r.feed)!.set(d, r.t);
    });
    took.set(who, m);
  }
  const times = new Map<string, number[]>(); // feed -> t of each message held, by depth
  const timeOf = (feed: string, d: number) => {
    if (!times.has(feed)) {
      const t: number[] = [];
      store.each(feed, (text, depth) => {
        const v = body(text).find(([k]) => k === "t")?.[1];
        t[depth] = v ? Number(unquote(v)) : NaN;
      });
      times.set(feed, t);
    }
    return times.get(feed)![d];
  };
  const held = new Map<string, Set<number>>(),
    from: StationReceipts["from"] = {},
    delays = new Map<string, number[]>();
  // one import's receipts are consecutive, with one t and one from: holes are what is still lacking after them all
  for (let i = 0; i < mine.length;) {
    let j = i;
    while (j < mine.length && mine[j].t === mine[i].t && mine[j].from === mine[i].from) j++;
    const group = mine.slice(i, j),
      source = group[0].from ? (names.get(group[0].from) ?? group[0].from) : "card";
    const f = (from[source] ??= { messages: 0, delays: null, holes: 0, withheld: 0 });
    for (const r of group) {
      if (!held.has(r.feed)) held.set(r.feed, new Set());
      for (const [lo, hi] of receiptDepths(r))
        for (let d = lo; d <= hi; d++) {
          held.get(r.feed)!.add(d);
          f.messages++;
          const late = r.t - timeOf(r.feed, d);
          if (!isNaN(late)) (delays.get(source) ?? delays.set(source, []).get(source)!).push(late);
        }
    }
    for (const r of group)
      for (const [lo, hi] of r.gaps)
        for (let d = lo; d <= hi; d++)
          if (!held.get(r.feed)!.has(d)) {
            f.holes++;
            const had = r.from ? took.get(r.from)?.get(r.feed)?.get(d) : undefined;
            if (had !== undefined && had < r.t) f.withheld++;
          }
    i = j;
  }
  for (const [source, ds] of delays) {
    ds.sort((a, b) => a - b);
    from[source].delays = { median: ds[ds.length >> 1], max: ds[ds.length - 1] };
  }
  const chain = { problems: 0, unnamed: 0, notHeld: 0 },
    count = (r: [number, number][]) => r.reduce((n, [a, b]) => n + b - a + 1, 0);
  for (const feed of store.authors()) {
    if (feed === me) continue;
    const c = checkReceipts(
      mine.filter((r) => r.feed === feed),
      store.ranges(feed),
      (d) => store.idAt(feed, d)
    );
    chain.problems += c.problems.length;
    chain.unnamed += count(c.unnamed);
    chain.notHeld += count(c.notHeld);
  }
  return { from, chain };
}
