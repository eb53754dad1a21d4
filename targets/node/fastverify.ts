// Host-side verification at node:crypto's speed, giving the same verdicts as
// the core: the core's parser checks the text, then the core's extra rules
// for keys (canonical y, no small order, via noble, once per author) and
// signatures (S < L) are applied before OpenSSL's Ed25519 verify, which
// compares encodings as the core does. test/fastverify.test.ts holds them equal.
import { createHash, createPublicKey, verify as edVerify, type KeyObject } from "node:crypto";
import * as ed from "@noble/ed25519";
import { b32encode } from "../../src/base32";
import { Pigeon } from "./core";

const ALPHA = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const VAL = new Int8Array(128).fill(-1);
for (let i = 0; i < 32; i++) VAL[ALPHA.charCodeAt(i)] = i;

/** base32 of text[p..p+n) (already checked by the parser) into bytes. */
function b32(b: Uint8Array, p: number, n: number, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let acc = 0, bits = 0, k = 0;
  for (let i = 0; i < n; i++) {
    acc = ((acc & 255) << 5) | VAL[b[p + i]];
    bits += 5;
    if (bits >= 8) out[k++] = acc >> (bits -= 8);
  }
  return out;
}
/** The 32 bytes of 52 base32 characters into out[o..]. */
export function b32decodeInto(s: string, out: Buffer, o: number) {
  let acc = 0, bits = 0;
  for (let i = 0; i < s.length; i++) {
    acc = ((acc & 255) << 5) | VAL[s.charCodeAt(i)];
    bits += 5;
    if (bits >= 8) out[o++] = acc >> (bits -= 8);
  }
}

const L = Buffer.from("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010", "hex");
const SPKI = Buffer.from("302a300506032b6570032100", "hex");
const keys = new Map<string, KeyObject | null>();

/** The key for a 32-byte public key, or null when the core refuses it (not canonical, or of small order). */
function key(a: Buffer): KeyObject | null {
  const hex = a.toString("hex");
  let k = keys.get(hex);
  if (k === undefined) {
    try {
      k = ed.Point.fromBytes(a, false).isSmallOrder() ? null : createPublicKey({ key: Buffer.concat([SPKI, a]), format: "der", type: "spki" });
    } catch {
      k = null;
    }
    if (keys.size > 10000) keys.clear();
    keys.set(hex, k);
  }
  return k;
}
function sBelowL(sig: Buffer): boolean {
  for (let i = 31; i >= 0; i--) if (sig[32 + i] !== L[i]) return sig[32 + i] < L[i];
  return false;
}

/** "" when the UTF-8 bytes are a valid message, else the reason: the core's verdict, at node:crypto's speed. */
export function refusalOf(bytes: Uint8Array): string {
  const r: string = Pigeon.parse(bytes, 0, bytes.length);
  if (r) return r;
  const at = Pigeon.at, a = b32(bytes, at.author, 52, 32), sig = b32(bytes, at.sig, 103, 64), k = key(a);
  if (!k || !sBelowL(sig)) return "signature does not verify";
  return edVerify(null, bytes.subarray(0, at.unsigned), k, sig) ? "" : "signature does not verify";
}
/** The message id of the UTF-8 bytes, hashed by node:crypto. */
export function idOf(bytes: Uint8Array): string {
  const d = createHash("sha256").update(bytes).digest();
  return "%" + b32encode(d, 0, 32) + ".sha256";
}
