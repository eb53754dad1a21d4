// What a peer holds, and what to carry to it. Every bundle the tool writes
// carries HAVE.TXT: the writer's identity and, per feed, the depths it holds.
// A store that imports such a bundle remembers it under P/, so the next
// `export --for @peer` sends only what that peer lacks (spec/pigeon.md,
// section 5.1). A have-file's claims only ever narrow an export: a peer that
// claims too little gets messages it already has, which its import ignores.
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { blobPath } from "../../src/card";
import { certificatePath } from "../../src/lipmaa";
import type { Store } from "./store";
import { blobRefs } from "./verify";

/** The depths held of each feed, first..last. */
export type Holdings = Map<string, { first: number; last: number }>;

const IDENTITY = /^@[0-9A-Z]{52}\.ed25519$/, DEPTH = /^(0|[1-9][0-9]{0,15})$/;

export function formatHave(who: string, held: Holdings): string {
  let out = `have ${who}\n`;
  for (const [author, { first, last }] of held) out += `${author} ${first} ${last}\n`;
  return out;
}

/** Reads a have-file; errors name the file, the line and what is wrong. */
export function parseHave(text: string, file: string): { who: string; held: Holdings } {
  const lines = text.split("\n"), held: Holdings = new Map();
  if (lines[lines.length - 1] !== "") throw new Error(`${file}:${lines.length}: a have-file ends with a line feed`);
  const head = /^have (.*)$/.exec(lines[0]);
  if (!head || !IDENTITY.test(head[1])) throw new Error(`${file}:1: expected "have @<identity>.ed25519"`);
  for (let i = 1; i < lines.length - 1; i++) {
    const f = lines[i].split(" ");
    if (f.length !== 3 || !IDENTITY.test(f[0]) || !DEPTH.test(f[1]) || !DEPTH.test(f[2]) || Number(f[1]) > Number(f[2]))
      throw new Error(`${file}:${i + 1}: expected "@<identity>.ed25519 <first depth> <last depth>"`);
    if (held.has(f[0])) throw new Error(`${file}:${i + 1}: ${f[0]} is listed twice`);
    held.set(f[0], { first: Number(f[1]), last: Number(f[2]) });
  }
  return { who: head[1], held };
}

export const readHave = (path: string) => parseHave(readFileSync(path, "utf8"), path);

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
 * would lie between (the peer could not check what we sent).
 */
export function sendFrom(ours: { first: number; next: number }, peer?: { first: number; last: number }): number | undefined {
  if (!peer) return ours.first;
  if (peer.last + 1 >= ours.next || ours.first > peer.last + 1) return undefined;
  return peer.last + 1;
}

/**
 * Writes a bundle (messages.pgn, the blobs its messages name, HAVE.TXT) of the
 * given feeds, each from where the peer's holdings say it lacks. With latest,
 * only a feed's newest messages go, after their certificate path down to what
 * the peer holds (or to depth 0), so the peer can check them without the
 * history between. Messages are written as they are read, a feed at a time.
 */
export function exportBundle(store: Store, dir: string, feeds: string[], peer: Holdings | undefined, latest?: number, tick?: (messages: number, fraction: number) => void) {
  const plan: { author: string; path: number[]; from: number; top: number }[] = [];
  for (const author of feeds) {
    const ranges = store.ranges(author);
    if (!ranges.length) continue;
    const top = ranges[ranges.length - 1][1], theirs = peer?.get(author);
    let from = sendFrom({ first: ranges[0][0], next: top + 1 }, theirs), path: number[] = [];
    if (latest !== undefined && from !== undefined && from <= top - latest) {
      // the newest messages, where they lie in one run, and a path down to the peer's last depth or to 0
      from = Math.max(top - latest + 1, ranges[ranges.length - 1][0]);
      const anchor = theirs && theirs.last < from ? theirs.last : 0;
      path = certificatePath(from, anchor).slice(1).reverse();
      if (theirs && theirs.last < from) path.shift(); // the peer holds the anchor
    }
    if (from !== undefined) plan.push({ author, path, from, top });
  }
  const total = plan.reduce((n, p) => n + p.path.length + p.top - p.from + 1, 0), blobs = new Set<string>();
  mkdirSync(dir, { recursive: true });
  const pgn = join(dir, "messages.pgn"), fd = openSync(pgn + ".NEW", "w");
  let n = 0, chunk: string[] = [];
  const flush = () => (writeSync(fd, chunk.join("")), (chunk = []));
  const put = (text: string) => {
    chunk.push((n ? "\n\n" : "") + text);
    for (const b of blobRefs(text)) blobs.add(b);
    if (++n % 1000 === 0) (flush(), tick?.(n, n / total));
  };
  try {
    for (const { author, path, from } of plan) {
      for (const d of path) {
        const t = store.text(author, d);
        if (t !== undefined) put(t); // a depth this store lacks: the peer refuses what hangs on it, and says why
      }
      store.each(author, put, from);
    }
    if (n) chunk.push("\n");
    flush();
  } finally {
    closeSync(fd);
  }
  renameSync(pgn + ".NEW", pgn);
  let copied = 0;
  for (const b of blobs) {
    const name = blobPath(b.slice(1, 53)), from = join(store.dir, name), to = join(dir, name.slice(2)); // B/ in a store, at the top of a bundle
    if (!existsSync(from)) continue;
    mkdirSync(join(to, ".."), { recursive: true });
    copyFileSync(from, to);
    copied++;
  }
  writeFileSync(join(dir, "HAVE.TXT"), formatHave(store.identity(), store.holdings()));
  return { messages: n, blobs: copied, feeds: plan.length };
}
