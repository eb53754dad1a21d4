// Link figures for npm run bench (spec/link.md), printed as one JSON object:
// a simulated Pico (with its kernels under qemu-arm where they can run) with
// LINK_MESSAGES 10-minute readings pulled over a simulated serial line at
// 115,200 baud, without faults: bytes a message on
// the line against its text and its card record, messages a second and the
// time a year of readings takes at that speed (the line's time: the board's
// own work is not counted, the simulator does not time it), and how fast the
// host rebuilds messages from frames.
import { join } from "node:path";
import { createImage } from "../sim/card/image";
import { readCard } from "../sim/card/read";
import { loggerBoard } from "../sim/loggerboard";
import { nativeMissing } from "../sim/native";
import { SimLine } from "../sim/serial";
import { answer, frameBytes, rebuild } from "../src/link";
import { memoryHolder, Verifier } from "../targets/host/chain";
import { depthRanges } from "../targets/host/have";
import { pullFeed } from "../targets/host/pull";
import { idOf, nodeChecks } from "../targets/node/checks";

const BAUD = 115200,
  YEAR = 365 * 144;

async function main() {
  const n = Number(process.env.LINK_MESSAGES || 1000);
  const img = await createImage(
    join(process.env.TMPDIR || "/tmp", "pigeon-bench-link.img"),
    16 << 20
  );
  // a Pico with its kernels where they can run here (qemu-arm): B frames, escaped by the kernel; else base64 (M)
  const native = !nativeMissing();
  const board = loggerBoard({
    profile: "pico",
    native,
    image: img,
    clock: 1764000000,
    seedBytes: Array.from({ length: 32 }, (_, i) => i),
    config: "interval=600\nlog_mb=4\n",
    consoleLine: { baud: BAUD },
  });
  board.runFor(600 * n + 1);
  const [card] = readCard(img),
    texts = card.messages;
  // the pull, keeping the frames' lines for the host's rebuild rate
  const holder = memoryHolder(),
    v = new Verifier(nodeChecks, holder),
    line = new SimLine(board, BAUD, 1764000000000),
    frames: string[] = [];
  const read = line.read.bind(line);
  let part = "";
  line.read = async (ms) => {
    const got = await read(ms),
      lines = (part + (got ?? "")).split("\n"); // a CR before the LF (Espruino's print) is not in a frame's line
    part = lines.pop()!;
    for (const a of lines.map(answer))
      if (a?.[1] === "B" || a?.[1] === "M") frames.push(frameBytes(a)!);
    return got;
  };
  const t0 = board.elapsed;
  const held = {
    ranges: (a: string) =>
      depthRanges([...(holder.feeds.get(a)?.ids.keys() ?? [])].map((d) => [d, d])),
    idAt: (a: string, d: number) => holder.idAt(a, d),
  };
  const pulled = await pullFeed(line, {
    held,
    id: (t) => idOf(Buffer.from(t)),
    take: (text) => v.message({ text, file: "line", line: 0 }),
  });
  const seconds = board.elapsed - t0;
  if (pulled.messages !== texts.length || v.report.refusals.length)
    throw new Error(
      `link bench: pulled ${pulled.messages} of ${texts.length}, ${v.report.refusals.length} refused`
    );
  if (!frames.length) throw new Error("link bench: no frame lines were read from the line");
  const recordBytes = frames.reduce((s, f) => s + f.length, 0);
  // the host's side alone: rebuilding the frames' messages (no verifying)
  const author = pulled.identity,
    ids = new Map<number, string>();
  let rebuilt = 0;
  const r0 = performance.now();
  for (let k = 0; k < 3; k++) {
    const st = { author, expected: 0, linkId: (d: number) => ids.get(d) };
    for (const f of frames) rebuild(st, f, (t, d) => (ids.set(d, idOf(Buffer.from(t))), rebuilt++));
  }
  const rebuildPerSec = (rebuilt * 1000) / (performance.now() - r0);
  const textBytes = texts.reduce((s, t) => s + Buffer.byteLength(t) + 2, 0);
  const figures = {
    "link.messages": texts.length,
    "link.boardKernels": native,
    "link.lineBytesPerMessage": pulled.bytes / texts.length,
    "link.wireRecordBytesPerMessage": recordBytes / texts.length,
    "link.textBytesPerMessage": textBytes / texts.length,
    "link.messagesPerSecAt115200": texts.length / seconds,
    "link.yearSecondsAt115200": (seconds / texts.length) * YEAR,
    "link.requestsPer1000": (pulled.requests * 1000) / texts.length,
    "link.host.rebuildPerSec": rebuildPerSec,
  };
  console.log(JSON.stringify(figures));
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
