// Runs the logger firmware (dist/logger.js, the ES5 bundle a board runs) on a
// simulated board for some virtual time.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Board, type BoardOptions } from "./espruino";

const root = join(__dirname, "..");
export const LOGGER = join(root, "dist/logger.js");

/** The firmware as saved to a board: the bundle, then its start. `before` runs first (user sensors, say). */
export function firmware(before = ""): string {
  return before + "\n" + readFileSync(LOGGER, "utf8") + "\nPigeonLogger.start();\n";
}

/** A board with the logger saved as its boot code, booted. */
export function loggerBoard(opts: BoardOptions & { seedBytes?: number[]; config?: string; before?: string }): Board {
  const b = new Board(opts);
  if (opts.seedBytes) b.load(`require("Storage").write("pigeon.seed", E.toString(new Uint8Array(${JSON.stringify(opts.seedBytes)})))`);
  if (opts.config) b.load(`require("Storage").write("PIGEON.CFG", ${JSON.stringify(opts.config)})`);
  b.setBootCode(firmware(opts.before));
  b.reboot("power-on");
  return b;
}
