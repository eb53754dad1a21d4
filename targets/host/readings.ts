// Readings of messages, their CSV rows (one per value, or one per time with a
// column per key) and InfluxDB lines: what `pigeon csv`, `pigeon lines`,
// `pigeon feeds`, `pigeon plot` and the card viewer (targets/web/) show. No
// Node APIs: the viewer bundles this module as it is.
import { body, field } from "./message";

export const unquote = (v: string) => (v.startsWith('"') ? v.slice(1, -1) : v);
export const csvCell = (v: string) => (/[",\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v);
/** A reading value a plot can draw. */
export const isNumeric = (v: string) => v !== "" && isFinite(Number(v));

/** Readings of a message: [time, key, value] for each value, times from t (and dt for key.i). */
export function readings(text: string): [number, string, string][] {
  const b = body(text),
    get = (k: string) => b.find(([x]) => x === k)?.[1];
  const t = Number(unquote(get("t") ?? '""')),
    dt = Number(unquote(get("dt") ?? '"0"'));
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
  for (const [t, k, v] of readings(text))
    if (!key || k === key) out += csvRow(author, depth, t, k, v);
  return out;
}
export const csvRow = (author: string, depth: number, t: number, k: string, v: string) =>
  `${author},${depth},${t},${csvCell(k)},${csvCell(v)}\n`;

/**
 * The readings of one message at each of its times, in time order: a group
 * per time, [key, value] in the message's order (a key met twice at one time
 * opens another group). Only `key` when given; readings without a time are
 * left out (nothing can place them).
 */
export function byTime(text: string, key?: string): [number, [string, string][]][] {
  const out: [number, [string, string][]][] = [];
  const sorted = readings(text)
    .filter(([t, k]) => isFinite(t) && (!key || k === key))
    .sort((a, b) => a[0] - b[0]); // stable: the message's order at each time
  for (const [t, k, v] of sorted) {
    const last = out[out.length - 1];
    if (last && last[0] === t && !last[1].some(([x]) => x === k)) last[1].push([k, v]);
    else out.push([t, [[k, v]]]);
  }
  return out;
}

/**
 * Rows of readings, one per time of a series (a feed, or a feed and a kind):
 * the groups of byTime as the messages are read in depth order, a group at
 * the time of the row before it (of the same series, without its keys)
 * joining that row. Only the row being filled is kept, so a store of any size
 * streams through it; end() gives the last one.
 */
export class TimeRows {
  private series = "";
  private t = NaN;
  private values: [string, string][] = [];
  constructor(private row: (series: string, t: number, values: [string, string][]) => void) {}
  add(series: string, text: string, key?: string) {
    for (const [t, values] of byTime(text, key)) {
      if (
        series !== this.series ||
        t !== this.t ||
        values.some(([k]) => this.values.some(([x]) => x === k))
      )
        (this.end(), (this.series = series), (this.t = t));
      this.values.push(...values);
    }
  }
  end() {
    if (this.values.length) this.row(this.series, this.t, this.values);
    this.values = [];
  }
}

/** The header of `pigeon csv --wide`: feed, time and a column per key. */
export const wideHeader = (keys: string[]) =>
  ["feed", "time", ...keys].map(csvCell).join(",") + "\n";
/** A row of `pigeon csv --wide`: its values under their keys' columns, empty where it has none. */
export function wideRow(
  feed: string,
  t: number,
  values: [string, string][],
  column: Map<string, number>
): string {
  const cells = new Array<string>(column.size).fill("");
  for (const [k, v] of values) cells[column.get(k)!] = csvCell(v);
  return `${feed},${t},${cells.join(",")}\n`;
}

// InfluxDB's line protocol: `measurement,tag=value field=value,... nanoseconds`. Escapes as its
// reference gives them: a backslash before a comma or space in a measurement; before a comma,
// "=" or space in a tag key, tag value or field key; before '"' or a backslash in a string value.
const lpName = (s: string) => s.replace(/[, ]/g, "\\$&");
const lpKey = (s: string) => s.replace(/[,= ]/g, "\\$&");
/** A number as the protocol's float: decimal, an optional fraction and exponent (no "i": an integer would fix the field's type). */
const DECIMAL = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
/** A value as a field value: a decimal number as a float, anything else a quoted string. */
export const lpValue = (v: string) =>
  DECIMAL.test(v) && isFinite(Number(v))
    ? String(Number(v))
    : '"' + v.replace(/["\\]/g, "\\$&") + '"';
/**
 * Unix seconds as the protocol's nanoseconds, exact to the microsecond (the
 * float seconds of a reading carry no more: 2^-22 s at today's times).
 */
export function lpTime(t: number): string {
  const us = Math.round(t * 1e6);
  return us === 0 ? "0" : `${us}000`;
}
/** One line: the kind as measurement, the feed as the tag "feed", the values as fields, the time. */
export const lpLine = (kind: string, feed: string, t: number, values: [string, string][]) =>
  `${lpName(kind)},feed=${lpKey(feed)} ${values.map(([k, v]) => lpKey(k) + "=" + lpValue(v)).join(",")} ${lpTime(t)}\n`;

/** The usual step between sorted times: their median difference (1 when there is none). */
export function usualStep(times: ArrayLike<number>): number {
  const steps: number[] = [];
  for (let i = 1; i < times.length; i++) steps.push(times[i] - times[i - 1]);
  steps.sort((a, b) => a - b);
  return steps[steps.length >> 1] || 1;
}
/** Whether a plot breaks its line between sorted times a and b: readings stopped for more than three usual steps. */
export const isGap = (a: number, b: number, usual: number) => b - a > 3 * usual;
