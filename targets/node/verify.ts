// Verification of what a reader brings in: every message must parse, carry a
// valid signature and extend its author's feed (next depth; prev and lipmaa
// name the messages held at those depths). A feed may start above depth 0 in
// a standalone bundle. Blobs must hash to their names.
import { join } from "node:path";
import type { Input, Source } from "./reader";
import { projectRoot } from "./root";

// the core as every engine runs it: the device bundle
// eslint-disable-next-line @typescript-eslint/no-var-requires
export const Pigeon = require(join(projectRoot(), "dist", "pigeon.js"));

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

interface Feed {
  start: number;
  next: number;
  ids: Map<number, string>;
}

const field = (text: string, name: string) => new RegExp(`^${name} (.*)$`, "m").exec(text)?.[1] ?? null;

/** Checks every message and blob of an input; returns the report in `pigeon verify --json` form. */
export function verify(input: Input): Report {
  const report: Report = { messages: { accepted: 0, refused: 0 }, blobs: { accepted: 0, refused: 0 }, refusals: [] };
  const feeds = new Map<string, Feed>(), referenced = new Set<string>();
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
  for (const m of input.messages) {
    const why: string = Pigeon.refusal(m.text);
    if (why) {
      const at = /^line (\d+): /.exec(why);
      refuse(m, why, at ? Number(at[1]) : 1);
      continue;
    }
    const author = field(m.text, "author")!, depth = Number(field(m.text, "depth")), id: string = Pigeon.id(m.text);
    let feed = feeds.get(author);
    if (!feed) feeds.set(author, (feed = { start: depth, next: depth, ids: new Map() }));
    const held = feed.ids.get(depth);
    if (held === id) {
      report.messages.accepted++; // the same message again: nothing new
      continue;
    }
    if (held) {
      refuse(m, `fork: a different message at depth ${depth} (kept as evidence)`);
      continue;
    }
    if (depth !== feed.next) {
      refuse(m, depth > feed.next ? `depth ${depth} leaves a gap after ${feed.next - 1}` : `depth ${depth} is below where this feed starts (${feed.start})`);
      continue;
    }
    const prev = field(m.text, "prev"), lip = field(m.text, "lipmaa"), l: number | null = Pigeon.lipmaa(depth);
    if (depth > feed.start && prev !== feed.ids.get(depth - 1)) {
      refuse(m, `prev does not name the message at depth ${depth - 1}`, 3);
      continue;
    }
    if (l !== null && l >= feed.start && lip !== feed.ids.get(l)) {
      refuse(m, `lipmaa does not name the message at depth ${l}`, 5);
      continue;
    }
    feed.ids.set(depth, id);
    feed.next = depth + 1;
    report.messages.accepted++;
    for (const line of m.text.split("\n\n")[1].split("\n")) {
      const k = line.slice(0, line.indexOf(":")), v = line.slice(line.indexOf(":") + 1);
      for (const x of [k, v]) if (/^&[0-9A-Z]{52}\.sha256$/.test(x)) referenced.add(x);
    }
  }
  for (const b of input.blobs) {
    const name = "&" + b.path.replace(/[/.]/g, "") + ".sha256", id: string = Pigeon.blobId(new Uint8Array(b.bytes));
    if (id !== name) {
      report.blobs.refused++;
      report.refusals.push({ author: null, depth: null, reason: `blob ${b.path}: its bytes hash to ${id}, not to its name`, file: b.path, line: 0 });
    } else if (referenced.has(id)) report.blobs.accepted++;
  }
  return report;
}
