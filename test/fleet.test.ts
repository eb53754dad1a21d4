// The fleet simulation (issue 6): boards running the firmware, stations and
// data mules gossiping by bundles on virtual time. What the stations end with
// is checked against the boards' cards, read back from their saved images.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openImage } from "../sim/card/image";
import { readCard } from "../sim/card/read";
import { Store } from "../targets/node/store";
import { field } from "../targets/host/message";
import { runFleet, type FleetResult, type Scenario } from "../sim/fleet";
import { readReceipt, receiptDepths, type Receipt } from "../targets/host/receipt";
import { fleetSvg, formatReport, writtenBy } from "../sim/fleet-report";
import { Pigeon } from "./pigeon";

const root = resolve(__dirname, "..");
const tmp = mkdtempSync(join(tmpdir(), "pigeon-fleet-"));
const scenario = (name: string): Scenario =>
  JSON.parse(readFileSync(join(root, "sim/scenarios", name), "utf8"));
/** Each board's feed as its card holds it: author and message texts by depth. */
async function cards(dir: string, sc: Scenario) {
  const out = new Map<string, { author: string; messages: string[] }>();
  for (const b of sc.boards) {
    const feeds = readCard(await openImage(join(dir, b.name + ".img")));
    expect(feeds.length).toBe(1);
    expect(feeds[0].bad).toEqual([]);
    out.set(b.name, feeds[0]);
  }
  return out;
}
const held = (s: Store, author: string) => {
  const texts: string[] = [];
  s.each(author, (t, d) => (texts[d] = t));
  return texts;
};

describe("a fleet of 20 boards, 3 stations and 3 mules over 60 days", () => {
  const dir = join(tmp, "fleet"),
    sc = scenario("fleet.json");
  let r: FleetResult;
  beforeAll(async () => {
    r = await runFleet(sc, dir);
  }, 600000);

  it("is the scenario the issue asks for", () => {
    expect(sc.boards.length).toBe(20);
    expect(sc.mules.length).toBe(3);
    expect(sc.days).toBe(60);
  });

  it("converges: every station ends with every reading of every feed it follows, as the board wrote it", async () => {
    const card = await cards(dir, sc);
    for (const b of sc.boards)
      expect(card.get(b.name)!.messages.length).toBe((60 * 86400) / b.interval!);
    for (const st of sc.stations) {
      const s = new Store(join(dir, st.name));
      for (const b of st.follows) {
        const c = card.get(b)!;
        expect(s.ranges(c.author)).toEqual([[0, c.messages.length - 1]]);
        expect(held(s, c.author)).toEqual(c.messages);
      }
      expect(s.forks()).toEqual([]);
    }
    expect(r.untrue).toEqual([]);
    for (const c of Object.values(r.converged)) expect(c.missing).toBe(0);
  });

  it("reports delays, bytes per visit and a picture", () => {
    for (const st of sc.stations)
      for (const b of st.follows) {
        const d = r.feeds.find((f) => f.name === b)!.held[st.name].delays!;
        expect(d.median).toBeGreaterThan(0);
        expect(d.max).toBeGreaterThanOrEqual(d.median);
      }
    // a visit to a board only m1 visits carries what the board wrote since m1's last visit there
    const m1 = sc.mules[0],
      b = m1.route[1],
      at = r.visits.filter((v) => v.mule === m1.name && v.node === b);
    expect(sc.mules.filter((m) => m.route.includes(b)).length).toBe(1);
    const times = r.written[r.feeds.find((f) => f.name === b)!.author];
    expect(at.length).toBeGreaterThan(2);
    at.forEach((v, i) =>
      expect(v.messages).toBe(writtenBy(times, v.t) - (i ? writtenBy(times, at[i - 1].t) : 0))
    );
    expect(at.reduce((n, v) => n + v.messages, 0)).toBe(times.length);
    const text = formatReport(r),
      svg = fleetSvg(r);
    expect(text).toMatch(/base {5}10 feeds, every message/);
    expect(svg.startsWith("<svg")).toBe(true);
    expect((svg.match(/<rect /g) ?? []).length).toBeGreaterThan(r.timeline.length * 60);
  });
});

describe("adversaries", () => {
  const sc = scenario("adversaries.json"),
    dir = join(tmp, "adv");
  let r: FleetResult, card: Awaited<ReturnType<typeof cards>>;
  beforeAll(async () => {
    r = await runFleet(sc, dir);
    card = await cards(dir, sc);
  }, 300000);
  const stations = () => sc.stations.map((s) => new Store(join(dir, s.name)));
  const nodes = () => [...sc.stations, ...sc.mules].map((n) => new Store(join(dir, n.name)));
  const written = () => new Set([...card.values()].flatMap((c) => c.messages));

  it("nobody accepts altered or forged data: every message any node holds is one its author wrote, a board or a store (its receipts)", () => {
    const all = written(),
      own = new Map(nodes().map((s) => [s.identity(), s]));
    let n = 0,
      receipts = 0;
    for (const s of nodes())
      for (const a of s.authors())
        s.each(a, (t, d) => {
          if (own.has(a)) (expect(own.get(a)!.text(a, d)).toBe(t), receipts++);
          else expect(all.has(t)).toBe(true);
          n++;
        });
    expect(receipts).toBeGreaterThan(0);
    expect(n).toBeGreaterThan(receipts);
    expect(r.untrue).toEqual([]);
  });

  it("receipts: every station's chain is what it holds; the delays its receipts give are the simulation's; a mule that drops messages shows", () => {
    expect(sc.receipts).toBe(true);
    for (const st of sc.stations) {
      const x = r.receipts![st.name],
        s = new Store(join(dir, st.name)),
        mine: Receipt[] = [];
      expect(x.chain).toEqual({ problems: 0, unnamed: 0, notHeld: 0 });
      s.each(s.identity(), (t) => {
        const rc = readReceipt(t);
        if (rc !== null) mine.push(rc as Receipt);
      });
      // per feed followed: the arrival time a receipt gives each depth, against when the board wrote it
      for (const b of st.follows) {
        const f = r.feeds.find((g) => g.name === b)!,
          delays: number[] = [];
        for (const rc of mine.filter((y) => y.feed === f.author))
          for (const [lo, hi] of receiptDepths(rc))
            for (let d = lo; d <= hi; d++) delays.push(rc.t - r.written[f.author][d]);
        delays.sort((p, q) => p - q);
        expect({ median: delays[delays.length >> 1], max: delays[delays.length - 1] }).toEqual(
          f.held[st.name].delays
        );
      }
      // where the messages came from: the honest mules left nothing out, the others' own receipts give them away
      expect(Object.keys(x.from).sort()).toEqual(
        sc.mules
          .filter((m) => m.route.includes(st.name))
          .map((m) => m.name)
          .sort()
      );
      expect(x.from.dropper.withheld).toBeGreaterThan(0);
      expect(x.from.alterer.withheld).toBeGreaterThan(0); // what it altered was refused
      expect(x.from.forger.withheld).toBe(0); // what it forged came on top
      for (const m of ["honest", "courier"]) expect(x.from[m].holes).toBe(0);
      for (const m of Object.values(x.from)) expect(m.messages).toBeGreaterThan(0);
    }
    expect(formatReport(r)).toMatch(/base {5}receipt chain consistent with what it holds\n/);
    expect(formatReport(r)).toMatch(
      /from dropper +\d+ messages .*; \d+ depths left out, [1-9]\d* of them ones the mule's receipts show it had/
    );
  });

  it("altered and forged messages were handed over and refused for their signature", () => {
    for (const kind of ["alter", "forge"]) {
      const a = r.adversaries.find((x) => x.kind === kind)!;
      expect(a.acts).toBeGreaterThan(0);
      for (const st of sc.stations) expect(a.caught[st.name]).toBeGreaterThan(0);
    }
  });

  it("a forked feed is kept as evidence: both versions are signed by the feed's key, one held, the other in FORKS.PGN", () => {
    const fork = sc.adversaries!.find((a) => a.kind === "fork")! as { node: string; of: string };
    const a = card.get(fork.of)!,
      twin = card.get(fork.node)!;
    expect(twin.author).toBe(a.author);
    expect(twin.messages[5]).not.toBe(a.messages[5]);
    for (const s of stations()) {
      const forks = s.forks().filter((t) => field(t, "author") === a.author);
      expect(forks.length).toBeGreaterThan(0);
      for (const f of forks) {
        expect(Pigeon.refusal(f)).toBe("");
        const d = Number(field(f, "depth"));
        expect([a.messages[d], twin.messages[d]]).toContain(f);
        expect(s.text(a.author, d)).not.toBe(f);
      }
    }
  });

  it("dropping only delays: the stations still end with every message of the feeds they follow, later than without the dropping", async () => {
    expect(r.adversaries.find((x) => x.kind === "drop")!.acts).toBeGreaterThan(0);
    const forked = card.get(
      (sc.adversaries!.find((a) => a.kind === "fork") as { of: string }).of
    )!.author;
    for (const st of sc.stations) {
      const s = new Store(join(dir, st.name));
      for (const b of st.follows) {
        const c = card.get(b)!;
        if (c.author !== forked) expect(held(s, c.author)).toEqual(c.messages);
      }
    }
    // the same scenario with the dropper carrying honestly
    const honest = await runFleet(
      { ...sc, adversaries: sc.adversaries!.filter((a) => a.kind !== "drop") },
      join(tmp, "nodrop")
    );
    let later = 0;
    for (const f of r.feeds)
      for (const st of sc.stations) {
        const a = f.held[st.name].delays!,
          b = honest.feeds.find((g) => g.name === f.name)!.held[st.name].delays!;
        expect(a.median).toBeGreaterThanOrEqual(b.median);
        expect(a.max).toBeGreaterThanOrEqual(b.max);
        if (a.median > b.median) later++;
      }
    expect(later).toBeGreaterThan(0);
    // the same mule carrying honestly leaves nothing out that it had
    for (const st of sc.stations) expect(honest.receipts![st.name].from.dropper.withheld).toBe(0);
  });
});
