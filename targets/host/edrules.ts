// The core's rules around Ed25519, for readers that hand the signature itself
// to a faster verifier (node:crypto in `pigeon`, WebCrypto in the card viewer):
// the core's parser checks the text, then its extra rules for keys (canonical
// y, not of small order: checked with noble, once per key) and signatures
// (S < L). What passes them is the same question for OpenSSL, BoringSSL and
// the core: does [S]B = R + [k]A, compared as encodings. No Node APIs.
import * as ed from "@noble/ed25519";
import { b32decode } from "../../src/base32";

/** Whether the core takes a 32-byte public key: a canonical encoding of a point not of small order. */
export function keyAllowed(a: Uint8Array): boolean {
  try {
    return !ed.Point.fromBytes(a, false).isSmallOrder();
  } catch {
    return false;
  }
}

/** What is left to check of a message the core's rules pass: the Ed25519 equation itself. */
export interface Pending {
  /** The signed bytes (the unsigned text). */
  unsigned: Uint8Array;
  key: Uint8Array;
  sig: Uint8Array;
}
/**
 * The core's verdict on everything but the equation: a reason (a string) when
 * the message is refused before it, else what the equation needs. `core` is the
 * device bundle (Pigeon); `allowed` caches keyAllowed by key.
 */
export function precheck(
  core: {
    parse(b: Uint8Array, p: number, n: number): string;
    at: { author: number; sig: number; unsigned: number };
    sBelowL(sig: Uint8Array, q: number): boolean;
  },
  bytes: Uint8Array,
  allowed: (a: Uint8Array) => boolean = keyAllowed
): string | Pending {
  const r: string = core.parse(bytes, 0, bytes.length);
  if (r) return r;
  const at = core.at,
    key = new Uint8Array(32),
    sig = new Uint8Array(64);
  b32decode(bytes, at.author, 52, key); // the parser checked both spellings
  b32decode(bytes, at.sig, 103, sig);
  if (!allowed(key) || !core.sBelowL(sig, 0)) return "signature does not verify";
  return { unsigned: bytes.subarray(0, at.unsigned), key, sig };
}
