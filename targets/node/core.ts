// The core as every engine runs it, for the host: the device bundle itself.
import { join } from "node:path";
import { projectRoot } from "./root";

// eslint-disable-next-line @typescript-eslint/no-var-requires
export const Pigeon = require(join(projectRoot(), "dist", "pigeon.js"));
