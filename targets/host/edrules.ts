// The core's rules around Ed25519, for readers that hand the signature itself
// to a faster verifier (node:crypto in `pigeon`, WebCrypto in the card viewer):
// the core's parser checks the text, then its extra rules for keys (canonical
// y, not of small order: checked with noble, once per key) and signatures
// (S < L). What passes them is the same question for OpenSSL, BoringSSL and
// the core: does [S]B = R + [k]A, compared as encodings. No Node APIs.
import * as ed from "@noble/ed25519";

const ALPHA = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const VAL = new Int8Array(128).fill(-1);
for (let i = 0; i < 32; i++) VAL[ALPHA.charCodeAt(i)] = i;

/** base32 of b[p..p+n) (already checked by the parser) into `bytes` bytes. */
export function b32bytes(b: Uint8Array, p: number, n: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let acc = 0, bits = 0, k = 0;
  for (let i = 0; i < n; i++) {
    acc = ((acc & 255) << 5) | VAL[b[p + i]];
    bits += 5;
    if (bits >= 8) out[k++] = acc >> (bits -= 8);
  }
  return out;
}
/** The 32 bytes of 52 base32 characters into out[o..]. */
export function b32decodeInto(s: string, out: Uint8Array, o: number) {
  let acc = 0, bits = 0;
  for (let i = 0; i < s.length; i++) {
    acc = ((acc & 255) << 5) | VAL[s.charCodeAt(i)];
    bits += 5;
    if (bits >= 8) out[o++] = acc >> (bits -= 8);
  }
}

const L = [0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10];
export function sBelowL(sig: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) if (sig[32 + i] !== L[i]) return sig[32 + i] < L[i];
  return false;
}
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
export function precheck(core: { parse(b: Uint8Array, p: number, n: number): string; at: { author: number; sig: number; unsigned: number } }, bytes: Uint8Array, allowed: (a: Uint8Array) => boolean = keyAllowed): string | Pending {
  const r: string = core.parse(bytes, 0, bytes.length);
  if (r) return r;
  const at = core.at, key = b32bytes(bytes, at.author, 52, 32), sig = b32bytes(bytes, at.sig, 103, 64);
  if (!allowed(key) || !sBelowL(sig)) return "signature does not verify";
  return { unsigned: bytes.subarray(0, at.unsigned), key, sig };
}
