// Card figures for npm run bench, printed as one JSON object: sector writes
// per append by region, card bytes per message byte, appends per second in the
// simulator, and mounting after a simulated year (sectors read over the log's),
// for one reading a message and (card.wide.*) for per_message=6 with 10
// sensors, whose messages run on across pages;
// what it takes to check the newest reading of a feed a million deep, with and
// without its certificate path.
import { join } from "node:path";
import { readCard } from "../sim/card/read";
import { createImage } from "../sim/card/image";
import { certificatePath, lipmaa } from "../src/lipmaa";
import { loggerBoard } from "../sim/loggerboard";

const SEED = Array.from({ length: 32 }, (_, i) => i);
const WAVE =
  "var PIGEON_SENSORS = { wave: function () { return 20 + 5 * Math.sin(getTime() / 7200); } };";

/** A simulated year (or BENCH_DAYS) of 10-minute readings on a card: what the appends wrote, and a mount after it. */
async function year(name: string, config: string, before: string, days: number) {
  const img = await createImage(
    join(process.env.TMPDIR || "/tmp", `pigeon-bench-${name || "card"}.img`),
    128 << 20
  );
  const board = loggerBoard({
    profile: "bare",
    image: img,
    clock: 1764000000,
    seedBytes: SEED,
    config,
    before,
  });
  const perMessage = Number(/per_message=(\d+)/.exec(config)?.[1] ?? 1);
  // steady state: from the first append on (the log exists)
  board.runFor(600 * perMessage);
  img.device.resetCounters();
  const t0 = performance.now();
  board.runFor(days * 86400 - 600 * perMessage);
  const wallS = (performance.now() - t0) / 1000;
  const w = { ...img.device.writes },
    written = w.data + w.root + w.dir + w.fat + w.boot;
  img.save(); // the year's card, for the viewer's and pigeon verify's timings
  const [feed] = readCard(img);
  const appends = feed.messages.length - 1;
  const text = feed.messages.reduce((n, t) => n + Buffer.byteLength(t), 0);
  // mount: a reset, counting what the boot reads
  img.device.resetCounters();
  const m0 = performance.now();
  board.reboot();
  const mountMs = performance.now() - m0;
  const reads = img.device.totals().reads;
  const logSectors = 2 * feed.pages + Math.ceil(feed.pages / 60) + 1;
  const figures: Record<string, number> = {
    days,
    messages: feed.messages.length,
    readingsPerMessage: perMessage,
    appendsPerSec: appends / wallS,
    sectorWritesPerAppend: written / appends,
    sectorWritesPerReading: written / appends / perMessage,
    dataWritesPerAppend: w.data / appends,
    dirWritesPerAppend: (w.root + w.dir) / appends,
    fatWritesPerAppend: w.fat / appends,
    bytesPerReading: (feed.pages * 1024) / text, // card bytes per byte of message text
    bytesPerMessage: (feed.pages * 1024) / feed.messages.length,
    mountSectorsRead: reads,
    mountReadFraction: reads / logSectors,
    mountMs,
  };
  return {
    img,
    feed,
    figures: Object.fromEntries(
      Object.entries(figures).map(([k, v]) => [`card.${name ? name + "." : ""}${k}`, v])
    ),
  };
}

async function main() {
  const days = Number(process.env.BENCH_DAYS || 365);
  const { img, feed, figures } = await year("", "sensors=wave\n", WAVE, days);
  const SENSORS = Array.from({ length: 10 }, (_, i) => `s${i}`);
  const wide = await year(
    "wide",
    `per_message=6\nsensors=${SENSORS.join(",")}\n`,
    `var PIGEON_SENSORS = {${SENSORS.map((n, i) => `${n}: function () { return ${i} + 5 * Math.sin(getTime() / ${7200 + i}); }`).join(", ")}};`,
    days
  );
  // checking depth 10^6: the certificate path (lipmaa links) against the whole feed. Message sizes are the
  // year card's last message's, with the depth's digits and its links (an id, or NONE) put in: generating a
  // feed a million deep would take too long, and a reading's size does not change with depth otherwise
  const DEEP = 1e6,
    k = feed.messages.length - 1,
    sample = Buffer.byteLength(feed.messages[k]);
  const link = (to: number | null) => (to === null ? 4 : 60); // "NONE", or "%" + 52 + ".sha256"
  const size = (d: number) =>
    sample -
    String(k).length +
    String(d).length -
    link(lipmaa(k)) +
    link(lipmaa(d)) -
    link(k - 1) +
    link(d ? d - 1 : null);
  const pathDepths = certificatePath(DEEP, 0);
  let fullBytes = 0;
  for (let d = 0; d <= DEEP; d++) fullBytes += size(d) + 2; // and the blank line between messages in messages.pgn
  const path = {
    "path.depth": DEEP,
    "path.messages": pathDepths.length,
    "path.bytes": pathDepths.reduce((n, d) => n + size(d) + 2, 0),
    "path.fullMessages": DEEP + 1,
    "path.fullBytes": fullBytes,
  };
  // a day on each profile: wall time per reading in the simulator (boot and table building included)
  const perProfile: Record<string, number> = {};
  for (const profile of ["pico", "wifi", "esp32", "bare"] as const) {
    const day = await createImage(
      join(process.env.TMPDIR || "/tmp", `pigeon-bench-${profile}.img`),
      32 << 20
    );
    const p0 = performance.now();
    loggerBoard({ profile, image: day, clock: 1764000000, seedBytes: SEED }).runFor(86400 + 1);
    perProfile[`sim.${profile}.msPerReading`] = (performance.now() - p0) / 144;
  }
  console.log(
    JSON.stringify({
      ...perProfile,
      ...path,
      "card.image": img.path,
      ...figures,
      ...wide.figures,
    })
  );
}
main().catch((e) => {
  console.error(e);
  process.exit(2);
});
