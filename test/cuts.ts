// Appending to a card log in memory while the power fails: the loop the store's power-cut tests share.
import { appendMessage, type Log } from "../src/log";
import { enc, encode } from "../src/utf8";
import { PowerCut, type FaultPlan } from "../sim/card/fault";
import type { MemDisk } from "../sim/card/memdisk";

/** Appends one message text to the log; throws the refusal, if any. */
export function appendText(log: Log, t: string) {
  const n = encode(t);
  const why = appendMessage(log, enc.b, n);
  if (why) throw new Error(why);
}

/** Appends texts until the fault planned fires (or all are in), then powers the card on again; returns how many appends returned. */
export function appendUntilCut(disk: MemDisk, log: Log, texts: string[], plan: FaultPlan): number {
  disk.armFault(plan);
  let acked = 0;
  try {
    for (const t of texts) (appendText(log, t), acked++);
  } catch (e) {
    if (!(e instanceof PowerCut)) throw e;
  }
  disk.disarm();
  disk.powerOn();
  return acked;
}
