// A numeric reading over time as a standalone SVG: axes with ticks, one line
// per feed, and a break in the line where readings stop for more than three
// of their usual intervals (a gap in time stays a gap).
import { isGap, usualStep } from "../host/readings";

const W = 900,
  H = 420,
  L = 70,
  R = 20,
  T = 30,
  B = 50;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"];

function ticks(lo: number, hi: number, n: number): number[] {
  const span = hi - lo || 1,
    step0 = span / n,
    mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= n) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

export function svgPlot(
  key: string,
  series: { author: string; points: [number, number][] }[]
): string {
  const all = series.flatMap((s) => s.points);
  let t0 = Math.min(...all.map((p) => p[0])),
    t1 = Math.max(...all.map((p) => p[0]));
  let v0 = Math.min(...all.map((p) => p[1])),
    v1 = Math.max(...all.map((p) => p[1]));
  if (t1 === t0) ((t0 -= 1), (t1 += 1));
  if (v1 === v0) ((v0 -= 1), (v1 += 1));
  const x = (t: number) => L + ((t - t0) / (t1 - t0)) * (W - L - R),
    y = (v: number) => H - B - ((v - v0) / (v1 - v0)) * (H - T - B);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="18" font-size="14">${esc(key)}</text>`,
    `<path d="M${L} ${T}V${H - B}H${W - R}" fill="none" stroke="#333"/>`,
  ];
  for (const v of ticks(v0, v1, 6))
    out.push(
      `<line x1="${L - 4}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/><text x="${L - 8}" y="${y(v) + 4}" text-anchor="end">${v}</text>`
    );
  for (const t of ticks(t0, t1, 6))
    out.push(
      `<text x="${x(t)}" y="${H - B + 18}" text-anchor="middle">${new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ")}</text>`
    );
  series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    const usual = usualStep(pts.map((p) => p[0]));
    let d = "";
    pts.forEach(
      (p, j) =>
        (d += `${j && !isGap(pts[j - 1][0], p[0], usual) ? "L" : "M"}${x(p[0]).toFixed(1)} ${y(p[1]).toFixed(1)}`)
    );
    out.push(
      `<path d="${d}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.5"><title>${esc(s.author)}</title></path>`
    );
    out.push(
      `<text x="${W - R}" y="${T + 14 * i}" text-anchor="end" fill="${COLORS[i % COLORS.length]}">${esc(s.author.slice(0, 12))}…</text>`
    );
  });
  out.push("</svg>\n");
  return out.join("\n");
}
