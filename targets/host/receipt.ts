// Receipts (spec/pigeon.md, section 6.1): after an import, a store signs onto
// its own feed, per feed it took messages of, which depths it took, the id of
// the newest, when, and from whom. A writer's receipts about one feed name
// each depth at most once (R3), so a holder of its feed knows what it holds
// and where each message came from. Writing, reading and checking them; no
// Node APIs.
import { body, field } from "./message";
import { depthRanges, formatRanges, parseRanges } from "./have";

/** A string's content holds at most 128 characters (M1): the gaps a receipt can name. */
const MAX_GAPS = 128;

/** One receipt as read from its message. */
export interface Receipt {
  /** The store that wrote it, and where in its feed. */
  writer: string;
  at: number;
  feed: string;
  first: number;
  last: number;
  /** The depths between first and last not taken in this import (ascending ranges). */
  gaps: [number, number][];
  newest: string;
  /** Unix seconds, the writer's clock at the import. */
  t: number;
  /** The store whose bundle it was (its HAVE.TXT), when the input said. */
  from: string | null;
}

/** The depths in after and not in before (both ascending ranges of what a store holds of a feed; holdings only grow). */
export function taken(before: [number, number][], after: [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  let j = 0;
  for (const [lo, hi] of after)
    for (let d = lo; d <= hi;) {
      while (j < before.length && before[j][1] < d) j++;
      if (j < before.length && before[j][0] <= d) d = before[j][1] + 1;
      else {
        const end = Math.min(hi, j < before.length ? before[j][0] - 1 : hi);
        out.push([d, end]);
        d = end + 1;
      }
    }
  return out;
}

/**
 * The bodies (entries in wire form) of the receipts for the depths taken of
 * a feed (ascending ranges): one, or more when the gaps between them would
 * not fit in one string; each covers a stretch of the ranges (R1).
 */
export function receiptBodies(
  feed: string,
  ranges: [number, number][],
  idAt: (depth: number) => string,
  t: number,
  from?: string
): string[][][] {
  const out: string[][][] = [];
  for (let i = 0; i < ranges.length;) {
    let j = i;
    while (j + 1 < ranges.length && formatRanges(gapsOf(ranges.slice(i, j + 2))).length <= MAX_GAPS)
      j++;
    const first = ranges[i][0],
      last = ranges[j][1],
      gaps = gapsOf(ranges.slice(i, j + 1));
    const b = [
      ["feed", feed],
      ["first", `"${first}"`],
      ["last", `"${last}"`],
    ];
    if (gaps.length) b.push(["gaps", `"${formatRanges(gaps)}"`]);
    b.push(["newest", idAt(last)], ["t", `"${Math.floor(t)}"`]);
    if (from) b.push(["from", from]);
    out.push(b);
    i = j + 1;
  }
  return out;
}
/** The depths between ascending ranges. */
const gapsOf = (r: [number, number][]): [number, number][] =>
  r.slice(1).map(([lo], k) => [r[k][1] + 1, lo - 1]);

const IDENTITY = /^@[0-9A-Z]{52}\.ed25519$/,
  MESSAGE_ID = /^%[0-9A-Z]{52}\.sha256$/,
  NUMBER = /^"(0|[1-9][0-9]{0,15})"$/;

/**
 * A receipt message's fields, or why a message of kind receipt is not one
 * as section 6.1 gives it (its body, and R1); null for another kind.
 */
export function readReceipt(text: string): Receipt | string | null {
  if (field(text, "kind") !== "receipt") return null;
  const e = new Map(body(text).map(([k, v]): [string, string] => [k, v])),
    keys = [...e.keys()].join(",");
  if (!/^feed,first,last,(gaps,)?newest,t(,from)?$/.test(keys))
    return `a receipt's keys are feed, first, last, [gaps,] newest, t[, from], not ${keys}`;
  const feed = e.get("feed")!,
    newest = e.get("newest")!,
    from = e.get("from") ?? null;
  if (!IDENTITY.test(feed) || !MESSAGE_ID.test(newest) || (from !== null && !IDENTITY.test(from)))
    return "feed and from are identities, newest a message id";
  if (![e.get("first"), e.get("last"), e.get("t")].every((v) => NUMBER.test(v!)))
    return "first, last and t are decimal numbers in quotes";
  const n = (k: string) => Number(e.get(k)!.slice(1, -1)),
    first = n("first"),
    last = n("last");
  const gaps = e.has("gaps") ? parseRanges(e.get("gaps")!.slice(1, -1)) : [];
  // R1: gaps ascend, lie inside first..last, and neither touch one another nor the ends
  if (
    first > last ||
    !gaps ||
    gaps.some(([lo, hi], k) => lo <= (k ? gaps[k - 1][1] + 1 : first) || hi >= last)
  )
    return `depths ${first}..${last} with gaps ${e.get("gaps") ?? "none"}: not a stretch of taken depths (R1)`;
  return {
    writer: field(text, "author")!,
    at: Number(field(text, "depth")),
    feed,
    first,
    last,
    gaps,
    newest,
    t: n("t"),
    from,
  };
}

/** The depths a receipt says were taken, as ascending ranges. */
export function receiptDepths(r: Receipt): [number, number][] {
  const out: [number, number][] = [];
  let d = r.first;
  for (const [lo, hi] of r.gaps) (out.push([d, lo - 1]), (d = hi + 1));
  out.push([d, r.last]);
  return out;
}

/**
 * What is wrong with one writer's receipts about one feed (in the writer's
 * depth order) against what a reader holds of that feed: a receipt naming
 * another message at its last depth than the one held (R2: a fork, or a
 * false receipt), a depth named twice (R3). Depths held that no receipt
 * names, and depths named that are not held, are returned apart: a store
 * whose every import wrote receipts has neither of its own feeds.
 */
export function checkReceipts(
  receipts: Receipt[],
  held: [number, number][],
  idAt: (depth: number) => string | undefined
) {
  const problems: string[] = [],
    named: [number, number][] = [];
  for (const r of receipts) {
    const id = idAt(r.last);
    if (id !== undefined && id !== r.newest)
      problems.push(`receipt ${r.at}: depth ${r.last} is ${id} here, not ${r.newest} (R2)`);
    for (const [lo, hi] of receiptDepths(r)) {
      if (named.some(([a, b]) => a <= hi && lo <= b))
        problems.push(`receipt ${r.at}: depths ${lo}..${hi} named before (R3)`);
      named.push([lo, hi]);
    }
  }
  const all = depthRanges(named);
  return { problems, unnamed: taken(all, held), notHeld: taken(held, all) };
}
