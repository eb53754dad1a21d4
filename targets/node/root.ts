import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/** The project's root (where package.json is), from this code's place in the sources or in dist/. */
export function projectRoot(): string {
  let d = __dirname;
  while (!existsSync(join(d, "package.json")) && dirname(d) !== d) d = dirname(d);
  return d;
}
