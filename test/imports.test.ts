// The import graph (scripts/imports.mjs): no circle, no upward import, no re-export.
import { describe, expect, it } from "vitest";
import { graph, violations } from "../scripts/imports.mjs";

describe("the import graph", () => {
  it("has no circle, no module importing one of a layer above it, and no re-export but the bundle's surface", () => {
    expect(violations(graph())).toEqual([]);
  });
  it("would show each: a circle (type imports count), a reader importing Node's layer, the device core importing the host's, a re-export", () => {
    const g = new Map([
      ["targets/host/a.ts", ["targets/host/b.ts"]],
      ["targets/host/b.ts", ["targets/host/a.ts", "targets/node/store.ts"]],
      ["src/log.ts", ["targets/host/a.ts"]],
      ["targets/node/store.ts", []],
      ["sim/main.ts", ["targets/node/cli.ts"]],
    ]);
    expect(violations({ g, reexports: ["targets/node/files.ts"] })).toEqual([
      "targets/host/b.ts imports targets/node/store.ts, a layer above it",
      "src/log.ts imports targets/host/a.ts, a layer above it",
      "sim/main.ts imports targets/node/cli.ts, a layer above it",
      "targets/node/files.ts re-exports another module's names (only src/index.ts, the bundle's surface, may)",
      "a circle: targets/host/a.ts -> targets/host/b.ts -> targets/host/a.ts",
    ]);
  });
});
