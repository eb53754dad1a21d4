// npm run flash, offline: the espruino CLI writes what it would send, and that
// code rebuilds the exact bundle in Storage, where it still works.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { DIST } from "./pigeon";

const root = resolve(__dirname, "..");

describe("npm run flash", () => {
  it("uploads dist/pigeon.js into Storage; the sent code rebuilds it byte for byte and it signs", () => {
    const out = join(mkdtempSync(join(tmpdir(), "pigeon-flash-")), "sent.js");
    const p = spawnSync("node", [join(root, "scripts/flash.mjs"), "--board", join(__dirname, "fixtures/board-pico.json"), "--out", out], { encoding: "utf8" });
    expect(p.status, p.stderr + p.stdout).toBe(0);
    const sent = readFileSync(out, "utf8");
    // run what would be sent against a Storage that behaves like the board's (fill only 0xFF bytes)
    const files: Record<string, Buffer> = {};
    const Storage = {
      write(name: string, data: string, offset?: number, size?: number) {
        const bytes = Buffer.from(data, "latin1");
        if (!offset) files[name] = Buffer.alloc(size ?? bytes.length, 0xff);
        const f = files[name];
        for (let i = 0; i < bytes.length; i++) {
          if (f[(offset ?? 0) + i] !== 0xff) throw new Error("Storage: writing over written flash");
          f[(offset ?? 0) + i] = bytes[i];
        }
        return true;
      },
      read: (name: string) => files[name].toString("latin1"),
    };
    const printed: string[] = [];
    const ctx = vm.createContext({ require: (m: string) => (m === "Storage" ? Storage : undefined), atob: (s: string) => Buffer.from(s, "base64").toString("latin1"), print: (s: string) => printed.push(s) });
    vm.runInContext(sent, ctx);
    expect(files["pigeon.js"].equals(readFileSync(DIST))).toBe(true);
    expect(printed.join("\n")).toMatch(/pigeon\.js in Storage: \d+ bytes/);
    const board = vm.createContext({});
    vm.runInContext(Storage.read("pigeon.js"), board);
    const text = vm.runInContext(`Pigeon.sign(new Uint8Array(32), {kind: "t", prev: "NONE", depth: 0, lipmaa: "NONE", body: [["a", '"b"']]})`, board);
    expect(vm.runInContext(`Pigeon.verify(${JSON.stringify(text)})`, board)).toBe(true);
  });
  it("refuses to run without a board and a port or --out", () => {
    const p = spawnSync("node", [join(root, "scripts/flash.mjs")], { encoding: "utf8" });
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(/usage: npm run flash/);
  });
});
