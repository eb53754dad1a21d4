// `pigeon pull --port tcp://...`: the command pulls a simulated logger's feed
// over a TCP port standing for its serial line (as the emulator's
// `-serial tcp:` is), sets its clock, reports and keeps the offset, and a
// second pull finds nothing to fetch. The port is the test's own, relaying to
// the simulated board in step with the wall clock.
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { createImage } from "../sim/card/image";
import { readCard } from "../sim/card/read";
import { loggerBoard } from "../sim/loggerboard";
import { listLoggers, openLine } from "../targets/node/pull";
import { Store } from "../targets/node/store";

const root = resolve(__dirname, ".."),
  run = promisify(execFile);
const pigeon = (...args: string[]) =>
  run("node", [join(root, "bin/pigeon.mjs"), ...args], {
    encoding: "utf8",
    env: { ...process.env, PIGEON_NO_BLE: "1" },
  });

describe("pigeon pull", () => {
  it("pulls a logger's feed over tcp://, sets its clock, a second pull fetches nothing, --latest, and lists loggers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pigeon-pull-")),
      image = await createImage(join(dir, "card.img"), 16 << 20);
    const board = loggerBoard({
      profile: "bare",
      image,
      clock: 1764000000,
      seedBytes: Array.from({ length: 32 }, (_, i) => 3 * i),
      config: "interval=600\nlog_mb=2\n",
      consoleLine: { baud: 115200 },
    });
    board.runFor(120 * 600 + 1);
    // the board's console on a TCP port, its virtual time following the wall clock
    const server = createServer((socket) => {
      let last = performance.now();
      const pump = setInterval(() => {
        const now = performance.now();
        board.runFor((now - last) / 1000);
        last = now;
        const out = board.received();
        if (out) socket.write(Buffer.from(out, "latin1"));
      }, 5);
      socket.on("data", (b) => board.type(b.toString("latin1")));
      socket.on("close", () => clearInterval(pump));
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const port = `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`,
      store = join(dir, "store");
    try {
      const first = JSON.parse(
        (await pigeon("pull", "--port", port, "--set-clock", "--json", "--store", store)).stdout
      );
      const [card] = readCard(image);
      expect(first.messages).toEqual({ accepted: card.messages.length, refused: 0 });
      expect(first.depths).toEqual([0, card.messages.length - 1]);
      // the board's clock began in 2025: far behind; after --set-clock within a second of the host's
      expect(first.clock.offsetMs).toBeLessThan(-1000 * 86400);
      expect(Math.abs(first.clockAfter.offsetMs)).toBeLessThan(1000);
      const s = new Store(store),
        author = first.logger;
      s.each(author, (t, d) => expect(t, `depth ${d}`).toBe(card.messages[d]));
      expect(s.clocks(author).map((c) => c.setTo)).toEqual([first.clockAfter.offsetMs]);
      const feeds = (await pigeon("feeds", "--store", store)).stdout;
      expect(feeds).toContain(`clock ${first.clockAfter.offsetMs >= 0 ? "+" : "-"}`);
      const again = await pigeon("pull", "--port", port, "--store", store);
      expect(again.stdout).toMatch(/pulled 0 messages/);
      expect(again.stdout).toMatch(/clock: \d+\.\d{3} s (ahead of|behind) this computer's/);
      // --latest: into another store, the newest 5 after their certificate path (as LATEST.REQ)
      const latest = join(dir, "latest"),
        top = card.messages.length - 1;
      expect(
        (await pigeon("pull", "--port", port, "--latest", "5", "--store", latest)).stdout
      ).toMatch(/refused 0|0 refused/);
      const held = new Store(latest).ranges(author);
      expect(held[held.length - 1][1]).toBe(top);
      expect(held[held.length - 1][0]).toBeLessThanOrEqual(top - 4);
      expect(held[0][0]).toBe(0); // the path reaches down to the log's first message
      expect(
        held.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i)).length
      ).toBeLessThan(20);
      // without --port: the ports seen, and who answers on those loggers come on (by USB ids); others are not written to
      const seen = await listLoggers({
        ports: async () => [
          { path: port, vendorId: "0483", productId: "5740" },
          { path: "/dev/ttyS9", manufacturer: "a modem" },
        ],
        open: openLine,
      });
      expect(seen).toEqual([
        {
          port,
          what: "Espruino (STM32 USB)",
          logger: { identity: author, first: 0, next: top + 1, offsetMs: expect.any(Number) },
        },
        { port: "/dev/ttyS9", what: "a modem" },
      ]);
    } finally {
      server.close();
    }
  }, 120_000);

  it("tcp:// is a serial port on this computer only: another host is refused, no connection made, nothing stored", async () => {
    const store = join(mkdtempSync(join(tmpdir(), "pigeon-pull-")), "store");
    const r = await pigeon("pull", "--port", "tcp://192.0.2.1:23", "--store", store).then(
      () => null,
      (e) => e as { code: number; stderr: string }
    );
    expect(r?.code).not.toBe(0);
    expect(r?.stderr).toMatch(/192\.0\.2\.1 is another host, and pigeon is offline only/);
  });
});
