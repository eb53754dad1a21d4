// `pigeon import`: an input into a store, verified message by message.
import { availableParallelism } from "node:os";
import type { Input } from "../host/bundle";
import { verifyInput, type Report } from "../host/chain";
import { receiptBodies, taken } from "../host/receipt";
import { nodeChecks } from "./checks";
import { ParallelChecks } from "./parallel";
import type { Store } from "./store";

/** How an import runs: progress, a receipt per feed taken, the threads that check. */
export interface ImportOptions {
  /** Told the number of messages read so far, now and then. */
  onProgress?: (messages: number) => void;
  /** Sign a receipt per feed taken, at time t (seconds). */
  receipt?: { t: number };
  /** The threads the messages' checks run on (targets/node/parallel.ts): the store and the report are the same for any number. */
  cores?: number;
}

/**
 * `pigeon import`: verifies an input against the store, keeps what is valid
 * (blobs too) and remembers what the bundle's writer said it holds. With
 * receipt, then signs onto the store's own feed a receipt per feed it took
 * messages of (spec/pigeon.md, section 6.1), at receipt.t. Returns the
 * report, why the have-file was not taken if it was not, and the receipts.
 */
export function importInto(
  store: Store,
  input: Input,
  { onProgress, receipt, cores = availableParallelism() }: ImportOptions = {}
): { report: Report; badHave?: Error; receipts: string[] } {
  const before = receipt && new Map(store.authors().map((a) => [a, store.ranges(a)]));
  let report: Report;
  if (cores > 1) {
    const checks = new ParallelChecks(store, cores);
    try {
      report = verifyInput(
        { ...input, messages: checks.messages(input.messages) },
        checks,
        store,
        (id, bytes) => store.putBlob(id, bytes),
        onProgress
      );
    } finally {
      checks.close();
    }
  } else
    report = verifyInput(
      input,
      nodeChecks,
      store,
      (id, bytes) => store.putBlob(id, bytes),
      onProgress
    );
  const have = input.have instanceof Error ? undefined : input.have;
  if (have) store.rememberPeer(have.who, have.held);
  const receipts: string[] = [];
  if (before) {
    const bodies = store
      .authors()
      .flatMap((a) =>
        receiptBodies(
          a,
          taken(before.get(a) ?? [], store.ranges(a)),
          (d) => store.idAt(a, d)!,
          receipt.t,
          have?.who
        )
      );
    for (const b of bodies) receipts.push(store.post("receipt", b));
  }
  return input.have instanceof Error
    ? { report, badHave: input.have, receipts }
    : { report, receipts };
}
