// Runs the logger firmware (dist/firmware.js, the ES5 file a board runs) on a
// simulated board for some virtual time.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Board, type BoardOptions } from "./espruino";
import { BLOB_FILE } from "./native";

const root = join(__dirname, "..");
export const FIRMWARE = join(root, "dist/firmware.js");

/**
 * A board with the firmware file saved as its boot code (as `npm run flash`
 * does), booted. `before` goes into Storage as .boot0, which runs first: where
 * users put their own sensors. `config` is saved as PIGEON.CFG in Storage;
 * `seedBytes` pre-provisions the seed (else the board makes one on first boot).
 * `native` also saves the kernels' blob (pigeon.bin) and simulates E.nativeCall.
 */
export function loggerBoard(
  opts: BoardOptions & { seedBytes?: number[]; config?: string; before?: string; code?: string }
): Board {
  const b = new Board(opts);
  const storage = (name: string, data: string) =>
    b.load(`require("Storage").write(${JSON.stringify(name)}, ${data})`);
  if (opts.seedBytes)
    storage("pigeon.seed", `E.toString(new Uint8Array(${JSON.stringify(opts.seedBytes)}))`);
  if (opts.config) storage("PIGEON.CFG", JSON.stringify(opts.config));
  if (opts.before) storage(".boot0", JSON.stringify(opts.before));
  // the kernels' blob, as npm run flash saves it (the firmware binds it on Cortex-M4 boards)
  if (opts.native)
    b.load(
      `require("Storage").write("pigeon.bin", atob(${JSON.stringify(readFileSync(BLOB_FILE).toString("base64"))}))`
    );
  b.setBootCode(opts.code ?? readFileSync(FIRMWARE, "utf8"));
  b.reboot("power-on");
  return b;
}
