// The shared known-answer data, read from ../shared/vectors (never copied).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

export const SHARED = resolve(__dirname, "../../shared");
export const VECTORS = resolve(SHARED, "vectors");

export interface VectorMessage { depth: number; id: string; lipmaa_depth: number | null; text: string }
export interface VectorFeed { name: string; seed_hex: string; public_key_hex: string; author: string; messages: VectorMessage[] }
export const vectors: {
  feeds: VectorFeed[];
  blobs: { id: string; path: string; content_hex: string }[];
  base32: { bytes_hex: string; text: string }[];
  lipmaa: Record<string, number | null>;
} = JSON.parse(readFileSync(resolve(VECTORS, "vectors.json"), "utf8"));
export const invalid: { why: string; text: string }[] = JSON.parse(readFileSync(resolve(VECTORS, "invalid.json"), "utf8"));

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
