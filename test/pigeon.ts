// The built device bundle, loaded as Node would load it.
import { createRequire } from "node:module";
import { resolve } from "node:path";
const require = createRequire(__filename);
export const DIST = resolve(__dirname, "../dist/pigeon.js");
export const Pigeon = require(DIST);
