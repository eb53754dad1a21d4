// What a peer holds (spec/pigeon.md, section 5.1, HAVE.TXT): parse, format,
// merge, and from which depth to send a feed. Every bundle the tool writes
// carries HAVE.TXT: the writer's identity and, per feed, the depths it holds.
// A have-file's claims only ever narrow an export (H2): a peer that claims too
// little gets messages it already has, which its import ignores. No Node APIs.

/** The depths held of each feed, first..last. */
export type Holdings = Map<string, { first: number; last: number }>;

const IDENTITY = /^@[0-9A-Z]{52}\.ed25519$/,
  DEPTH = /^(0|[1-9][0-9]{0,15})$/;

export function formatHave(who: string, held: Holdings): string {
  let out = `have ${who}\n`;
  for (const [author, { first, last }] of held) out += `${author} ${first} ${last}\n`;
  return out;
}

/** Reads a have-file (the grammar of section 5.1, and H1); errors name the file, the line and what is wrong. */
export function parseHave(text: string, file: string): { who: string; held: Holdings } {
  const lines = text.split("\n"),
    held: Holdings = new Map();
  if (lines[lines.length - 1] !== "")
    throw new Error(`${file}:${lines.length}: a have-file ends with a line feed`);
  const head = /^have (.*)$/.exec(lines[0]);
  if (!head || !IDENTITY.test(head[1]))
    throw new Error(`${file}:1: expected "have @<identity>.ed25519"`);
  for (let i = 1; i < lines.length - 1; i++) {
    const f = lines[i].split(" ");
    // held-line, and H1: the first depth at most the last
    if (
      f.length !== 3 ||
      !IDENTITY.test(f[0]) ||
      !DEPTH.test(f[1]) ||
      !DEPTH.test(f[2]) ||
      Number(f[1]) > Number(f[2])
    )
      throw new Error(
        `${file}:${i + 1}: expected "@<identity>.ed25519 <first depth> <last depth>"`
      );
    if (held.has(f[0])) throw new Error(`${file}:${i + 1}: ${f[0]} is listed twice`); // H1
    held.set(f[0], { first: Number(f[1]), last: Number(f[2]) });
  }
  return { who: head[1], held };
}

/** What two reports of a peer's holdings say together: per feed, the most it is known to hold. */
export function mergeHave(a: Holdings, b: Holdings): Holdings {
  const out: Holdings = new Map(a);
  for (const [author, h] of b) {
    const o = out.get(author);
    out.set(author, !o || h.last > o.last ? h : o);
  }
  return out;
}

/**
 * The depth from which to send a feed we hold from..to to a peer holding
 * `peer` of it: everything when it holds nothing; above its last depth when
 * our part reaches there; nothing when it holds all we have or when a gap
 * would lie between (the peer could not check what we sent: H2, F5).
 */
export function sendFrom(
  ours: { first: number; next: number },
  peer?: { first: number; last: number }
): number | undefined {
  if (!peer) return ours.first;
  if (peer.last + 1 >= ours.next || ours.first > peer.last + 1) return undefined;
  return peer.last + 1;
}

/** The depths held as ascending ranges first..last, from ranges in any order ([d, d] for one depth); ranges that touch are one. */
export function depthRanges(parts: Iterable<[number, number]>): [number, number][] {
  const out: [number, number][] = [];
  for (const [a, b] of [...parts].sort((x, y) => x[0] - y[0])) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Ascending ranges as text: "0..35,40,42..50" (a range of one depth as the depth alone). */
export const formatRanges = (ranges: [number, number][]) =>
  ranges.map(([a, b]) => (a === b ? `${a}` : `${a}..${b}`)).join(",");

/** formatRanges' text read back, or null when it is not in that form (a depth alone, or first..last with first < last). */
export function parseRanges(text: string): [number, number][] | null {
  const out: [number, number][] = [];
  for (const part of text.split(",")) {
    const m = /^(0|[1-9][0-9]{0,15})(?:\.\.(0|[1-9][0-9]{0,15}))?$/.exec(part);
    if (!m) return null;
    const a = Number(m[1]),
      b = m[2] === undefined ? a : Number(m[2]);
    if (m[2] !== undefined && a >= b) return null;
    out.push([a, b]);
  }
  return out;
}
