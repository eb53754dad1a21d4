// What the viewer's page and its worker say to each other.
import type { Refusal, Summary } from "../host/chain";

export interface Request {
  /** "core": the core checks every signature; "auto": WebCrypto's Ed25519 where the browser has it (same verdicts). */
  engine: "auto" | "core";
  /** The picked files; a directory's files are named "<dir>/<path inside it>". */
  files: { path: string; file: File }[];
}
export interface FeedResult {
  author: string;
  /** Depths held, as ascending ranges first..last (a feed brought by certificate paths has gaps). */
  ranges: [number, number][];
  accepted: number;
  refused: number;
  refusals: Refusal[];
  forks: { depth: number; id: string; text: string }[];
  /** Reading times (s since 1970) of the first and last reading. */
  first: number | null;
  last: number | null;
  /** The readings, one entry per value, column by column; key indexes `keys`. */
  keys: string[];
  depth: number[];
  time: number[];
  key: number[];
  value: string[];
}
export type Result = {
  type: "done";
  engine: "core" | "webcrypto";
  summary: Summary;
  /** Refusals that name no feed (text without an author, blobs). */
  unattributed: Refusal[];
  blobs: { accepted: number; refused: number };
  feeds: FeedResult[];
  ms: { read: number; verify: number; total: number };
};
export type Progress = { type: "progress"; done: number; total: number; engine: string };
export type Failure = { type: "error"; message: string };
