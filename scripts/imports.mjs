// The import graph's rules (the layout: docs/layout.md): no module
// imports one of a layer above its own, none re-exports another's names, and
// there is no circle, type imports included. `node scripts/imports.mjs`
// prints what breaks them and exits 1; test/imports.test.ts runs it in npm test.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");

/** Where each part of the tree may import from (path prefixes); the first rule that matches a file is its. */
export const LAYERS = [
  ["src/", ["src/"]],
  ["targets/espruino/", ["src/", "targets/espruino/"]],
  ["targets/host/", ["src/", "targets/host/"]],
  ["targets/web/", ["src/", "targets/host/", "targets/web/"]],
  ["targets/node/cli.ts", ["src/", "targets/host/", "targets/node/"]],
  ["targets/node/", ["src/", "targets/host/", "targets/node/!cli.ts"]],
  ["sim/card/", ["src/", "targets/host/", "sim/card/", "sim/prng.ts"]],
  ["sim/", ["src/", "targets/host/", "targets/node/!cli.ts", "sim/", "scripts/pretokenise.mjs"]],
  ["bench/", ["src/", "targets/", "sim/", "bench/", "scripts/", "test/"]],
  ["emu/", ["src/", "targets/", "sim/", "bench/", "scripts/", "emu/"]],
  ["scripts/", ["src/", "targets/", "sim/", "scripts/"]],
  ["test/", ["src/", "targets/", "sim/", "bench/", "scripts/", "emu/", "test/"]],
];
/** The one module that may re-export: the device bundle's surface. */
const SURFACE = "src/index.ts";

const allowed = (to, rules) =>
  rules.some((r) => {
    const [prefix, not] = r.split("!");
    return to.startsWith(prefix) && !(not && to === prefix + not);
  });

/** The project's modules and the relative imports of each (paths from the root). */
export function graph(dir = root) {
  const files = [];
  const walk = (d) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) {
        if (n !== "node_modules" && n !== "vectors" && n !== "fixtures") walk(p);
      } else if (/\.(ts|mjs)$/.test(n) && !n.endsWith(".d.ts")) files.push(p);
    }
  };
  for (const d of ["src", "targets", "sim", "bench", "emu", "scripts", "test"])
    if (existsSync(join(dir, d))) walk(join(dir, d));
  const g = new Map(),
    reexports = [];
  for (const f of files) {
    const text = readFileSync(f, "utf8"),
      rel = relative(dir, f),
      deps = [];
    for (const i of ts.preProcessFile(text, true, true).importedFiles) {
      if (!i.fileName.startsWith(".")) continue;
      const base = resolve(dirname(f), i.fileName);
      const hit = [base, base + ".ts", base + ".mjs", join(base, "index.ts")].find(
        (p) => existsSync(p) && statSync(p).isFile()
      );
      if (hit) deps.push(relative(dir, hit));
    }
    g.set(rel, deps);
    if (rel !== SURFACE && /^export\s+(\*|(type\s+)?\{[^}]*\})\s+from\s/m.test(text))
      reexports.push(rel);
  }
  return { g, reexports };
}

/** What breaks the rules: circles, imports from a layer above, re-exports. */
export function violations({ g, reexports }, layers = LAYERS) {
  const out = [];
  for (const [f, deps] of g) {
    const rule = layers.find(([prefix]) => f.startsWith(prefix));
    if (!rule) continue;
    for (const d of deps) if (!allowed(d, rule[1])) out.push(`${f} imports ${d}, a layer above it`);
  }
  for (const f of reexports)
    out.push(`${f} re-exports another module's names (only ${SURFACE}, the bundle's surface, may)`);
  // circles: depth-first, each reported once by its members in order
  const state = new Map(),
    stack = [],
    seen = new Set();
  const visit = (v) => {
    state.set(v, 1);
    stack.push(v);
    for (const w of g.get(v) ?? []) {
      if (state.get(w) === 1) {
        const c = stack.slice(stack.indexOf(w));
        const key = [...c].sort().join(" ");
        if (!seen.has(key)) (seen.add(key), out.push(`a circle: ${[...c, w].join(" -> ")}`));
      } else if (!state.has(w)) visit(w);
    }
    stack.pop();
    state.set(v, 2);
  };
  for (const v of g.keys()) if (!state.has(v)) visit(v);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const v = violations(graph());
  for (const line of v) console.log(line);
  console.log(
    v.length
      ? `imports: ${v.length} broken rules`
      : "imports: no circle, no upward import, no re-export"
  );
  process.exit(v.length ? 1 : 0);
}
