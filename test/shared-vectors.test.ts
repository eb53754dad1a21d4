// The team's known-answer data, ../shared/vectors (or $PIGEON_SHARED/vectors),
// gets the same checks as this project's own test/vectors/ when it is there.
// A fresh clone has no ../shared: then this file skips and says so.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "vitest";
import { describeVectorSet } from "./vectors-suite";

const SHARED = process.env.PIGEON_SHARED
  ? resolve(process.env.PIGEON_SHARED)
  : resolve(__dirname, "../../shared");
const DIR = join(SHARED, "vectors");
const present = existsSync(join(DIR, "vectors.json"));

if (present) describeVectorSet(`the shared vectors in ${DIR}`, DIR);
else {
  console.log(
    `shared vectors skipped: ${DIR} does not exist (set PIGEON_SHARED to the folder that holds vectors/ to check them)`
  );
  describe.skip(`the shared vectors in ${DIR}`, () => {
    it(`${DIR} does not exist`, () => {});
  });
}
