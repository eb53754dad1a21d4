// A pull from the emulated Pico (Espruino's own firmware under the emulator
// toolkit's QEMU, PIGEON_EMU or ../shared/emu) over its serial port as TCP, as
// `pigeon pull --port tcp://127.0.0.1:PORT` makes it: 1,000 messages from its
// SD card while it keeps logging, the line cut at 20 random points and each
// pull resuming from what the store holds. Skipped, saying why, where the
// toolkit is absent.
import { describe, expect, it } from "vitest";
import { emulatedPull } from "../emu/pull";
import { findToolkit, type Toolkit } from "../emu/qemu";
import { prng } from "../sim/prng";

const kit = findToolkit();
const absent = typeof kit === "string" ? kit : "";
if (absent) console.log(`emulated-board pull skipped: ${absent}`);

describe.skipIf(!!absent)("a pull from the emulated Pico over its serial port as TCP", () => {
  it("1,000 messages while it logs on, cut at 20 random points: the store ends with the card's feed byte for byte, once; every reading that fell due is on time", async () => {
    // a reading every 2 s: the pull takes some 20 s of the board's time, and readings must fall due during it
    const messages = 1000,
      interval = 2,
      rnd = prng(20);
    // each pull's line cut after 4,000 to 9,000 bytes (about 100 bytes a message): about half the feed comes
    // in cut pulls. A cut pull first meets what the board still sent of the answer cut before it (up to half
    // a second of frames, some 4 KB), so fewer bytes would often bring nothing new
    const cutAt = Array.from({ length: 20 }, () => 4000 + rnd.int(5000));
    const r = await emulatedPull(kit as Toolkit, { board: "pico", messages, interval, cutAt });
    expect(r.refused).toBe(0);
    expect(r.held).toEqual([[0, r.after - 1]]); // the whole feed, one run: nothing skipped, nothing twice
    expect(r.differ).toEqual([]);
    // each cut pull kept what came before the cut, and the next one went on from there
    expect(r.cut.length).toBe(20);
    // what the store holds only grows; on a loaded machine a cut pull may end (the board too slow to answer) before it takes any
    expect(
      r.cut.every((n, i) => n >= (r.cut[i - 1] ?? 0)),
      JSON.stringify(r.cut)
    ).toBe(true);
    expect(r.cut.filter((n, i) => n > (r.cut[i - 1] ?? 0)).length).toBeGreaterThanOrEqual(15);
    expect(r.lastPull.messages).toBe(r.after - r.cut[19]);
    // the board logged on through it: each reading within a second of its interval after the one before
    expect(r.during).toBeGreaterThanOrEqual(5);
    for (const g of r.gaps) expect(Math.abs(g - interval)).toBeLessThanOrEqual(1);
  }, 900_000);
});
