import { it } from "vitest";
import { mkdirSync, rmSync } from "node:fs";
import { createLog, openLog, appendMessage } from "../src/card";
import { NodeDisk } from "../targets/node/nodedisk";
import { encode, enc } from "../src/utf8";
import { makeFeed } from "./feed";
import { readInput } from "../targets/node/reader";
rmSync("/tmp/bigdir", { recursive: true, force: true }); mkdirSync("/tmp/bigdir");
const f = makeFeed(20, new Uint8Array(32).fill(3));
const d = new NodeDisk("/tmp/bigdir");
createLog(d, "A.LOG", f.author, 30000, 5);
const log = openLog(d, "A.LOG");
for (const t of f.texts) { const n = encode(t); appendMessage(log, enc.b, n); }
it("x", async () => {const t0 = performance.now();
for (let i = 0; i < 10; i++) { const inp = await readInput("/tmp/bigdir"); const m = [...inp.messages]; if (i == 0) console.log(m.length, inp.losses); }
console.log("per log", (performance.now() - t0) / 10, "ms");
});
