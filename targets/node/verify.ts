// `pigeon`'s verification: the shared chain rules (chain.ts) with the core's
// verdicts at node:crypto's speed (fastverify.ts).
import { Pigeon } from "./core";
import { idOf, refusalOf } from "./fastverify";
import { memoryHolder, verify as verifyWith, type Checks, type Holder, type Report } from "./chain";
import type { Input } from "./input";

export { blobRefs, memoryHolder, summary, type Holder, type Refusal, type Report } from "./chain";

export const nodeChecks: Checks = {
  refusal: (bytes) => refusalOf(bytes),
  id: (bytes) => idOf(bytes),
  lipmaa: (d) => Pigeon.lipmaa(d),
  blobId: (b) => Pigeon.blobId(b),
};

/** Checks every message and blob of an input (see chain.ts); returns the report in `pigeon verify --json` form. */
export function verify(input: Input, holder: Holder = memoryHolder(), onBlob?: (id: string, bytes: Uint8Array) => void, onProgress?: (messages: number) => void): Report {
  return verifyWith(input, nodeChecks, holder, onBlob, onProgress);
}
