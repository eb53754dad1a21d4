// `pigeon import`: an input into a store, verified message by message.
import { availableParallelism } from "node:os";
import type { Input } from "../host/bundle";
import { verifyInput, type Report } from "../host/chain";
import { nodeChecks } from "./checks";
import { ParallelChecks } from "./parallel";
import type { Store } from "./store";

/**
 * `pigeon import`: verifies an input against the store, keeps what is valid
 * (blobs too) and remembers what the bundle's writer said it holds. Returns
 * the report, and why the have-file was not taken if it was not. The
 * messages' checks run on `cores` threads (targets/node/parallel.ts): the
 * store and the report are the same for any number.
 */
export function importInto(store: Store, input: Input, onProgress?: (messages: number) => void, cores = availableParallelism()): { report: Report; badHave?: Error } {
  let report: Report;
  if (cores > 1) {
    const checks = new ParallelChecks(store, cores);
    try {
      report = verifyInput({ ...input, messages: checks.messages(input.messages) }, checks, store, (id, bytes) => store.putBlob(id, bytes), onProgress);
    } finally {
      checks.close();
    }
  } else report = verifyInput(input, nodeChecks, store, (id, bytes) => store.putBlob(id, bytes), onProgress);
  if (input.have instanceof Error) return { report, badHave: input.have };
  if (input.have) store.rememberPeer(input.have.who, input.have.held);
  return { report };
}
