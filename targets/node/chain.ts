// The chain rules of verification, for every reader: every message must parse,
// carry a valid signature and extend its author's feed (next depth; prev and
// lipmaa name the messages held at those depths). A feed may start above
// depth 0 in a standalone bundle. Blobs must hash to their names.
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
export interface Report {
  messages: { accepted: number; refused: number };
  blobs: { accepted: number; refused: number };
  refusals: Refusal[];
}
/** A report as `pigeon verify --json` prints it (and the viewer's window.pigeonSummary). */
export interface Summary {
  messages: { accepted: number; refused: number };
  blobs: { accepted: number; refused: number };
  refusals: { author: string | null; depth: number | null; reason: string }[];
}
export const summary = (r: Report): Summary => ({
  messages: r.messages,
  blobs: r.blobs,
  refusals: r.refusals.map(({ author, depth, reason }) => ({ author, depth, reason })),
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

/** What a reader holds of each feed: where it goes on, and the ids it has. */
export interface Holder {
  /** The next depth of the author's feed, or undefined when nothing of it is held. */
  next(author: string): number | undefined;
  /** Where the held part starts. */
  start(author: string): number;
  /** The id of the held message at depth, if any. */
  idAt(author: string, depth: number): string | undefined;
  /** Takes an accepted message. */
  accept(author: string, depth: number, id: string, text: string): void;
  /** Keeps a fork's message as evidence. */
  fork?(author: string, depth: number, text: string): void;
}

export interface HeldFeed {
  author: string;
  start: number;
  next: number;
  ids: Map<number, string>;
  /** The accepted texts in depth order (kept only when asked for). */
  texts: string[];
  /** Forks' messages, kept as evidence. */
  forks: { depth: number; text: string }[];
}
/** Holds feeds in memory: what `pigeon verify` checks a standalone bundle against; the viewer keeps the texts too. */
export function memoryHolder(keepTexts = false): Holder & { feeds: Map<string, HeldFeed> } {
  const feeds = new Map<string, HeldFeed>();
  return {
    feeds,
    next: (a) => feeds.get(a)?.next,
    start: (a) => feeds.get(a)?.start ?? 0,
    idAt: (a, d) => feeds.get(a)?.ids.get(d),
    accept(a, d, id, text) {
      let f = feeds.get(a);
      if (!f) feeds.set(a, (f = { author: a, start: d, next: d, ids: new Map(), texts: [], forks: [] }));
      f.ids.set(d, id);
      f.next = d + 1;
      if (keepTexts) f.texts.push(text);
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
export function verify(input: Input, checks: Checks, holder: Holder = memoryHolder(), onBlob?: (id: string, bytes: Uint8Array) => void): Report {
  const v = new Verifier(checks, holder, onBlob);
  for (const m of input.messages) v.message(m);
  v.blobs(input.blobs);
  return v.report;
}

/** The same checks, one message at a time (the viewer verifies in slices and reports progress between them). */
export class Verifier {
  report: Report = { messages: { accepted: 0, refused: 0 }, blobs: { accepted: 0, refused: 0 }, refusals: [] };
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
    const next = holder.next(author) ?? depth, start = holder.next(author) === undefined ? depth : holder.start(author);
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
    if (depth !== next) {
      this.refuse(m, depth > next ? `depth ${depth} leaves a gap after ${next - 1}` : `depth ${depth} is below where this feed starts (${start})`);
      return;
    }
    const prev = field(m.text, "prev"), lip = field(m.text, "lipmaa"), l = checks.lipmaa(depth);
    if (depth > start && prev !== holder.idAt(author, depth - 1)) {
      this.refuse(m, `prev does not name the message at depth ${depth - 1}`, 3);
      return;
    }
    if (l !== null && l >= start && lip !== holder.idAt(author, l)) {
      this.refuse(m, `lipmaa does not name the message at depth ${l}`, 5);
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
