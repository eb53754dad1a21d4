// A pull from the firmware bundle on Espruino's own interpreter (its Linux
// build, whose console is its standard input and output: a serial line). The
// card stands in as the interpreter's directory, holding a log the host wrote
// of the logger's own feed; the logger goes on logging while the host pulls
// over the console, rebuilds every message and imports it into a store.
import { spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Duplex } from "node:stream";
import { describe, expect, it } from "vitest";
import { appendMessage, createLog, each, openLog } from "../src/log";
import { encode, enc } from "../src/utf8";
import { NodeDisk } from "../targets/node/nodedisk";
import { pullInto, streamLine } from "../targets/node/pull";
import { Store } from "../targets/node/store";
import { makeFeed } from "./feed";

const ESPRUINO =
  process.env.ESPRUINO ??
  [resolve(__dirname, "../../shared/emu/espruino-linux-x64")].find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
if (!ESPRUINO)
  console.log(
    "Espruino link test skipped: set ESPRUINO to Espruino's Linux interpreter (or put it at ../shared/emu/espruino-linux-x64) to run it"
  );

describe("a pull from the firmware on Espruino's interpreter, over its console", () => {
  it.skipIf(!ESPRUINO)(
    "answers a pull while logging; the host rebuilds every message byte for byte, the logger's own readings too",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "pigeon-esplink-")),
        seed = new Uint8Array(32).map((_, i) => 200 - i),
        n = 150;
      const feed = makeFeed(n, seed),
        path = feed.author.slice(1, 9) + ".LOG",
        disk = new NodeDisk(dir);
      createLog(disk, path, feed.author, 960, 12345);
      const log = openLog(disk, path);
      for (const t of feed.texts) {
        const len = encode(t); // before reading enc.b: encoding may replace the buffer
        expect(appendMessage(log, enc.b, len)).toBe("");
      }
      writeFileSync(join(dir, "PIGEON.CFG"), "log_mb=1\ninterval=1\nsensors=temp\n");
      writeFileSync(
        join(dir, "run.js"),
        readFileSync(resolve(__dirname, "../dist/logger.js"), "utf8") +
          `\nvar PIGEON_ON_APPEND = function () { print("@@appended@@"); };\nrequire("Storage").write("pigeon.seed", atob(${JSON.stringify(Buffer.from(seed).toString("base64"))}));\nPigeonLogger.start();\n`
      );
      const child = spawn(ESPRUINO!, ["run.js"], { cwd: dir, stdio: ["pipe", "pipe", "inherit"] });
      const line = streamLine(
        Duplex.from({ readable: child.stdout, writable: child.stdin }),
        "Espruino's console"
      );
      try {
        const store = new Store(join(dir, "store"));
        // wait until the logger has appended a reading of its own (it logs every second, also while answering)
        let seen = "";
        for (let got; !seen.includes("@@appended@@") && (got = await line.read(60_000)) !== null;)
          seen += got;
        expect(seen).toContain("@@appended@@");
        const { pulled, report } = await pullInto(store, line, { timeoutMs: 20_000 });
        expect(report.refusals).toEqual([]);
        expect(pulled.identity).toBe(feed.author);
        expect(pulled.next).toBeGreaterThan(n); // the readings the logger appended were pulled too
        expect(store.ranges(feed.author)).toEqual([[0, pulled.next - 1]]);
        // the host's own texts byte for byte, and the logger's readings as its card holds them
        const card: string[] = [];
        each(openLog(disk, path), disk.openFile(path, "r")!, (t) => void card.push(t));
        expect(card.slice(0, n)).toEqual(feed.texts);
        store.each(feed.author, (t, d) => expect(t, `depth ${d}`).toBe(card[d]));
        expect(Math.abs(pulled.clock.offsetMs)).toBeLessThan(2000);
        console.log(
          `Espruino link: ${pulled.messages} messages, ${Math.round(pulled.bytes / pulled.messages)} bytes each on the line, ${pulled.requests} requests`
        );
      } finally {
        child.kill();
      }
    },
    300_000
  );
});
