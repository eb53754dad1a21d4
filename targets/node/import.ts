// `pigeon import`: an input into a store, verified message by message.
import type { Input } from "../host/bundle";
import { verifyInput, type Report } from "../host/chain";
import { nodeChecks } from "./checks";
import type { Store } from "./store";

/**
 * `pigeon import`: verifies an input against the store, keeps what is valid
 * (blobs too) and remembers what the bundle's writer said it holds. Returns
 * the report, and why the have-file was not taken if it was not.
 */
export function importInto(store: Store, input: Input, onProgress?: (messages: number) => void): { report: Report; badHave?: Error } {
  const report = verifyInput(input, nodeChecks, store, (id, bytes) => store.putBlob(id, bytes), onProgress);
  if (input.have instanceof Error) return { report, badHave: input.have };
  if (input.have) store.rememberPeer(input.have.who, input.have.held);
  return { report };
}

