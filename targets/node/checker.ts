// A worker thread of targets/node/parallel.ts: the checks of messages
// (nodeChecks: the id, and the core's verdict at node:crypto's speed), a batch
// at a time, answered in the order the batches came.
import { parentPort, workerData } from "node:worker_threads";
import type { BatchResult, CheckerData } from "./parallel";

const { port, signal } = workerData as CheckerData;
const answer = (r: BatchResult) => {
  port.postMessage(r);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
};
// an exit of this thread wakes the import, which would wait for it for ever: set before anything can fail
process.on("exit", () => {
  Atomics.store(signal, 1, 1);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
});
const checks = import("./checks").then((m) => m.nodeChecks);
const enc = new TextEncoder();
parentPort!.on("message", async (texts: string[]) => {
  try {
    const c = await checks,
      out: string[] = [];
    for (const t of texts) {
      const b = enc.encode(t);
      out.push(c.id(b, t), c.refusal(b, t));
    }
    answer(out);
  } catch (e) {
    answer({ error: e instanceof Error ? e.message : String(e) });
  }
});
