// The fleet simulation's report as text, and its picture as SVG: one row per
// feed and node that came to hold any of it, colored by the fraction of the
// feed's messages written so far that the node holds, over the days.
import type { FleetResult } from "./fleet";

const DAY = 86400;
const days = (s: number) => (s / DAY).toFixed(1) + " d";
const kb = (b: number) => (b / 1024).toFixed(1) + " KiB";
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
/** Messages a feed had written by time t (its times ascend with depth). */
export function writtenBy(times: number[], t: number): number {
  let lo = 0,
    hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
/** What a node held of a feed at time t, from its change points. */
const heldAt = (steps: [number, number][], t: number) => {
  let k = 0;
  for (const [at, n] of steps) if (at <= t) k = n;
  return k;
};

export function formatReport(r: FleetResult): string {
  const sc = r.scenario,
    out: string[] = [];
  out.push(
    `fleet: ${sc.boards.length} boards, ${sc.stations.length} stations, ${sc.mules.length} mules; ${sc.days} days of readings (${r.appends} messages), mules until day ${((r.end - sc.start) / DAY + (sc.settle ?? 2 * Math.max(...sc.mules.map((m) => m.every)))).toFixed(0)}; ${r.wallSeconds.toFixed(1)} s wall time`
  );
  out.push(
    "",
    "what each node holds at the end (depths), and the delay from reading to arrival (median / max):"
  );
  for (const f of r.feeds) {
    out.push(`  ${f.name} ${f.author.slice(0, 9)}… ${f.messages} messages`);
    for (const [node, h] of Object.entries(f.held))
      out.push(
        `    ${node.padEnd(8)} ${h.ranges
          .map(([a, b]) => (a === b ? `${a}` : `${a}..${b}`))
          .join(",")
          .padEnd(14)} ${h.delays ? `${days(h.delays.median)} / ${days(h.delays.max)}` : ""}`
      );
  }
  out.push("", "followers: what each station lacks at the end of the feeds it follows:");
  const forked = r.adversaries.some((a) => a.kind === "fork")
    ? " (a forked feed not counted: see adversaries)"
    : "";
  for (const [node, c] of Object.entries(r.converged))
    out.push(
      `  ${node.padEnd(8)} ${c.follows.length} feeds, ${c.missing ? `${c.missing} messages missing` : "every message"}${forked}`
    );
  out.push(
    "",
    "bytes carried per mule visit (messages taken at a board; bundles both ways at a station):"
  );
  for (const m of sc.mules) {
    for (const kind of ["board", "station"] as const) {
      const v = r.visits.filter(
        (x) => x.mule === m.name && sc.boards.some((b) => b.name === x.node) === (kind === "board")
      );
      if (!v.length) continue;
      const bytes = v.map((x) => x.bytes);
      out.push(
        `  ${m.name.padEnd(8)} ${String(v.length).padStart(4)} ${kind} visits: median ${kb(median(bytes))}, max ${kb(Math.max(...bytes))}, total ${kb(bytes.reduce((a, b) => a + b, 0))}`
      );
    }
  }
  if (r.adversaries.length) {
    out.push("", "adversaries:");
    for (const a of r.adversaries) {
      const seen = Object.entries(a.kind === "fork" ? a.forksKept : a.caught)
        .map(([n, k]) => `${n} ${k}`)
        .join(", ");
      if (a.kind === "fork")
        out.push(`  ${a.node} forks its feed: fork messages kept as evidence: ${seen}`);
      else if (a.kind === "drop")
        out.push(
          `  ${a.node} dropped ${a.acts} messages from its bundles: delivered later (see the followers above)`
        );
      else
        out.push(
          `  ${a.node} ${a.kind === "alter" ? "altered" : "forged"} ${a.acts} messages: refused for their signature by ${seen || "nobody (never handed over)"}`
        );
    }
  }
  if (r.receipts) {
    out.push(
      "",
      "receipts: where each station's messages came from and how late (median / max), from its own receipts alone:"
    );
    for (const [node, x] of Object.entries(r.receipts)) {
      const c = x.chain,
        ok = !c.problems && !c.unnamed && !c.notHeld;
      out.push(
        `  ${node.padEnd(8)} receipt chain ${ok ? "consistent with what it holds" : `${c.problems} problems, ${c.unnamed} depths held without a receipt, ${c.notHeld} named but not held`}`
      );
      for (const [source, f] of Object.entries(x.from))
        out.push(
          `    from ${source.padEnd(8)} ${String(f.messages).padStart(6)} messages ${f.delays ? `${days(f.delays.median)} / ${days(f.delays.max)}` : ""}${f.holes ? `; ${f.holes} depths left out, ${f.withheld} of them ones the mule's receipts show it had (dropped or spoiled on the way)` : ""}`
        );
    }
  }
  out.push(
    `messages held that their author did not write (altered or forged data taken): ${r.untrue.length}`
  );
  return out.join("\n") + "\n";
}

/** Replication over time: rows feed x node, columns sample times, colored by the fraction held of what was written. */
export function fleetSvg(r: FleetResult): string {
  const sc = r.scenario,
    step = (sc.sampleHours ?? 24) * 3600,
    t1 = Math.max(...r.visits.map((v) => v.t), r.end);
  const cols = Math.ceil((t1 - sc.start) / step),
    rows = r.timeline;
  const L = 150,
    T = 40,
    R = 20,
    B = 50,
    cw = Math.max(4, Math.min(12, Math.floor(900 / cols))),
    rh = 8;
  const W = L + cols * cw + R,
    H = T + rows.length * rh + B;
  const color = (f: number) =>
    f <= 0 ? "#f4f4f4" : `hsl(${Math.round(10 + 110 * f)},70%,${Math.round(75 - 30 * f)}%)`;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="10">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="16" font-size="13">replication: fraction of each feed's messages (written so far) held by each node, per ${step / 3600} h</text>`,
  ];
  let feed = "";
  rows.forEach((row, i) => {
    const y = T + i * rh,
      times = r.written[r.feeds.find((f) => f.name === row.feed)!.author];
    if (row.feed !== feed) {
      feed = row.feed;
      out.push(`<line x1="0" x2="${W - R}" y1="${y}" y2="${y}" stroke="#999" stroke-width="0.5"/>`);
    }
    out.push(
      `<text x="${L - 4}" y="${y + rh - 1}" text-anchor="end" font-size="8">${esc(row.feed)} @ ${esc(row.node)}</text>`
    );
    for (let c = 0; c < cols; c++) {
      const t = sc.start + (c + 1) * step,
        w = writtenBy(times, t);
      out.push(
        `<rect x="${L + c * cw}" y="${y}" width="${cw}" height="${rh - 1}" fill="${color(w ? heldAt(row.steps, t) / w : 0)}"/>`
      );
    }
  });
  const yb = T + rows.length * rh;
  for (let d = 0; d * DAY <= t1 - sc.start; d += 10)
    out.push(
      `<text x="${L + ((d * DAY) / step) * cw}" y="${yb + 14}" text-anchor="middle">day ${d}</text>`
    );
  const xe = L + ((r.end - sc.start) / step) * cw;
  out.push(
    `<line x1="${xe}" x2="${xe}" y1="${T}" y2="${yb}" stroke="#333" stroke-dasharray="3 2"/><text x="${xe + 3}" y="${T - 4}">boards stop</text>`
  );
  [0, 0.25, 0.5, 0.75, 1].forEach((f, i) =>
    out.push(
      `<rect x="${L + i * 70}" y="${yb + 24}" width="12" height="10" fill="${color(f)}" stroke="#ccc"/><text x="${L + i * 70 + 16}" y="${yb + 33}">${f * 100}% held</text>`
    )
  );
  out.push("</svg>\n");
  return out.join("\n");
}
