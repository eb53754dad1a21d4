// Verification of what a reader brings in: every message must parse, carry a
// valid signature and be tied to its author's feed as held: by prev, by
// lipmaa (a certificate path), or as the prev of a held message (spec/pigeon.md,
// section 6). A feed may start above depth 0 in a standalone bundle. Blobs must
// hash to their names.
import { Pigeon } from "./core";
import { idOf, refusalOf } from "./fastverify";
import type { Input, Source } from "./reader";

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

/** Holds feeds in memory: what `pigeon verify` checks a standalone bundle against. */
export function memoryHolder(): Holder {
  // ids by depth; prev links only of messages held without the one before (the rest are ids held)
  const feeds = new Map<string, { ids: Map<number, string>; prevs: Map<number, string> }>();
  return {
    known: (a) => feeds.has(a),
    idAt: (a, d) => feeds.get(a)?.ids.get(d),
    prevAt(a, d) {
      const f = feeds.get(a);
      return f?.ids.has(d) ? (f.prevs.get(d) ?? f.ids.get(d - 1)) : undefined;
    },
    accept(a, d, id, text) {
      let f = feeds.get(a);
      if (!f) feeds.set(a, (f = { ids: new Map(), prevs: new Map() }));
      f.ids.set(d, id);
      if (!f.ids.has(d - 1)) f.prevs.set(d, field(text, "prev")!);
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
export function verify(input: Input, holder: Holder = memoryHolder(), onBlob?: (id: string, bytes: Buffer) => void, onProgress?: (messages: number) => void): Report {
  const report: Report = { messages: { accepted: 0, refused: 0 }, blobs: { accepted: 0, refused: 0 }, refusals: [] };
  const referenced = new Set<string>();
  const refuse = (m: Source, why: string, lineInMessage = 1) => {
    const d = field(m.text, "depth");
    report.messages.refused++;
    report.refusals.push({
      author: field(m.text, "author"),
      depth: d !== null && /^\d+$/.test(d) ? Number(d) : null,
      reason: why,
      file: m.file,
      line: m.line ? m.line + lineInMessage - 1 : 0,
    });
  };
  let seen = 0;
  for (const m of input.messages) {
    if (onProgress && ++seen % 1000 === 0) onProgress(seen);
    const bytes = new Uint8Array(Buffer.from(m.text, "utf8"));
    const why = refusalOf(bytes);
    if (why) {
      const at = /^line (\d+): /.exec(why);
      refuse(m, why, at ? Number(at[1]) : 1);
      continue;
    }
    const author = field(m.text, "author")!, depth = Number(field(m.text, "depth")), id = idOf(bytes);
    const blocked = holder.refuses?.(author);
    if (blocked) {
      refuse(m, blocked);
      continue;
    }
    const held = holder.idAt(author, depth);
    if (held === id) {
      report.messages.accepted++; // the same message again: nothing new
      for (const r of blobRefs(m.text)) referenced.add(r);
      continue;
    }
    if (held) {
      holder.fork?.(author, depth, m.text);
      refuse(m, `fork: a different message at depth ${depth} (kept as evidence)`);
      continue;
    }
    // Each link whose target is held must name it; at least one link, either way, must tie the
    // message to what is held (a certificate path is a chain of such ties), unless it is the
    // feed's first message held or depth 0, which the author's key alone vouches for.
    const prev = field(m.text, "prev"), lip = field(m.text, "lipmaa"), l: number | null = Pigeon.lipmaa(depth);
    const prevHeld = depth > 0 ? holder.idAt(author, depth - 1) : undefined, lipHeld = l !== null ? holder.idAt(author, l) : undefined;
    const above = holder.prevAt(author, depth + 1);
    if (prevHeld !== undefined && prev !== prevHeld) {
      refuse(m, `prev does not name the message at depth ${depth - 1}`, 3);
      continue;
    }
    if (lipHeld !== undefined && lip !== lipHeld) {
      refuse(m, `lipmaa does not name the message at depth ${l}`, 5);
      continue;
    }
    if (above !== undefined && above !== id) {
      holder.fork?.(author, depth, m.text);
      refuse(m, `fork: the message held at depth ${depth + 1} names another message as prev (kept as evidence)`);
      continue;
    }
    if (prevHeld === undefined && lipHeld === undefined && above === undefined && depth > 0 && holder.known(author)) {
      refuse(m, `depth ${depth} leaves a gap: nothing is held at depth ${depth - 1} (prev)${l !== null ? ` or ${l} (lipmaa)` : ""}, and no certificate path reaches it`);
      continue;
    }
    holder.accept(author, depth, id, m.text);
    report.messages.accepted++;
    for (const r of blobRefs(m.text)) referenced.add(r);
  }
  for (const path of input.outside ?? []) {
    report.blobs.refused++;
    report.refusals.push({ author: null, depth: null, reason: `${path} leads out of the bundle directory: not read`, file: path, line: 0 });
  }
  for (const b of input.blobs) {
    const name = "&" + b.path.replace(/[/.]/g, "") + ".sha256", id: string = Pigeon.blobId(new Uint8Array(b.bytes));
    if (id !== name) {
      report.blobs.refused++;
      report.refusals.push({ author: null, depth: null, reason: `blob ${b.path}: its bytes hash to ${id}, not to its name`, file: b.path, line: 0 });
    } else if (referenced.has(id)) {
      report.blobs.accepted++;
      onBlob?.(id, b.bytes);
    }
  }
  return report;
}
