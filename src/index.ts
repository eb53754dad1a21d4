// The device bundle's surface: global Pigeon (and module.exports).
import { b32encode } from "./base32";
import { keypair, sBelowL, signBytes, verifySignature } from "./ed25519";
import { lipmaa } from "./lipmaa";
import { at, author, Draft, parse, signature, unsigned } from "./message";
import { sha256 } from "./sha256";
import { enc, encode } from "./utf8";

var key = new Uint8Array(96), sig = new Uint8Array(64), digest = new Uint8Array(32);
var keySeed = new Uint8Array(32), keyValid = false;

/** The expanded key (96 bytes) for a 32-byte seed; keep it to sign without deriving the key each time. */
export function keys(seed: Uint8Array): Uint8Array {
  return keypair(seed);
}
function expanded(k: Uint8Array): Uint8Array {
  var i;
  if (k.length == 96) return k;
  if (k.length != 32) throw new Error("seed must be 32 bytes");
  for (i = 0; i < 32 && keySeed[i] == k[i]; i++);
  if (i < 32 || !keyValid) {
    keypair(k, key);
    keySeed.set(k);
    keyValid = true;
  }
  return key;
}
/** "@<52>.ed25519" for a seed or an expanded key. */
export function identity(k: Uint8Array): string {
  return "@" + b32encode(expanded(k), 64, 32) + ".ed25519";
}
/**
 * The whole signed message text for a draft {kind, prev, depth, lipmaa, body}.
 * It leaves the text's bytes in enc and `at` set as parse() would leave it
 * for them: a caller can store the message without parsing it again.
 */
export function sign(k: Uint8Array, draft: Draft): string {
  var ek = expanded(k), t = unsigned(identity(ek), draft), n = encode(t), r = parse(enc.b, 0, n, true);
  if (r) throw new Error("draft: " + r);
  signBytes(ek, enc.b, 0, n, sig);
  t += "signature " + b32encode(sig, 0, 64) + ".sig.ed25519";
  encode(t);
  at.sig = at.unsigned + 10; // the one field the unsigned parse leaves unset
  return t;
}
/** Why the message in b[p .. p+n) is refused, or "" when it parses and its signature verifies. */
export function refusalBytes(b: Uint8Array, p: number, n: number): string {
  var r = parse(b, p, n);
  if (r) return r;
  return verifySignature(author, 0, b, p, at.unsigned, signature, 0) ? "" : "signature does not verify";
}
/** Why a message text is refused, or "" when it is valid. */
export function refusal(text: string): string {
  if (typeof text != "string") return "not a string";
  var n = encode(text);
  return refusalBytes(enc.b, 0, n);
}
/** true when the text parses and its signature verifies; never throws. */
export function verify(text: string): boolean {
  try {
    return refusal(text) == "";
  } catch (e) {
    return false;
  }
}
/** "%<52>.sha256" of b[p .. p+n). */
export function idBytes(b: Uint8Array, p: number, n: number, sigil?: string): string {
  sha256(b, p, n, digest, 0);
  return (sigil || "%") + b32encode(digest, 0, 32) + ".sha256";
}
/** The message id of a text. */
export function id(text: string): string {
  var n = encode(text);
  return idBytes(enc.b, 0, n);
}
/** The blob id of some bytes. */
export function blobId(b: Uint8Array): string {
  return idBytes(b, 0, b.length, "&");
}
export { lipmaa, parse, at, encode, enc, sBelowL };
