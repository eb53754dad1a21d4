// The logger firmware (dist/logger.js) on simulated boards writing FAT16 card images.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createImage, FatImage } from "../sim/card/image";
import { readCard } from "../sim/card/read";
import { loggerBoard } from "../sim/loggerboard";
import { checkFeed } from "./feed";
import { Pigeon } from "./pigeon";

const tmp = mkdtempSync(join(tmpdir(), "pigeon-logger-"));
let blank: Buffer;
beforeAll(async () => {
  blank = Buffer.from((await createImage(join(tmp, "blank.img"), 64 << 20)).buffer);
});
const card = (name: string) => FatImage.fromBuffer(join(tmp, name), Buffer.from(blank));
const SEED = Array.from({ length: 32 }, (_, i) => i + 100);

describe("the logger on a simulated board", () => {
  it("logs a day of 10-minute readings on a Pico; the host reads and verifies the card", async () => {
    const img = await card("day.img");
    const b = loggerBoard({ profile: "pico", image: img, clock: 1764000000, seedBytes: SEED });
    expect(b.errors).toEqual([]);
    b.runFor(24 * 3600);
    expect(b.errors).toEqual([]);
    const feeds = readCard(img);
    expect(feeds.length).toBe(1);
    expect(feeds[0].messages.length).toBe(144);
    expect(feeds[0].author).toBe(Pigeon.identity(Uint8Array.from(SEED)));
    checkFeed(feeds[0].messages);
    expect(img.readFile("IDENT.TXT")!.toString()).toBe(feeds[0].author + "\n");
  });
});
