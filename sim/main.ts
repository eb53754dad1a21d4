// npm start: a logger on a simulated Espruino Pico logs 30 days of 10-minute
// readings onto a fresh FAT16 card image (out/card.img), running the ES5
// firmware bundle as the board would; then the host reads the card, verifies
// every message and its links, exports a bundle (out/bundle/), and prints a
// summary.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createImage } from "./card/image";
import { loggerBoard } from "./loggerboard";
import { cardSummary } from "./summary";

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
  const r = cardSummary(img, w);
  writeFileSync(join(root, "out/bundle/messages.pgn"), r.messages.join("\n\n") + "\n");
  console.log(
    `card        out/card.img (FAT16, 64 MiB), ${DAYS} simulated days on a Pico in ${(simMs / 1000).toFixed(1)} s`
  );
  for (const l of r.lines) console.log(l);
  console.log(`bundle      out/bundle/messages.pgn`);
  process.exit(r.refused ? 1 : 0);
}
main().catch((e) => {
  console.error(e);
  process.exit(2);
});
