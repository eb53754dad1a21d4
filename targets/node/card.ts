// The host's view of a card: its logs read through FatFs into memory and
// walked with the device's own store code (src/card.ts).
import { each, openLog } from "../../src/card";
import type { FatImage } from "./fat";
import { MemDisk } from "./memdisk";

export interface CardFeed {
  path: string;
  author: string;
  /** Message texts in depth order. */
  messages: string[];
  /** Pages the card garbled (their records are missing). */
  bad: number[];
  /** Pages in use (two sectors each). */
  pages: number;
}

/** Every log on the card (root *.LOG), with its messages. */
export function readCard(img: FatImage): CardFeed[] {
  const out: CardFeed[] = [];
  for (const e of img.readdir("") ?? []) {
    if (e.dir || !/\.LOG$/.test(e.name)) continue;
    const disk = new MemDisk();
    disk.files.set(e.name, img.readFile(e.name)!);
    const log = openLog(disk, e.name);
    const feed: CardFeed = { path: e.name, author: log.author, messages: [], bad: [], pages: log.page + 1 };
    each(log, disk.openFile(e.name, "r")!, (t) => feed.messages.push(t), (p) => feed.bad.push(p));
    out.push(feed);
  }
  return out;
}
