// The chain rules of verification, for every reader: every message must parse,
// carry a valid signature and be tied to its author's feed as held: by prev,
// by lipmaa (a certificate path), or as the prev of a held message
// (spec/pigeon.md, section 6). A feed may start above depth 0 in a standalone
// bundle. Blobs must hash to their names.
//
// No Node APIs: `pigeon` (verify.ts, with node:crypto) and the card viewer
// (targets/web/, with the core or WebCrypto) run this same code, each giving
// its own `Checks` for what a single message is.
import { lipmaa, linkedFrom } from "../../src/lipmaa";
import type { BlobFile, Input, Loss, Source } from "./bundle";
import { blobRefs, field } from "./message";

export interface Refusal {
  author: string | null;
  depth: number | null;
  reason: string;
  file: string;
  line: number;
}
export interface Report {
  messages: { accepted: number; refused: number };
  blobs: { accepted: number; refused: number };
  refusals: Refusal[];
  losses: Loss[];
}
/** A report as `pigeon verify --json` prints it (and the viewer's window.pigeonSummary). */
export interface Summary {
  messages: { accepted: number; refused: number };
  blobs: { accepted: number; refused: number };
  refusals: { author: string | null; depth: number | null; reason: string }[];
  /** Present when something could not be read. */
  losses?: Loss[];
}
export const summary = (r: Report): Summary => ({
  messages: r.messages,
  blobs: r.blobs,
  refusals: r.refusals.map(({ author, depth, reason }) => ({ author, depth, reason })),
  ...(r.losses.length ? { losses: r.losses } : {}),
});

/** What a single message or blob is, by the core's rules: the one thing that differs between readers. */
export interface Checks {
  /** "" when the UTF-8 bytes (of text) are a valid message, else why not (the core's reasons). */
  refusal(bytes: Uint8Array, text: string): string;
  /** The message id "%...sha256". */
  id(bytes: Uint8Array, text: string): string;
  lipmaa(depth: number): number | null;
  blobId(bytes: Uint8Array): string;
}

/** What a reader holds of each feed: the ids it has, by depth; a feed may have gaps. */
export interface Holder {
  /** Whether anything of the author's feed is held. */
  known(author: string): boolean;
  /** The id of the held message at depth, if any. */
  idAt(author: string, depth: number): string | undefined;
  /** Whether a message is held at depth: what idAt tells, where that costs less (nothing is read). */
  holds?(author: string, depth: number): boolean;
  /** The prev link of the held message at depth, if it is held. */
  prevAt(author: string, depth: number): string | undefined;
  /** The lipmaa link of the held message at depth ("NONE" or an id), if it is held. */
  lipmaaAt(author: string, depth: number): string | undefined;
  /**
   * Takes an accepted message: "" when it is held, else why this holder cannot
   * keep it (the message is refused, and nothing of it is held). It throws only
   * when the holder itself fails (a disk full): what it took before stays held.
   */
  accept(author: string, depth: number, id: string, text: string): string;
  /** Why nothing of this author is taken (blocked), if so. */
  refuses?(author: string): string | undefined;
  /** Keeps a fork's message as evidence. */
  fork?(author: string, depth: number, text: string): void;
}

export interface HeldFeed {
  author: string;
  ids: Map<number, string>;
  /** prev links of messages held without the one before (the others' are ids held) */
  prevs: Map<number, string>;
  /** lipmaa links of messages held without their target (the others' are ids held, or NONE) */
  lipmaas: Map<number, string>;
  /** The accepted texts by depth (kept only when asked for). */
  texts: Map<number, string>;
  /** Forks' messages, kept as evidence. */
  forks: { depth: number; text: string }[];
}
/** Holds feeds in memory: what `pigeon verify` checks a standalone bundle against; the viewer keeps the texts too. */
export function memoryHolder(keepTexts = false): Holder & { feeds: Map<string, HeldFeed> } {
  const feeds = new Map<string, HeldFeed>();
  return {
    feeds,
    known: (a) => feeds.has(a),
    idAt: (a, d) => feeds.get(a)?.ids.get(d),
    prevAt(a, d) {
      const f = feeds.get(a);
      return f?.ids.has(d) ? (f.prevs.get(d) ?? f.ids.get(d - 1)) : undefined;
    },
    lipmaaAt(a, d) {
      const f = feeds.get(a),
        l = lipmaa(d);
      return f?.ids.has(d) ? (f.lipmaas.get(d) ?? (l === null ? "NONE" : f.ids.get(l))) : undefined;
    },
    accept(a, d, id, text) {
      let f = feeds.get(a);
      if (!f)
        feeds.set(
          a,
          (f = {
            author: a,
            ids: new Map(),
            prevs: new Map(),
            lipmaas: new Map(),
            texts: new Map(),
            forks: [],
          })
        );
      const l = lipmaa(d);
      f.ids.set(d, id);
      if (!f.ids.has(d - 1)) f.prevs.set(d, field(text, "prev")!);
      if (l !== null && !f.ids.has(l)) f.lipmaas.set(d, field(text, "lipmaa")!);
      if (keepTexts) f.texts.set(d, text);
      return "";
    },
    fork(a, d, text) {
      feeds.get(a)?.forks.push({ depth: d, text });
    },
  };
}

/**
 * The author and depth a text names, read by position without parsing it: for
 * a valid message, its own (its first line is the author line, and no other
 * line but the depth line starts with "depth ": keys hold no space).
 */
function claimed(text: string): { author: string; depth: number } | null {
  const d = text.indexOf("\ndepth "),
    end = text.indexOf("\n", d + 7);
  if (!text.startsWith("author ") || d < 0 || end < 0) return null;
  return { author: text.slice(7, text.indexOf("\n")), depth: Number(text.slice(d + 7, end)) };
}

/**
 * Whether a text claims a place where the holder holds a message, of an
 * author it takes: if the text's id is that message's, it is that message
 * (F2), verified when it was taken, and only its id needs checking.
 */
export function claimsHeld(holder: Holder, text: string): boolean {
  const c = claimed(text);
  return (
    !!c &&
    !holder.refuses?.(c.author) &&
    (holder.holds ? holder.holds(c.author, c.depth) : holder.idAt(c.author, c.depth) !== undefined)
  );
}

/** A set of depths as ascending ranges [first, last], flat: a feed met in order costs two numbers. */
class Depths {
  private r: number[] = [];
  /** Adds depth d; false when it was in already. */
  add(d: number): boolean {
    const r = this.r;
    let lo = 0,
      hi = r.length >> 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (r[2 * mid + 1] < d - 1) lo = mid + 1;
      else hi = mid;
    }
    const i = 2 * lo; // the first range that ends at d - 1 or later
    if (i === r.length || r[i] > d + 1) r.splice(i, 0, d, d);
    else if (r[i] <= d && d <= r[i + 1]) return false;
    else if (r[i] === d + 1) r[i] = d;
    else if (i + 2 < r.length && r[i + 2] === d + 1)
      r.splice(i + 1, 2); // d joins two ranges
    else r[i + 1] = d;
    return true;
  }
}

/**
 * Checks every message and blob of an input against what the holder has, in
 * order, giving each accepted message to the holder; returns the report in
 * `pigeon verify --json` form. A feed the holder lacks may start at any depth.
 */
export function verifyInput(
  input: Input,
  checks: Checks,
  holder: Holder = memoryHolder(),
  onBlob?: (id: string, bytes: Uint8Array) => void,
  onProgress?: (messages: number) => void
): Report {
  const v = new Verifier(checks, holder, onBlob);
  let seen = 0;
  for (const m of input.messages) {
    v.message(m);
    if (onProgress && ++seen % 1000 === 0) onProgress(seen);
  }
  for (const path of input.outside ?? []) {
    v.report.blobs.refused++;
    v.report.refusals.push({
      author: null,
      depth: null,
      reason: `${path} leads out of the bundle directory: not read`,
      file: path,
      line: 0,
    });
  }
  v.blobs(input.blobs);
  v.report.losses.push(...(input.losses ?? [])); // whole now that every message was read
  return v.report;
}

/** The same checks, one message at a time (the viewer verifies in slices and reports progress between them). */
export class Verifier {
  report: Report = {
    messages: { accepted: 0, refused: 0 },
    blobs: { accepted: 0, refused: 0 },
    refusals: [],
    losses: [],
  };
  /** Accepted and refused messages by author ("" for text without an author line). */
  byAuthor = new Map<string, { accepted: number; refused: number }>();
  private referenced = new Set<string>();
  /** The depths of each feed counted as accepted: a message the input holds twice counts once. */
  private counted = new Map<string, Depths>();
  private enc = new TextEncoder();

  constructor(
    private checks: Checks,
    private holder: Holder = memoryHolder(),
    private onBlob?: (id: string, bytes: Uint8Array) => void
  ) {}

  private count(author: string | null, what: "accepted" | "refused") {
    let c = this.byAuthor.get(author ?? "");
    if (!c) this.byAuthor.set(author ?? "", (c = { accepted: 0, refused: 0 }));
    c[what]++;
    this.report.messages[what]++;
  }
  private refuse(m: Source, why: string, lineInMessage = 1) {
    const d = field(m.text, "depth"),
      author = field(m.text, "author");
    this.count(author, "refused");
    this.report.refusals.push({
      author,
      depth: d !== null && /^\d+$/.test(d) ? Number(d) : null,
      reason: why,
      file: m.file,
      line: m.line ? m.line + lineInMessage - 1 : 0,
    });
  }

  /** Counts a message held, once however often the input holds it, and notes the blobs it names. */
  private taken(author: string, depth: number, text: string) {
    let seen = this.counted.get(author);
    if (!seen) this.counted.set(author, (seen = new Depths()));
    if (!seen.add(depth)) return;
    this.count(author, "accepted");
    for (const r of blobRefs(text)) this.referenced.add(r);
  }

  /** Checks one message and, when it extends its feed, gives it to the holder. */
  message(m: Source) {
    const { checks, holder } = this;
    const bytes = this.enc.encode(m.text),
      id = checks.id(bytes, m.text);
    // F2 before F1: a text with the id of the message held at the depth it names is that message,
    // byte for byte (an id is SHA-256 of the text), verified when it was taken: known data costs a hash
    const claim = claimed(m.text),
      held = claim && holder.idAt(claim.author, claim.depth);
    if (held === id && !holder.refuses?.(claim!.author)) {
      this.taken(claim!.author, claim!.depth, m.text);
      return;
    }
    const why = checks.refusal(bytes, m.text); // F1: the grammar, M1-M5 and the signature
    if (why) {
      const at = /^line (\d+): /.exec(why);
      this.refuse(m, why, at ? Number(at[1]) : 1);
      return;
    }
    const { author, depth } = claim!; // a valid message's own
    const blocked = holder.refuses?.(author);
    if (blocked) {
      this.refuse(m, blocked);
      return;
    }
    if (held) {
      // F3: another message at a depth held is a fork, kept as evidence
      holder.fork?.(author, depth, m.text);
      this.refuse(m, `fork: a different message at depth ${depth} (kept as evidence)`);
      return;
    }
    // Each link whose target is held must name it, and each held link to m's depth must name m
    // (F4); at least one link, either way, must tie the message to what is held (F5: a certificate
    // path is a chain of such ties), unless it is the feed's first message held or depth 0, which
    // the author's key alone vouches for.
    const prev = field(m.text, "prev"),
      lip = field(m.text, "lipmaa"),
      l = checks.lipmaa(depth);
    const prevHeld = depth > 0 ? holder.idAt(author, depth - 1) : undefined,
      lipHeld = l !== null ? holder.idAt(author, l) : undefined;
    const above = holder.prevAt(author, depth + 1);
    if (prevHeld !== undefined && prev !== prevHeld) {
      // F4, M6
      this.refuse(m, `prev does not name the message at depth ${depth - 1}`, 3);
      return;
    }
    if (lipHeld !== undefined && lip !== lipHeld) {
      // F4, M6
      this.refuse(m, `lipmaa does not name the message at depth ${l}`, 5);
      return;
    }
    if (above !== undefined && above !== id) {
      // F4: the prev of the message held above names another: a fork (F3)
      holder.fork?.(author, depth, m.text);
      this.refuse(
        m,
        `fork: the message held at depth ${depth + 1} names another message as prev (kept as evidence)`
      );
      return;
    }
    let named = above !== undefined;
    for (const n of linkedFrom(depth)) {
      // F4: each held lipmaa link to this depth must name this message
      const link = holder.lipmaaAt(author, n);
      if (link === undefined) continue;
      if (link !== id) {
        holder.fork?.(author, depth, m.text);
        this.refuse(
          m,
          `fork: the message held at depth ${n} names another message as lipmaa (kept as evidence)`
        );
        return;
      }
      named = true;
    }
    if (
      prevHeld === undefined &&
      lipHeld === undefined &&
      !named &&
      depth > 0 &&
      holder.known(author)
    ) {
      // F5
      this.refuse(
        m,
        `depth ${depth} leaves a gap: nothing is held at depth ${depth - 1} (prev)${l !== null ? ` or ${l} (lipmaa)` : ""}, and no certificate path reaches it`
      );
      return;
    }
    let kept: string;
    try {
      kept = holder.accept(author, depth, id, m.text);
    } catch (e) {
      throw new Error(
        `${m.file}${m.line ? ":" + m.line : ""}: ${author} depth ${depth} could not be stored: ${(e as Error).message}; stopped there, and everything taken before it is kept`
      );
    }
    if (kept) {
      this.refuse(m, `not stored: ${kept}`);
      return;
    }
    this.taken(author, depth, m.text);
  }

  /** Checks blob files (after the messages: only blobs an accepted message names are taken; spec/pigeon.md section 5). */
  blobs(list: BlobFile[]) {
    const { report, referenced } = this;
    for (const b of list) {
      const name = "&" + b.path.replace(/[/.]/g, "") + ".sha256",
        id = this.checks.blobId(b.bytes);
      if (id !== name) {
        // section 5: a blob whose bytes do not hash to its path is refused
        report.blobs.refused++;
        report.refusals.push({
          author: null,
          depth: null,
          reason: `blob ${b.path}: its bytes hash to ${id}, not to its name`,
          file: b.path,
          line: 0,
        });
      } else if (referenced.has(id)) {
        report.blobs.accepted++;
        this.onBlob?.(id, b.bytes);
      }
    }
  }
}
