// `pigeon post KIND key=value ... [--file K=PATH] [--strict]`: a message on
// the store's own feed, from the command line. Values are the spec's strings
// (quoted here), ids and NONE as they are; files become blobs named by their
// ids. The format's refusals are the core's, named by the key they concern.
import { readFileSync, statSync } from "node:fs";
import { MAX_BLOB } from "../host/bundle";
import { Pigeon } from "./core";
import type { Store } from "./store";

const ID = /^(@[0-9A-Z]{52}\.ed25519|[%&][0-9A-Z]{52}\.sha256)$/;
/** The first Pigeon client reads at most 7 digits of depth (spec/pigeon.md, section 3.2, informative). */
const FIRST_CLIENT_DEPTHS = 10000000;

/** A value in wire form: NONE and ids as they are, a value already in quotes as it is (so `"NONE"` is a string), anything else quoted. */
export function wireValue(v: string): string {
  return v === "NONE" || ID.test(v) || (v.length > 1 && v[0] === '"' && v[v.length - 1] === '"')
    ? v
    : `"${v}"`;
}

/** A blob from a file: its bytes, at most 360,000 (spec/pigeon.md, section 2.2). */
export function blobFile(path: string): Uint8Array {
  const size = statSync(path).size;
  if (size > MAX_BLOB)
    throw new Error(
      `${path}: ${size} bytes; a blob is at most ${MAX_BLOB.toLocaleString("en-US")} bytes`
    );
  return new Uint8Array(readFileSync(path));
}

/**
 * The core's refusal of a draft ("draft: line N: why"), said of what the
 * user wrote: the kind (line 2) or the body entry on that line (entries
 * start at line 7, one line each unless a value holds a line feed).
 */
function named(why: string, kind: string, body: string[][]): string {
  const m = /^draft: line (\d+): (.*)$/.exec(why);
  if (!m) return why;
  const line = Number(m[1]);
  if (line === 2) return `kind ${kind}: ${m[2]}`;
  let at = 7;
  for (const [k, v] of body) {
    const lines = (k + v).split("\n").length;
    if (line >= at && line < at + lines) return `${k}=${v}: ${m[2]}`;
    at += lines;
  }
  return m[2];
}

/**
 * What the first Pigeon client cannot read in a message at depth d with this
 * body: a string holding ":" (it splits a body line on every ":"), a depth of
 * more than 7 digits. The spec allows both.
 */
export function firstClientTrouble(depth: number, body: string[][]): string[] {
  const out = body
    .filter(([, v]) => v[0] === '"' && v.includes(":"))
    .map(([k, v]) => `${k}=${v}: a string holding ":"`);
  if (depth >= FIRST_CLIENT_DEPTHS) out.push(`depth ${depth}: more than 7 digits`);
  return out;
}

/**
 * Appends a message of this kind to the store's own feed. Its entries, in
 * the order given: "key=value" (split at the first "="), or "--file" then
 * "key=path" (the file is kept as a blob and its id goes under key). With
 * strict, what the first client cannot read is refused; without, it is
 * returned as warnings. Throws, with nothing written, what the format refuses.
 */
export function post(
  store: Store,
  kind: string,
  args: string[],
  strict: boolean
): { text: string; warnings: string[] } {
  const body: string[][] = [],
    blobs: Uint8Array[] = [];
  for (let i = 0; i < args.length; i++) {
    const file = args[i] === "--file",
      e = file ? (args[++i] ?? "") : args[i],
      at = e.indexOf("=");
    if (at < 0) throw new Error(`${e}: expected ${file ? "key=path after --file" : "key=value"}`);
    const k = e.slice(0, at),
      v = e.slice(at + 1);
    if (file) blobs.push(blobFile(v));
    body.push([k, file ? Pigeon.blobId(blobs[blobs.length - 1]) : wireValue(v)]);
  }
  const trouble = firstClientTrouble(store.next(), body);
  if (strict && trouble.length)
    throw new Error(`${trouble.join("; ")}: the first Pigeon client cannot read it (--strict)`);
  try {
    return {
      text: store.post(kind, body, blobs),
      warnings: trouble.map((t) => `${t}: allowed, but the first Pigeon client cannot read it`),
    };
  } catch (e) {
    throw e instanceof Error && e.message.startsWith("draft: ")
      ? new Error(named(e.message, kind, body))
      : e;
  }
}
