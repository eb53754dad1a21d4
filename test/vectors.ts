// The known-answer data: test/vectors/, made by scripts/vectors.mjs (see test/vectors/README.md).
// readVectors() also reads a set of the same shape elsewhere (test/shared-vectors.test.ts).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

export const VECTORS = resolve(__dirname, "vectors");

export interface VectorMessage {
  depth: number;
  id: string;
  lipmaa_depth: number | null;
  text: string;
}
export interface VectorFeed {
  name: string;
  seed_hex: string;
  public_key_hex: string;
  author: string;
  messages: VectorMessage[];
}
export interface VectorSet {
  feeds: VectorFeed[];
  blobs: { id: string; path: string; content_hex: string }[];
  base32: { bytes_hex: string; text: string }[];
  lipmaa: Record<string, number | null>;
}
/** An invalid message and why; rule (this project's set only) names what refuses it: grammar, M1..M5 or 2.3.1..2.3.4. */
export interface InvalidMessage {
  why: string;
  rule?: string;
  text: string;
}

/** vectors.json and invalid.json of a vectors directory. */
export function readVectors(dir: string): { vectors: VectorSet; invalid: InvalidMessage[] } {
  return {
    vectors: JSON.parse(readFileSync(resolve(dir, "vectors.json"), "utf8")),
    invalid: JSON.parse(readFileSync(resolve(dir, "invalid.json"), "utf8")),
  };
}
export const { vectors, invalid } = readVectors(VECTORS);
/** Messages with unusual keys or signatures that a reader accepts (ed25519-edge.json). */
export const edgeMessages: { why: string; text: string; id: string }[] = JSON.parse(
  readFileSync(resolve(VECTORS, "ed25519-edge.json"), "utf8")
).messages;

export const hex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));

/** The draft a message text was signed from (a test-side reading, independent of the core's parser). */
export function draftOf(text: string) {
  const [head, body] = text.split("\n\n");
  const h: Record<string, string> = {};
  for (const l of head.split("\n")) h[l.slice(0, l.indexOf(" "))] = l.slice(l.indexOf(" ") + 1);
  return {
    kind: h.kind,
    prev: h.prev,
    depth: Number(h.depth),
    lipmaa: h.lipmaa,
    body: body.split("\n").map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)]),
  };
}
