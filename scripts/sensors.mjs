// A user's sensor code as npm run flash saves it (.boot0): minified as ES5 by
// esbuild, top-level names kept (PIGEON_SENSORS and the hooks are globals). On
// a Pico the firmware and the kernels fill most of Storage's 48 KB: a 4.8 KB
// driver saves as 2.7 KB (found on the emulated Pico, npm run emu).
import { transformSync } from "esbuild";

export function sensorCode(source) {
  return transformSync(source, { minify: true, target: "es5", legalComments: "none" }).code;
}
