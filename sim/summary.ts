// What `npm start` and `npm run emu` print about a card once the host has read
// it: its feeds, every message verified with its links, the time span, the
// sector writes per append and the room the messages take.
import type { Counts } from "./card/device";
import type { FatImage } from "./card/image";
import { readCard, type CardLog } from "./card/read";
import { verifyInput } from "../targets/host/chain";
import { nodeChecks } from "../targets/node/checks";

export interface CardSummary {
  feeds: CardLog[];
  messages: string[];
  refused: number;
  lines: string[];
}

/** Reads and verifies the card; `writes`: the sector writes by region while the messages were appended. */
export function cardSummary(img: FatImage, writes?: Counts): CardSummary {
  const feeds = readCard(img);
  const pgn = feeds.flatMap((f) => f.messages);
  const report = verifyInput(
    {
      messages: feeds.flatMap((f) => f.messages.map((text) => ({ text, file: f.path, line: 0 }))),
      blobs: [],
    },
    nodeChecks
  );
  const lines: string[] = [];
  for (const r of report.refusals) lines.push(`${r.file} depth ${r.depth}: refused: ${r.reason}`);
  for (const f of feeds)
    if (f.bad.length) lines.push(`${f.path}: pages the card garbled: ${f.bad.join(", ")}`);
  const messages = pgn.length,
    refused = report.messages.refused,
    times = pgn.map((t) => Number(/\nt:"(\d+)"/.exec(t)?.[1]));
  const readings = pgn.reduce(
    (n, t) =>
      n +
      t
        .split("\n\n")[1]
        .split("\n")
        .filter((l) => !/^(t|boot|dt):/.test(l)).length,
    0
  );
  const text = pgn.reduce((n, t) => n + Buffer.byteLength(t), 0);
  const pages = feeds.reduce((n, f) => n + f.pages, 0);
  const iso = (s: number) => new Date(s * 1000).toISOString().replace(".000", "");
  lines.push(`feeds       ${feeds.map((f) => f.author).join(", ")}`);
  lines.push(
    `messages    ${messages} (${messages - refused} verified by the host, ${refused} refused), ${readings} readings`
  );
  if (messages) lines.push(`time        ${iso(Math.min(...times))} .. ${iso(Math.max(...times))}`);
  if (writes && messages)
    lines.push(
      `per append  ${(writes.data / messages).toFixed(2)} data + ${((writes.root + writes.dir) / messages).toFixed(2)} directory + ${(writes.fat / messages).toFixed(2)} FAT sector writes`
    );
  if (messages)
    lines.push(
      `on card     ${((pages * 1024) / messages).toFixed(0)} bytes per message (${pages} pages of 1 KiB) for ${(text / messages).toFixed(0)} bytes of message text`
    );
  return { feeds, messages: pgn, refused, lines };
}
