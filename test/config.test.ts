import { describe, expect, it } from "vitest";
import { DEFAULTS, KEYS, parseConfig } from "../src/config";

describe("PIGEON.CFG", () => {
  it("has at most 10 keys, named a-z0-9_", () => {
    expect(Object.keys(KEYS).length).toBeLessThanOrEqual(10);
    for (const k of Object.keys(KEYS)) expect(k).toMatch(/^[a-z0-9_]+$/);
  });
  it("reads keys, comments and blank lines, and fills in defaults", () => {
    const c = parseConfig(
      "# logger on the buoy\ninterval=300\n\nsensors = temp,vbat,a0\nsd=B3,B5,B4,B6\r\n"
    );
    expect(c).toEqual({ ...DEFAULTS, interval: 300, sensors: "temp,vbat,a0", sd: "B3,B5,B4,B6" });
    expect(parseConfig("")).toEqual(DEFAULTS);
  });
  it("refuses an unknown key, a bad value, a repeated key and a line without '=', naming the line", () => {
    expect(() => parseConfig("interval=60\nspeed=9")).toThrow(
      /^PIGEON.CFG line 2: unknown key speed/
    );
    expect(() => parseConfig("interval=0")).toThrow(
      /^PIGEON.CFG line 1: interval must be seconds between readings, 1 to 86400, not "0"/
    );
    expect(() => parseConfig("interval=ten")).toThrow(/line 1: interval must be/);
    expect(() => parseConfig("sd=B3,B5")).toThrow(/line 1: sd must be the SD card's SPI pins/);
    expect(() => parseConfig("log_mb=5\n\nlog_mb=6")).toThrow(
      /^PIGEON.CFG line 3: log_mb is already set on line 1/
    );
    expect(() => parseConfig("interval")).toThrow(/line 1: expected key=value/);
    expect(() => parseConfig("Interval=5")).toThrow(/line 1: a key is made of a-z 0-9 _ only/);
  });
  it("refuses an 11th key on its line (with fewer than 10 keys defined, it is unknown or repeated)", () => {
    const ten = Array.from({ length: 10 }, (_, i) => `k${i}=1`).join("\n");
    expect(() => parseConfig(ten + "\nk10=1")).toThrow(/line 1: unknown key k0/);
    // ten lines of known keys cannot repeat, so the 11th key line is what trips the limit
    const known = Object.keys(KEYS);
    const lines = known.map(
      (k) => `${k}=${k === "sensors" ? "temp" : k === "sd" ? "B3,B5,B4,B6" : "1"}`
    );
    while (lines.length < 10) lines.push("# padding");
    expect(() => parseConfig(lines.join("\n") + "\nextra=1")).toThrow(
      /PIGEON.CFG line 11: unknown key extra/
    );
  });
});
