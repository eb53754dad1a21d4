// The chain rules of verification, for every reader: every message must parse,
// carry a valid signature and be tied to its author's feed as held: by prev,
// by lipmaa (a certificate path), or as the prev of a held message
// (spec/pigeon.md, section 6). A feed may start above depth 0 in a standalone
// bundle. Blobs must hash to their names.
//
// No Node APIs: `pigeon` (verify.ts, with node:crypto) and the card viewer
// (targets/web/, with the core or WebCrypto) run this same code, each giving
// its own `Checks` for what a single message is.
import type { BlobFile, Input, Source } from "./input";

export interface Refusal {
  author: string | null;
  depth: number | null;
  reason: string;
  file: string;
  line: number;
}
/** What a reader could not read (spec/card.md, "What readers report"): its messages are lost to this reading. */
export interface Loss {
  /** The file: a log, a blob, a messages.pgn, a directory, the image. */
  file: string;
  /** The log's page where it was lost, when it is one page. */
  page: number | null;
  /** The depths lost, first..last, where the log tells them (last null: to the log's end, which was not read). */
  depths: [number, number | null] | null;
  reason: string;
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
  /** The prev link of the held message at depth, if it is held. */
  prevAt(author: string, depth: number): string | undefined;
  /** Takes an accepted message. */
  accept(author: string, depth: number, id: string, text: string): void;
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
  /** The accepted texts by depth (kept only when asked for). */
  texts: Map<number, string>;
  /** Forks' messages, kept as evidence. */
  forks: { depth: number; text: string }[];
}
/** The depths held, as ascending ranges first..last. */
export function heldRanges(depths: Iterable<number>): [number, number][] {
  const out: [number, number][] = [];
  for (const d of [...depths].sort((a, b) => a - b)) {
    const last = out[out.length - 1];
    if (last && d === last[1] + 1) last[1] = d;
    else out.push([d, d]);
  }
  return out;
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
    accept(a, d, id, text) {
      let f = feeds.get(a);
      if (!f) feeds.set(a, (f = { author: a, ids: new Map(), prevs: new Map(), texts: new Map(), forks: [] }));
      f.ids.set(d, id);
      if (!f.ids.has(d - 1)) f.prevs.set(d, field(text, "prev")!);
      if (keepTexts) f.texts.set(d, text);
    },
    fork(a, d, text) {
      feeds.get(a)?.forks.push({ depth: d, text });
    },
  };
}

const field = (text: string, name: string) => new RegExp(`^${name} (.*)$`, "m").exec(text)?.[1] ?? null;

/** The blob ids a message names (as a whole key or value). */
export function blobRefs(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n\n")[1].split("\n")) {
    const k = line.slice(0, line.indexOf(":")), v = line.slice(line.indexOf(":") + 1);
    for (const x of [k, v]) if (/^&[0-9A-Z]{52}\.sha256$/.test(x)) out.push(x);
  }
  return out;
}

/**
 * Checks every message and blob of an input against what the holder has, in
 * order, giving each accepted message to the holder; returns the report in
 * `pigeon verify --json` form. A feed the holder lacks may start at any depth.
 */
export function verify(input: Input, checks: Checks, holder: Holder = memoryHolder(), onBlob?: (id: string, bytes: Uint8Array) => void, onProgress?: (messages: number) => void): Report {
  const v = new Verifier(checks, holder, onBlob);
  let seen = 0;
  for (const m of input.messages) {
    v.message(m);
    if (onProgress && ++seen % 1000 === 0) onProgress(seen);
  }
  for (const path of input.outside ?? []) {
    v.report.blobs.refused++;
    v.report.refusals.push({ author: null, depth: null, reason: `${path} leads out of the bundle directory: not read`, file: path, line: 0 });
  }
  v.blobs(input.blobs);
  v.report.losses.push(...(input.losses ?? [])); // whole now that every message was read
  return v.report;
}

/** The same checks, one message at a time (the viewer verifies in slices and reports progress between them). */
export class Verifier {
  report: Report = { messages: { accepted: 0, refused: 0 }, blobs: { accepted: 0, refused: 0 }, refusals: [], losses: [] };
  /** Accepted and refused messages by author ("" for text without an author line). */
  byAuthor = new Map<string, { accepted: number; refused: number }>();
  private referenced = new Set<string>();
  private enc = new TextEncoder();

  constructor(private checks: Checks, private holder: Holder = memoryHolder(), private onBlob?: (id: string, bytes: Uint8Array) => void) {}

  private count(author: string | null, what: "accepted" | "refused") {
    let c = this.byAuthor.get(author ?? "");
    if (!c) this.byAuthor.set(author ?? "", (c = { accepted: 0, refused: 0 }));
    c[what]++;
    this.report.messages[what]++;
  }
  private refuse(m: Source, why: string, lineInMessage = 1) {
    const d = field(m.text, "depth"), author = field(m.text, "author");
    this.count(author, "refused");
    this.report.refusals.push({
      author,
      depth: d !== null && /^\d+$/.test(d) ? Number(d) : null,
      reason: why,
      file: m.file,
      line: m.line ? m.line + lineInMessage - 1 : 0,
    });
  }

  /** Checks one message and, when it extends its feed, gives it to the holder. */
  message(m: Source) {
    const { checks, holder, referenced } = this;
    const bytes = this.enc.encode(m.text);
    const why = checks.refusal(bytes, m.text);
    if (why) {
      const at = /^line (\d+): /.exec(why);
      this.refuse(m, why, at ? Number(at[1]) : 1);
      return;
    }
    const author = field(m.text, "author")!, depth = Number(field(m.text, "depth")), id = checks.id(bytes, m.text);
    const blocked = holder.refuses?.(author);
    if (blocked) {
      this.refuse(m, blocked);
      return;
    }
    const held = holder.idAt(author, depth);
    if (held === id) {
      this.count(author, "accepted"); // the same message again: nothing new
      for (const r of blobRefs(m.text)) referenced.add(r);
      return;
    }
    if (held) {
      holder.fork?.(author, depth, m.text);
      this.refuse(m, `fork: a different message at depth ${depth} (kept as evidence)`);
      return;
    }
    // Each link whose target is held must name it; at least one link, either way, must tie the
    // message to what is held (a certificate path is a chain of such ties), unless it is the
    // feed's first message held or depth 0, which the author's key alone vouches for.
    const prev = field(m.text, "prev"), lip = field(m.text, "lipmaa"), l = checks.lipmaa(depth);
    const prevHeld = depth > 0 ? holder.idAt(author, depth - 1) : undefined, lipHeld = l !== null ? holder.idAt(author, l) : undefined;
    const above = holder.prevAt(author, depth + 1);
    if (prevHeld !== undefined && prev !== prevHeld) {
      this.refuse(m, `prev does not name the message at depth ${depth - 1}`, 3);
      return;
    }
    if (lipHeld !== undefined && lip !== lipHeld) {
      this.refuse(m, `lipmaa does not name the message at depth ${l}`, 5);
      return;
    }
    if (above !== undefined && above !== id) {
      holder.fork?.(author, depth, m.text);
      this.refuse(m, `fork: the message held at depth ${depth + 1} names another message as prev (kept as evidence)`);
      return;
    }
    if (prevHeld === undefined && lipHeld === undefined && above === undefined && depth > 0 && holder.known(author)) {
      this.refuse(m, `depth ${depth} leaves a gap: nothing is held at depth ${depth - 1} (prev)${l !== null ? ` or ${l} (lipmaa)` : ""}, and no certificate path reaches it`);
      return;
    }
    holder.accept(author, depth, id, m.text);
    this.count(author, "accepted");
    for (const r of blobRefs(m.text)) referenced.add(r);
  }

  /** Checks blob files (after the messages: only blobs an accepted message names are taken). */
  blobs(list: BlobFile[]) {
    const { report, referenced } = this;
    for (const b of list) {
      const name = "&" + b.path.replace(/[/.]/g, "") + ".sha256", id = this.checks.blobId(b.bytes);
      if (id !== name) {
        report.blobs.refused++;
        report.refusals.push({ author: null, depth: null, reason: `blob ${b.path}: its bytes hash to ${id}, not to its name`, file: b.path, line: 0 });
      } else if (referenced.has(id)) {
        report.blobs.accepted++;
        this.onBlob?.(id, b.bytes);
      }
    }
  }
}
