// The figures a user plans a deployment with, from the emulated board's
// instruction counts (npm run bench: board.pico.*, board.wifi.*; npm run emu
// -- --figures). Times take one instruction a cycle at the board's clock: the
// optimistic bound (flash wait states and interrupts make a real board slower).
// Currents are Espruino's published figures for the Pico and the WiFi
// (espruino.com/Power+Consumption: 32 mA running, 0.02 mA in deep sleep,
// "Stop"); the card's draw is an assumption, stated here and in the README.
import { emulate, Emulated, SD_PINS } from "./board";
import { emulatedPull } from "./pull";
import { uartSeconds } from "./uart";
import { BoardName, Toolkit } from "./qemu";

export const MHZ: Record<BoardName, number> = { pico: 84, wifi: 100 };
/** Espruino's published currents (Pico and WiFi alike), mA. */
export const RUN_MA = 32,
  STOP_MA = 0.02;
/** Assumed: a micro-SD card left powered draws 0.2 mA idle, and a sector write keeps it at 50 mA for 3 ms (its programming time). */
export const CARD_IDLE_MA = 0.2,
  CARD_WRITE_MAS = 50 * 0.003;
export const BATTERY_MAH = 2500,
  INTERVAL_S = 600;

const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;

/** Sector writes per append after the log is made. */
function writesPerAppend(r: Emulated): number {
  const after = r.writes.filter((w) => r.boot !== undefined && w.at > r.boot);
  return after.reduce((n, w) => n + w.count, 0) / Math.max(1, r.readings.length);
}

/**
 * One board: 100 readings with the kernels and 2 without (the default
 * PIGEON.CFG but for the emulator's wiring and interval: a 64 MiB log on a
 * 128 MiB card), from power-on; and a pull of its feed over the console.
 */
export async function boardFigures(
  kit: Toolkit,
  board: BoardName,
  readings = 100
): Promise<Record<string, number>> {
  const config = `sd=${SD_PINS}\ninterval=1\n`,
    hz = MHZ[board] * 1e6,
    key = (k: string) => `board.${board}.${k}`;
  const withK = await emulate(kit, { board, config, readings, native: true, timeout: 2400 });
  const without = await emulate(kit, { board, config, readings: 2, native: false, timeout: 2400 });
  for (const r of [withK, without])
    if (!r.run.done)
      throw new Error(`${board}: the board did not finish: ${r.run.console.slice(-800)}`);
  if (!withK.native || without.native)
    throw new Error(
      `${board}: the kernels were ${withK.native ? "" : "not "}bound with pigeon.bin, ${without.native ? "" : "not "}without`
    );
  const ins = withK.readings.map((x) => x.insns),
    first2 = mean(ins.slice(0, 2)),
    noK = mean(without.readings.map((x) => x.insns));
  const f: Record<string, number> = {};
  f[key("mhz")] = MHZ[board];
  f[key("readingInsns")] = mean(ins);
  f[key("readingInsnsMin")] = Math.min(...ins);
  f[key("readingInsnsMax")] = Math.max(...ins);
  f[key("readingMs")] = (mean(ins) / hz) * 1000;
  // the first two readings (no lipmaa link to look up yet) with and without the kernels
  f[key("readingInsnsFirst2")] = first2;
  f[key("readingInsnsFirst2NoKernels")] = noK;
  f[key("readingMsNoKernels")] = (noK / hz) * 1000;
  f[key("kernelSpeedup")] = noK / first2;
  f[key("firstBootInsns")] = withK.boot!;
  f[key("firstBootS")] = withK.boot! / hz;
  f[key("firstBootInsnsNoKernels")] = without.boot!;
  f[key("firstBootSNoKernels")] = without.boot! / hz;
  f[key("variables")] = withK.memory.boot.total;
  f[key("variablesFreeAfterBoot")] = withK.memory.boot.free;
  f[key("variablesFreeAfterReadings")] = withK.memory.end.free;
  f[key("storageFreeBytes")] = withK.storageFree!;
  // energy: the reading's CPU time at the run current, its card writes, and the card left powered
  const writes = writesPerAppend(withK),
    cpuMAs = (mean(ins) / hz) * RUN_MA,
    cardMAs = writes * CARD_WRITE_MAS;
  f[key("cardWritesPerReading")] = writes;
  f[key("readingEnergyMAs")] = cpuMAs + cardMAs;
  const avg = STOP_MA + CARD_IDLE_MA + (cpuMAs + cardMAs) / INTERVAL_S;
  f[key("averageMA")] = avg;
  f[key("batteryDays")] = BATTERY_MAH / avg / 24;
  // and with the card switched off between readings (not what the firmware does: an upper bound)
  f[key("batteryDaysCardOff")] = BATTERY_MAH / (STOP_MA + (cpuMAs + cardMAs) / INTERVAL_S) / 24;
  // a pull over the console (spec/link.md) of a card of 300 readings: the board's instructions per message it sends, and
  // from them the CPU's bound on a year of 10-minute readings (the line's own at 115,200 baud is link.yearSecondsAt115200),
  // and the two together
  const pull = await emulatedPull(kit, { board, messages: 300, interval: 5 }),
    pulled = pull.lastPull.messages;
  f[key("pullInsnsPerMessage")] = pull.insnsPerMessage;
  f[key("pullMarkInsns")] = pull.markInsns; // what the harness's mark adds to each console write: left out here
  f[key("pullYearSeconds")] = (365 * 144 * pull.insnsPerMessage) / hz;
  // the board's work and a 115,200-baud UART together, as its 127-byte transmit buffer lets them overlap (emu/uart.ts)
  f[key("pullYearSecondsAt115200")] =
    (365 *
      144 *
      uartSeconds(pull.answers, {
        hz,
        baud: 115200,
        buffer: 127,
        requestBytes: pull.requestBytes,
        markInsns: pull.markInsns,
      })) /
    pulled;
  return f;
}
