// Readings of messages, and their CSV rows: what `pigeon csv`, `pigeon feeds`,
// `pigeon plot` and the card viewer (targets/web/) show. No Node APIs: the
// viewer bundles this module as it is.
import { body, field } from "./message";

export const unquote = (v: string) => (v.startsWith('"') ? v.slice(1, -1) : v);
export const csvCell = (v: string) => (/[",\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v);
/** A reading value a plot can draw. */
export const isNumeric = (v: string) => v !== "" && isFinite(Number(v));

/** Readings of a message: [time, key, value] for each value, times from t (and dt for key.i). */
export function readings(text: string): [number, string, string][] {
  const b = body(text), get = (k: string) => b.find(([x]) => x === k)?.[1];
  const t = Number(unquote(get("t") ?? '""')), dt = Number(unquote(get("dt") ?? '"0"'));
  const out: [number, string, string][] = [];
  for (const [k, v] of b) {
    if (k === "t" || k === "boot" || k === "dt") continue;
    const m = /^(.*)\.(\d+)$/.exec(k);
    out.push(m && get("dt") ? [t + dt * Number(m[2]), m[1], unquote(v)] : [t, k, unquote(v)]);
  }
  return out;
}

export const CSV_HEADER = "feed,depth,time,key,value\n";

/** The CSV rows (each ending in \n) of one held message: none unless it is a reading; only `key` when given. */
export function csvRows(author: string, depth: number, text: string, key?: string): string {
  if (field(text, "kind") !== "reading") return "";
  let out = "";
  for (const [t, k, v] of readings(text)) if (!key || k === key) out += csvRow(author, depth, t, k, v);
  return out;
}
export const csvRow = (author: string, depth: number, t: number, k: string, v: string) => `${author},${depth},${t},${csvCell(k)},${csvCell(v)}\n`;

/** The usual step between sorted times: their median difference (1 when there is none). */
export function usualStep(times: ArrayLike<number>): number {
  const steps: number[] = [];
  for (let i = 1; i < times.length; i++) steps.push(times[i] - times[i - 1]);
  steps.sort((a, b) => a - b);
  return steps[steps.length >> 1] || 1;
}
/** Whether a plot breaks its line between sorted times a and b: readings stopped for more than three usual steps. */
export const isGap = (a: number, b: number, usual: number) => b - a > 3 * usual;
