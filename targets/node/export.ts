// `pigeon export`: a bundle of the feeds a store passes on, each from where
// the peer's holdings (HAVE.TXT, spec/pigeon.md section 5.1) say it lacks.
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  renameSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { certificatePath } from "../../src/lipmaa";
import { blobPath } from "../../src/log";
import { blobRefs } from "../host/message";
import { formatHave, sendFrom, type Holdings } from "../host/have";
import type { Store } from "./store";

/** The feeds `pigeon export` passes on: the store's own and those it follows (all: every feed held), never a blocked one. */
export function feedsToExport(store: Store, all: boolean): string[] {
  const me = store.identity(),
    blocks = store.list("BLOCKS.TXT"),
    follows = store.list("FOLLOWS.TXT");
  return store.authors().filter((a) => !blocks.has(a) && (all || a === me || follows.has(a)));
}

/**
 * Writes a bundle (messages.pgn, the blobs its messages name, HAVE.TXT) of the
 * given feeds, each from where the peer's holdings say it lacks. With latest,
 * only a feed's newest messages go, after their certificate path down to what
 * the peer holds (or to depth 0), so the peer can check them without the
 * history between. Messages are written as they are read, a feed at a time.
 */
export function exportBundle(
  store: Store,
  dir: string,
  feeds: string[],
  peer: Holdings | undefined,
  latest?: number,
  tick?: (messages: number, fraction: number) => void
) {
  const plan: { author: string; path: number[]; from: number; top: number }[] = [];
  for (const author of feeds) {
    const ranges = store.ranges(author);
    if (!ranges.length) continue;
    const top = ranges[ranges.length - 1][1],
      theirs = peer?.get(author);
    let from = sendFrom({ first: ranges[0][0], next: top + 1 }, theirs),
      path: number[] = [];
    if (latest !== undefined && from !== undefined && from <= top - latest) {
      // the newest messages, where they lie in one run, and a path down to the peer's last depth or to 0
      from = Math.max(top - latest + 1, ranges[ranges.length - 1][0]);
      const anchor = theirs && theirs.last < from ? theirs.last : 0;
      path = certificatePath(from, anchor).slice(1).reverse();
      if (theirs && theirs.last < from) path.shift(); // the peer holds the anchor
    }
    if (from !== undefined) plan.push({ author, path, from, top });
  }
  const total = plan.reduce((n, p) => n + p.path.length + p.top - p.from + 1, 0),
    blobs = new Set<string>();
  mkdirSync(dir, { recursive: true });
  const pgn = join(dir, "messages.pgn"),
    fd = openSync(pgn + ".NEW", "w");
  let n = 0,
    chunk: string[] = [];
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
    const name = blobPath(b.slice(1, 53)),
      from = join(store.dir, name),
      to = join(dir, name.slice(2)); // B/ in a store, at the top of a bundle
    if (!existsSync(from)) continue;
    mkdirSync(join(to, ".."), { recursive: true });
    copyFileSync(from, to);
    copied++;
  }
  writeFileSync(join(dir, "HAVE.TXT"), formatHave(store.identity(), store.holdings()));
  return { messages: n, blobs: copied, feeds: plan.length };
}
