// The checks of an import on every core. What a single message is (its id,
// and F1: the grammar, the core's rules and the signature) does not depend on
// the store, so messages are read ahead and checked in batches on worker
// threads (targets/node/checker.ts runs nodeChecks there), while the chain
// rules (F2-F5), which do depend on what was taken before, take the messages
// in input order on this thread, which alone writes the store. Known messages
// (F2: held where they claim to be) are not sent: the chain rules know them by
// their id, a hash here. This thread waits for a batch with Atomics.wait, so
// the import stays one synchronous pass; the read-ahead is bounded, so memory
// stays flat.
import { join } from "node:path";
import {
  MessageChannel,
  receiveMessageOnPort,
  Worker,
  type MessagePort,
} from "node:worker_threads";
import type { Source } from "../host/bundle";
import { claimsHeld, type Checks, type Holder } from "../host/chain";
import { nodeChecks } from "./checks";
import { projectRoot } from "./root";

/** A message read ahead: checked in batch `batch` at index `i`, or here (batch -1) when it is known or too few were sent to start the workers. */
interface Ahead {
  m: Source;
  batch: number;
  i: number;
}
/** What a worker sends for a batch: id and refusal of each message, in turn; or why it could not check them. */
export type BatchResult = string[] | { error: string };
/** What a worker is given: where to answer, and a counter it bumps after each answer (and when it exits). */
export interface CheckerData {
  port: MessagePort;
  signal: Int32Array;
}

export class ParallelChecks implements Checks {
  private workers: { worker: Worker; port: MessagePort }[] = [];
  private signal = new Int32Array(new SharedArrayBuffer(8)); // [answers and exits, exits]
  private results = new Map<number, string[]>();
  private received = 0;
  private now: { text: string; result?: string[]; i: number } = { text: "", i: 0 };

  /**
   * `cores` workers, each with at most `ahead` batches of `batch` messages in
   * flight; `holder` tells which messages are known.
   */
  constructor(
    private holder: Holder,
    private cores: number,
    private batch = 256,
    private ahead = 4
  ) {}

  id(bytes: Uint8Array, text: string): string {
    const r = this.resultOf(text);
    return r ? r[2 * this.now.i] : nodeChecks.id(bytes, text);
  }
  refusal(bytes: Uint8Array, text: string): string {
    const r = this.resultOf(text);
    return r ? r[2 * this.now.i + 1] : nodeChecks.refusal(bytes, text);
  }
  lipmaa = nodeChecks.lipmaa;
  blobId = nodeChecks.blobId;
  /** The checks of the message given last, if the workers made them (the chain rules ask only of it). */
  private resultOf(text: string) {
    return this.now.text === text ? this.now.result : undefined;
  }

  /**
   * The messages of source, in order, each given once its checks are done:
   * the chain rules (Verifier.message) take each before the next is given.
   */
  *messages(source: Iterable<Source>): Generator<Source> {
    const queue: Ahead[] = [],
      limit = this.cores * this.ahead * this.batch;
    let head = 0,
      pending: string[] = [],
      sent = 0,
      done = false;
    const it = source[Symbol.iterator]();
    const send = () => {
      if (!this.workers.length && done) {
        // too few to be worth starting the workers: checked here
        for (let k = head; k < queue.length; k++) if (queue[k].batch === sent) queue[k].batch = -1;
      } else this.post(sent, pending);
      pending = [];
      sent++;
    };
    for (;;) {
      // read ahead while the workers may take more and the queue has room
      while (
        !done &&
        queue.length - head < limit &&
        sent - this.received < this.cores * this.ahead
      ) {
        const n = it.next();
        if (n.done) done = true;
        else if (claimsHeld(this.holder, n.value.text)) queue.push({ m: n.value, batch: -1, i: 0 });
        else {
          queue.push({ m: n.value, batch: sent, i: pending.length });
          pending.push(n.value.text);
          if (pending.length === this.batch) send();
        }
      }
      if (head === queue.length) return;
      const a = queue[head];
      if (a.batch === sent) send(); // the batch it is in goes now, short (send marks from head: this one too)
      head++;
      if (head > limit) (queue.splice(0, head), (head = 0));
      let result: string[] | undefined;
      if (a.batch >= 0) {
        while (this.received <= a.batch) this.receive();
        result = this.results.get(a.batch)!;
        if (2 * a.i + 2 === result.length) this.results.delete(a.batch);
      }
      this.now = { text: a.m.text, result, i: a.i };
      yield a.m;
    }
  }

  /** Sends batch n to its worker (round robin), starting the workers first. */
  private post(n: number, texts: string[]) {
    if (!this.workers.length)
      for (let k = 0; k < this.cores; k++) {
        const { port1, port2 } = new MessageChannel();
        const data: CheckerData = { port: port2, signal: this.signal };
        // a small young generation (a thread's is sized when it starts): a checker keeps nothing between batches
        const worker = new Worker(join(projectRoot(), "dist", "pigeon-checker.mjs"), {
          workerData: data,
          transferList: [port2],
          resourceLimits: { maxYoungGenerationSizeMb: 4 },
        });
        worker.unref();
        this.workers.push({ worker, port: port1 });
      }
    this.workers[n % this.cores].worker.postMessage(texts);
  }
  /** Waits for the next batch's checks (each worker answers in the order it was sent batches). */
  private receive() {
    const n = this.received,
      { port } = this.workers[n % this.cores];
    for (;;) {
      const seen = Atomics.load(this.signal, 0),
        got = receiveMessageOnPort(port);
      if (got) {
        const r = got.message as BatchResult;
        if (!Array.isArray(r)) throw new Error(`pigeon: a checking thread failed: ${r.error}`);
        this.results.set(n, r);
        this.received++;
        return;
      }
      if (Atomics.load(this.signal, 1)) throw new Error("pigeon: a checking thread stopped");
      Atomics.wait(this.signal, 0, seen);
    }
  }

  /** Stops the workers. */
  close() {
    for (const { worker, port } of this.workers) {
      port.close();
      void worker.terminate();
    }
    this.workers = [];
  }
}
