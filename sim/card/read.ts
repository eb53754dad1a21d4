// The host's view of a simulated card: its logs read as `pigeon` reads a card
// image (input.ts, fatvolume.ts), with the device's own store code, page by
// page, each log on its own; what cannot be read is in losses.
import { type Loss, cardLog, LOG_NAME, logRecords } from "../../targets/host/bundle";
import type { FatImage } from "./image";
import { FatVolume } from "../../targets/host/fat";
import { memoryBytes } from "../../targets/host/bytes";

export interface CardLog {
  path: string;
  /** The log's author; "" when its header cannot be read (losses say why). */
  author: string;
  /** Message texts in depth order. */
  messages: string[];
  /** Pages the card garbled (their records are missing). */
  bad: number[];
  /** Pages in use (two sectors each). */
  pages: number;
  /** What could not be read, and why. */
  losses: Loss[];
}

/** Every log on the card (root *.LOG), with its messages. */
export function readCard(img: FatImage): CardLog[] {
  const vol = new FatVolume(memoryBytes(img.buffer)),
    out: CardLog[] = [];
  for (const e of vol.list(null).entries) {
    if (e.dir || !LOG_NAME.test(e.name)) continue;
    const losses: Loss[] = [],
      f = vol.open(e);
    if (f.lost) losses.push({ file: e.name, page: null, depths: null, reason: f.lost });
    const l = cardLog(f, e.name, e.name, losses),
      messages: string[] = [];
    if (l) for (const [text] of logRecords(l.log, l.file, e.name, losses)) messages.push(text);
    out.push({
      path: e.name,
      author: l ? l.log.author : "",
      messages,
      bad: losses.flatMap((x) => (x.page === null ? [] : [x.page])),
      pages: l ? l.log.page + 1 : 0,
      losses,
    });
  }
  return out;
}
