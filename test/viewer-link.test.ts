// The viewer's "Connect a logger" in headless Chromium: a stand-in for Web
// Serial (navigator.serial, which headless Chromium cannot give a real port)
// relays the page's bytes to the console line of a simulated logger running
// the firmware (sim/serial.ts), as a USB cable would, with lines lost and
// garbled. The pull fills the page as an opened bundle would: verified,
// plotted, and saved byte for byte as the logger's card holds it; a pull cut
// off goes on from what the page holds.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { createImage } from "../sim/card/image";
import { readCard } from "../sim/card/read";
import { loggerBoard } from "../sim/loggerboard";
import { SimLine } from "../sim/serial";
import { launchChromium } from "./chromium";

const root = resolve(__dirname, ".."),
  VIEWER = pathToFileURL(join(root, "dist/viewer.html")).href;
const CLOCK = 1764000000,
  BAUD = 115200;

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

/** A simulated logger (the firmware on a bare board) with `readings` readings on its card, its console a line at BAUD. */
async function logger(readings: number) {
  const dir = mkdtempSync(join(tmpdir(), "pigeon-viewlink-")),
    image = await createImage(join(dir, "card.img"), 16 << 20),
    interval = 60;
  const board = loggerBoard({
    profile: "bare",
    image,
    clock: CLOCK,
    seedBytes: Array.from({ length: 32 }, (_, i) => i * 5),
    config: `interval=${interval}\nlog_mb=2\n`,
    consoleLine: { baud: BAUD },
  });
  board.runFor(readings * interval + 0.5);
  return { board, image };
}

/**
 * The viewer in a fresh context, with stand-ins for navigator.serial and
 * navigator.bluetooth (the browser's own getters; headless Chromium has no
 * port or radio to give) that relay to the line `line()` names at the time.
 */
async function viewer(line: () => SimLine) {
  const context = await browser.newContext({ acceptDownloads: true }),
    page = await context.newPage(),
    requests: string[] = [],
    errors: string[] = [];
  page.on("request", (r) => {
    if (!/^(file|data|blob):/.test(r.url())) requests.push(r.url());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  await page.exposeFunction("__lineWrite", (s: string) => line().write(s));
  await page.exposeFunction("__lineRead", async (ms: number) => ({
    got: await line().read(ms),
    cut: line().cut,
  }));
  await page.addInitScript(() => {
    const g = window as any,
      bytes = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));
    Object.defineProperty(navigator, "serial", {
      configurable: true,
      value: {
        // a fresh port each time the user picks one
        requestPort: async () => ({
          async open() {},
          async close() {},
          readable: new ReadableStream({
            async pull(c) {
              for (;;) {
                const r = await g.__lineRead(50);
                if (r.got !== null) return c.enqueue(bytes(r.got));
                if (r.cut) return c.close(); // the cable is out: the stream ends
              }
            },
          }),
          writable: new WritableStream({
            write: (b: Uint8Array) => g.__lineWrite(String.fromCharCode(...b)),
          }),
        }),
      },
    });
    const NUS = "6e400001-b5a3-f393-e0a9-e50e24dcca9e";
    Object.defineProperty(navigator, "bluetooth", {
      configurable: true,
      value: {
        requestDevice: async (o: any) => {
          g.__bleAsked = o;
          let connected = false;
          const rx: any = new EventTarget();
          const tx = {
            writeValue: async (b: Uint8Array) => {
              if (b.length > 20) throw new Error("a GATT write of more than 20 bytes");
              g.__bleWrites = (g.__bleWrites ?? 0) + 1;
              await g.__lineWrite(String.fromCharCode(...b));
            },
          };
          rx.startNotifications = async () => {
            (async () => {
              while (connected) {
                const r = await g.__lineRead(50);
                if (r.got === null) continue;
                // notifications of at most 20 bytes, as the board's Nordic UART sends them
                for (let i = 0; i < r.got.length; i += 20) {
                  rx.value = new DataView(bytes(r.got.slice(i, i + 20)).buffer);
                  rx.dispatchEvent(new Event("characteristicvaluechanged"));
                }
              }
            })();
          };
          return {
            name: "Puck.js 4f2a",
            gatt: {
              connect: async () => (
                (connected = true),
                {
                  getPrimaryService: async (u: string) => {
                    if (u !== NUS) throw new Error("no such service");
                    return {
                      getCharacteristic: async (c: string) => (c.startsWith("6e400002") ? tx : rx),
                    };
                  },
                  disconnect: () => (connected = false),
                }
              ),
            },
          };
        },
      },
    });
  });
  await page.goto(VIEWER);
  await page.waitForFunction(() => (window as any).pigeonState === "ready");
  /** Clicks "Connect a logger" by `via` and waits for the pull and the load. */
  const pull = async (via: string) => {
    await page.selectOption("#via", via);
    await page.click("#connect");
    await page.waitForFunction(
      () => ["done", "error"].includes((window as any).pigeonState),
      null,
      { timeout: 120000 }
    );
    return page.evaluate(() => (window as any).pigeonState);
  };
  const results = () =>
    page.evaluate(() => [
      (window as any).pigeonPulled,
      (window as any).pigeonSummary,
      (window as any).pigeonPlots,
    ]);
  return { context, page, requests, errors, pull, results };
}

describe("the viewer's Connect a logger (stand-ins for Web Serial and Web Bluetooth, a simulated logger)", () => {
  it("by USB: pulls the whole feed over a faulty line, verifies and plots it, saves it byte for byte; a pull cut off goes on", async () => {
    const { board, image } = await logger(120);
    // the cable the page talks through: the first pull's is pulled out after 6,000 bytes
    let line = new SimLine(board, BAUD, CLOCK * 1000, { seed: 5, cutAfter: 6000 });
    const v = await viewer(() => line);
    expect(await v.page.isVisible("#connect")).toBe(true);

    // cut off: an error that says what was kept
    expect(await v.pull("serial")).toBe("error");
    const status = await v.page.textContent("#status");
    expect(status).toMatch(/stopped answering/);
    const kept = Number(/\((\d+) messages kept: connect again to go on\)/.exec(status!)?.[1]);
    expect(kept).toBeGreaterThan(0);

    // the cable back, with lines lost and garbled both ways: the rest comes
    line = new SimLine(board, BAUD, CLOCK * 1000, {
      seed: 6,
      drop: 0.1,
      garble: 0.1,
      dropTyped: 0.1,
      garbleTyped: 0.1,
    });
    expect(await v.pull("serial")).toBe("done");
    const [card] = readCard(image);
    const [pulled, summary, plots] = await v.results();
    expect(Object.values(line.faults).reduce((a, b) => a + b)).toBeGreaterThan(1);
    expect(pulled.retried).toBeGreaterThan(0); // what was lost was asked for again
    expect(pulled.messages).toBe(card.messages.length - kept); // only what the page lacked was asked for
    expect(pulled.held).toBe(card.messages.length);
    expect(summary.messages.accepted).toBe(card.messages.length);
    expect(summary.messages.refused).toBe(0);
    expect(plots.length).toBeGreaterThan(0);
    for (const p of plots) expect(p.points).toBe(card.messages.length);
    expect(await v.page.textContent("#pulled")).toMatch(/the logger's clock is \d+\.\d s/);

    // the bundle saved is the card's feed, byte for byte
    const [download] = await Promise.all([
      v.page.waitForEvent("download"),
      v.page.click("#bundle"),
    ]);
    expect(readFileSync(await download.path(), "latin1")).toBe(card.messages.join("\n\n") + "\n");
    expect(v.requests).toEqual([]);
    expect(v.errors).toEqual([]);
    await v.context.close();
  }, 180_000);

  it("by Bluetooth: the Nordic UART in 20-byte writes and notifications, the same feed", async () => {
    const { board, image } = await logger(30);
    const line = new SimLine(board, BAUD, CLOCK * 1000, { seed: 7 });
    const v = await viewer(() => line);
    expect(await v.pull("bluetooth")).toBe("done");
    const [card] = readCard(image);
    const [pulled, summary] = await v.results();
    expect(pulled.messages).toBe(card.messages.length);
    expect(summary.messages.accepted).toBe(card.messages.length);
    const [asked, writes] = await v.page.evaluate(() => [
      (window as any).__bleAsked,
      (window as any).__bleWrites,
    ]);
    expect(asked.optionalServices).toEqual(["6e400001-b5a3-f393-e0a9-e50e24dcca9e"]);
    expect(writes).toBeGreaterThan(pulled.requests); // requests longer than 20 bytes went in pieces
    expect(v.requests).toEqual([]);
    expect(v.errors).toEqual([]);
    await v.context.close();
  }, 120_000);
});
