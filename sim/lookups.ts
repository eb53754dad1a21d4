// How often the firmware's readings look each name up: the firmware with its
// lookups counted (scripts/scope.mjs, countedLookups) run on a simulated Pico
// with the kernels, as a flashed board runs it (the default PIGEON.CFG, a
// reading a minute). The build makes the bundle's names in this order.
import { createImage } from "./card/image";
import { PROFILES } from "./espruino";
import { loggerBoard } from "./loggerboard";
import { nativeMissing } from "./native";

const READINGS = 20;

/**
 * Lookups of each name (those of `names`, as `counted` numbers them) over
 * READINGS readings after the first two; or why they cannot be counted here.
 */
export async function countLookups(
  counted: string,
  names: string[],
  dir: string
): Promise<Record<string, number> | string> {
  const missing = nativeMissing();
  if (missing) return missing;
  const image = await createImage(dir + "/lookups.img", 64 << 20);
  // the counted bundle is larger than a Pico's Storage
  const b = loggerBoard({
    profile: { ...PROFILES.pico, storageBytes: 1 << 20 },
    native: true,
    image,
    clock: 1764000000,
    config: "interval=60\n",
    seedBytes: Array.from({ length: 32 }, (_, i) => i),
    code: counted,
  });
  b.runFor(120);
  b.load("for (var i = 0; i < __lookups.length; i++) __lookups[i] = 0;");
  b.runFor(60 * READINGS);
  if (b.errors.length) throw new Error(`the counted firmware failed: ${b.errors[0]}`);
  const by: Record<string, number> = {};
  (JSON.parse(b.load("JSON.stringify(__lookups)") as string) as (number | null)[]).forEach(
    (n, i) => n && (by[names[i]] = n)
  );
  return by;
}
