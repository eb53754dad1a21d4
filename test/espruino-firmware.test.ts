// The firmware on Espruino's own interpreter (its Linux build, where files are
// the host's; ESPRUINO or ../shared/emu's build): it boots the firmware in a
// directory standing in for the card, logs a few readings, and the host reads
// and verifies the log. This is where Espruino's language subset shows.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { each, openLog } from "../src/log";
import { MemDisk } from "../sim/card/memdisk";
import { espruinoInterpreter, noEspruino } from "./engines";
import { Pigeon } from "./pigeon";

const ESPRUINO = espruinoInterpreter();
if (!ESPRUINO) console.log(noEspruino("Espruino firmware test"));

describe("the firmware on Espruino's interpreter", () => {
  it.skipIf(!ESPRUINO)(
    "boots, logs three readings to the stand-in card, and the host verifies them",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "pigeon-esp-"));
      writeFileSync(join(dir, "PIGEON.CFG"), "log_mb=1\nsensors=temp,vbat\n");
      writeFileSync(
        join(dir, "run.js"),
        readFileSync(resolve(__dirname, "../dist/logger.js"), "utf8") +
          `
PigeonLogger.start();
var n = 0;
function go() { PigeonLogger.step(); if (++n < 3) setTimeout(go, 1); else { print("@@" + PigeonLogger.state.status + "@@"); quit(); } }
setTimeout(go, 1);
`
      );
      const p = spawnSync(ESPRUINO!, ["run.js"], {
        cwd: dir,
        encoding: "utf8",
        timeout: 5 * 60 * 1000,
      });
      expect(p.stdout).toContain("@@logging@@");
      const name = readdirSync(dir).find((f) => f.endsWith(".LOG"))!;
      const disk = new MemDisk();
      disk.files.set(name, readFileSync(join(dir, name)));
      const texts: string[] = [];
      each(openLog(disk, name), disk.openFile(name, "r")!, (t) => texts.push(t));
      expect(texts.length).toBe(3);
      for (const t of texts) expect(Pigeon.refusal(t)).toBe("");
      expect(readFileSync(join(dir, "IDENT.TXT"), "utf8")).toBe(
        texts[0].split("\n")[0].slice(7) + "\n"
      );
    },
    5 * 60 * 1000
  );
});
