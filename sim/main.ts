// npm start: a logger on a simulated Espruino Pico logs 30 days of 10-minute
// readings onto a fresh FAT16 card image (out/card.img), running the ES5
// firmware bundle as the board would; then the host reads the card, verifies
// every message and its links, exports a bundle (out/bundle/), and prints a
// summary.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createImage } from "./card/image";
import { readCard } from "./card/read";
import { verifyInput } from "../targets/host/chain";
import { nodeChecks } from "../targets/node/checks";
import { loggerBoard } from "./loggerboard";

const root = join(__dirname, "..");
const DAYS = Number(process.env.DAYS || 30);

async function main() {
  mkdirSync(join(root, "out/bundle"), { recursive: true });
  const img = await createImage(join(root, "out/card.img"), 64 << 20);
  const t0 = performance.now();
  const board = loggerBoard({ profile: "pico", image: img, clock: 1764000000, seed: 2026 });
  img.device.resetCounters(); // the appends, without making the log
  board.runFor(DAYS * 86400);
  const simMs = performance.now() - t0;
  if (board.errors.length) throw new Error("the board reported: " + board.errors.join("; "));
  const w = img.device.writes;
  img.save();

  // ---- the host ----
  const feeds = readCard(img);
  const pgn = feeds.flatMap((f) => f.messages);
  const report = verifyInput({ messages: feeds.flatMap((f) => f.messages.map((text) => ({ text, file: f.path, line: 0 }))), blobs: [] }, nodeChecks);
  for (const r of report.refusals) console.log(`${r.file} depth ${r.depth}: refused: ${r.reason}`);
  for (const f of feeds) if (f.bad.length) console.log(`${f.path}: pages the card garbled: ${f.bad.join(", ")}`);
  const messages = pgn.length, refused = report.messages.refused, times = pgn.map((t) => Number(/\nt:"(\d+)"/.exec(t)?.[1]));
  const first = Math.min(...times), last = Math.max(...times);
  const readings = pgn.reduce((n, t) => n + t.split("\n\n")[1].split("\n").filter((l) => !/^(t|boot|dt):/.test(l)).length, 0);
  writeFileSync(join(root, "out/bundle/messages.pgn"), pgn.join("\n\n") + "\n");
  const text = pgn.reduce((n, t) => n + Buffer.byteLength(t), 0);
  const pages = feeds.reduce((n, f) => n + f.pages, 0);
  const iso = (s: number) => new Date(s * 1000).toISOString().replace(".000", "");
  console.log(`card        out/card.img (FAT16, 64 MiB), ${DAYS} simulated days on a Pico in ${(simMs / 1000).toFixed(1)} s`);
  console.log(`feeds       ${feeds.map((f) => f.author).join(", ")}`);
  console.log(`messages    ${messages} (${messages - refused} verified by the host, ${refused} refused), ${readings} readings`);
  console.log(`time        ${iso(first)} .. ${iso(last)}`);
  console.log(`per append  ${(w.data / messages).toFixed(2)} data + ${((w.root + w.dir) / messages).toFixed(2)} directory + ${(w.fat / messages).toFixed(2)} FAT sector writes`);
  console.log(`on card     ${((pages * 1024) / messages).toFixed(0)} bytes per message (${pages} pages of 1 KiB) for ${(text / messages).toFixed(0)} bytes of message text`);
  console.log(`bundle      out/bundle/messages.pgn`);
  process.exit(refused ? 1 : 0);
}
main().catch((e) => {
  console.error(e);
  process.exit(2);
});
