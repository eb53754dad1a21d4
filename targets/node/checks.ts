// The checks of one message for `pigeon` (targets/host/chain.ts Checks), at
// node:crypto's speed and with the core's verdicts: the core's rules first
// (targets/host/edrules.ts, shared with the card viewer), then OpenSSL's
// Ed25519 verify, which compares encodings as the core does.
// test/fastverify.test.ts holds them equal.
import { createHash, createPublicKey, verify as edVerify, type KeyObject } from "node:crypto";
import { b32encode } from "../../src/base32";
import { Pigeon } from "./core";
import type { Checks } from "../host/chain";
import { keyAllowed, precheck } from "../host/edrules";

const SPKI = Buffer.from("302a300506032b6570032100", "hex");
const keys = new Map<string, KeyObject | null>();

/** The key object for a 32-byte public key, or null when the core refuses it (not canonical, or of small order). */
function key(a: Uint8Array): KeyObject | null {
  const hex = Buffer.from(a).toString("hex");
  let k = keys.get(hex);
  if (k === undefined) {
    k = keyAllowed(a)
      ? createPublicKey({ key: Buffer.concat([SPKI, a]), format: "der", type: "spki" })
      : null;
    if (keys.size > 10000) keys.clear();
    keys.set(hex, k);
  }
  return k;
}

/** "" when the UTF-8 bytes are a valid message, else the reason: the core's verdict, at node:crypto's speed. */
export function refusalOf(bytes: Uint8Array): string {
  let k: KeyObject | null = null;
  const p = precheck(Pigeon, bytes, (a) => (k = key(a)) !== null);
  if (typeof p === "string") return p;
  return edVerify(null, p.unsigned, k!, p.sig) ? "" : "signature does not verify";
}
/** The message id of the UTF-8 bytes, hashed by node:crypto. */
export function idOf(bytes: Uint8Array): string {
  const d = createHash("sha256").update(bytes).digest();
  return "%" + b32encode(d, 0, 32) + ".sha256";
}

/** What a single message or blob is, for `pigeon`'s verification (verifyInput with these). */
export const nodeChecks: Checks = {
  refusal: (bytes) => refusalOf(bytes),
  id: (bytes) => idOf(bytes),
  lipmaa: (d) => Pigeon.lipmaa(d),
  blobId: (b) => Pigeon.blobId(b),
};
