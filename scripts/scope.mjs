// The bundle's scope in the order Espruino searches it. Espruino keeps a
// function's variables as a list in the order they were made and looks a name
// up by walking it: every reference a function makes to the bundle's own names
// (the modules' top level, some 340 of them in the firmware) walks that list
// from the start, and a global's (Math, E) walks all of it. So the firmware's
// names are made in the order of how often a reading looks them up, counted by
// running the firmware with each lookup counted in the simulator
// (sim/lookups.ts): a `var` statement listing them opens the bundle's body, and
// the declarations after it assign what it made. On the emulated Pico this took
// a reading from 11.05 M to 10.0 M instructions.
import * as acorn from "acorn";
import MagicString from "magic-string";

/** A node's child nodes, with the key each is under. */
function* children(n) {
  for (const k in n) {
    const v = n[k];
    if (Array.isArray(v)) {
      for (const c of v) if (c && typeof c.type == "string") yield [c, k];
    } else if (v && typeof v.type == "string") yield [v, k];
  }
}
/** The names a function declares: parameters, its own name (an expression's), vars and functions (not those of functions inside). */
function declared(fn) {
  const names = new Set(fn.params.map((p) => p.name));
  if (fn.id && fn.type === "FunctionExpression") names.add(fn.id.name);
  const walk = (n) => {
    if (n.type === "VariableDeclarator") names.add(n.id.name);
    if (n.type === "FunctionDeclaration") return void names.add(n.id.name);
    if (n.type === "FunctionExpression") return;
    for (const [c] of children(n)) walk(c);
  };
  fn.body.body.forEach(walk);
  return names;
}
/** An identifier that is not a variable's use: a property name, a declared name, a label. */
function notAUse(parent, key) {
  const t = parent.type;
  return (
    (t === "MemberExpression" && key === "property" && !parent.computed) ||
    (t === "Property" && key === "key") ||
    (t === "VariableDeclarator" && key === "id") ||
    ((t === "FunctionDeclaration" || t === "FunctionExpression") && key !== "body") ||
    t === "CatchClause" ||
    t === "LabeledStatement" ||
    t === "BreakStatement" ||
    t === "ContinueStatement"
  );
}

/**
 * The bundle `var Name = (function () { ... })();`: its body's function, the
 * names the body makes (in the order it makes them), and each use of one of
 * them or of a global from the code inside it ({ node, parent, key, name };
 * a global's name is "global:Name").
 */
export function bundleScope(code) {
  const ast = acorn.parse(code, { ecmaVersion: 5 });
  const decl = ast.body[0]?.declarations?.[0];
  const body = decl?.init?.callee;
  if (ast.body[0]?.type !== "VariableDeclaration" || body?.type !== "FunctionExpression")
    throw new Error("expected the bundle to open with var Name = (function () { ... })()");
  const top = declared(body),
    order = [],
    uses = [];
  for (const st of body.body.body)
    if (st.type === "VariableDeclaration") for (const d of st.declarations) order.push(d.id.name);
    else if (st.type === "FunctionDeclaration") order.push(st.id.name);
  const walk = (n, scopes, parent, key) => {
    if (n.type === "FunctionDeclaration" || n.type === "FunctionExpression") {
      scopes = [...scopes, declared(n)];
      for (const [c, k] of children(n)) walk(c, scopes, n, k);
      return;
    }
    if (n.type === "CatchClause") scopes = [...scopes, new Set([n.param.name])];
    if (n.type === "Identifier") {
      if (notAUse(parent, key)) return;
      let i = scopes.length - 1;
      while (i >= 0 && !scopes[i].has(n.name)) i--;
      if (i <= 0) uses.push({ node: n, parent, key, name: (i < 0 ? "global:" : "") + n.name });
      return;
    }
    for (const [c, k] of children(n)) walk(c, scopes, n, k);
  };
  for (const [c, k] of children(body.body)) walk(c, [top], body.body, k);
  return { body, names: [...new Set(order)], uses };
}

/**
 * The bundle with a count kept of each lookup of its own names and of globals:
 * `__lookups[i]` for names[i]. Each use becomes `(__lookups[i]++, use)`; an
 * assignment, ++/-- or typeof is counted as a whole (its target cannot be wrapped).
 */
export function countedLookups(code) {
  const { uses } = bundleScope(code);
  const names = [...new Set(uses.map((u) => u.name))],
    index = new Map(names.map((n, i) => [n, i])),
    s = new MagicString(code);
  for (const u of uses) {
    const p = u.parent,
      whole =
        (p.type === "AssignmentExpression" && u.key === "left") ||
        p.type === "UpdateExpression" ||
        (p.type === "UnaryExpression" && p.operator === "typeof"),
      at = whole ? p : u.node;
    if (p.type === "ForInStatement" && u.key === "left") continue;
    s.prependLeft(at.start, `(__lookups[${index.get(u.name)}]++,`);
    s.appendRight(at.end, ")");
  }
  return { code: `var __lookups=[${names.map(() => 0)}];` + s.toString(), names };
}

/**
 * The bundle with its numeric constants written where they are used: a name its
 * body declares once, with a number, and never assigns. Each was a variable of
 * the bundle's scope (a board's memory) and a search of it at every use.
 */
export function inlineConstants(code) {
  const { body, uses } = bundleScope(code);
  const declarators = new Map(),
    assigned = new Set();
  for (const st of body.body.body)
    if (st.type === "VariableDeclaration")
      for (const d of st.declarations)
        declarators.set(d.id.name, [...(declarators.get(d.id.name) || []), d]);
    else if (st.type === "FunctionDeclaration") declarators.set(st.id.name, [st, st]); // never a constant
  for (const u of uses)
    if (
      (u.parent.type === "AssignmentExpression" && u.key === "left") ||
      u.parent.type === "UpdateExpression" ||
      (u.parent.type === "ForInStatement" && u.key === "left")
    )
      assigned.add(u.name);
  const value = new Map();
  for (const [name, ds] of declarators) {
    const init = ds[0].init;
    if (
      ds.length === 1 &&
      !assigned.has(name) &&
      init?.type === "Literal" &&
      typeof init.value === "number"
    )
      value.set(name, init.raw);
  }
  if (!value.size) return code;
  // the uses first, then (parsed again) the declarations
  const s = new MagicString(code);
  for (const u of uses)
    if (value.has(u.name)) s.overwrite(u.node.start, u.node.end, value.get(u.name));
  const used = s.toString(),
    t = new MagicString(used);
  for (const st of bundleScope(used).body.body.body) {
    if (st.type !== "VariableDeclaration" || !st.declarations.some((d) => value.has(d.id.name)))
      continue;
    const kept = st.declarations
      .filter((d) => !value.has(d.id.name))
      .map((d) => used.slice(d.start, d.end));
    t.overwrite(st.start, st.end, kept.length ? `var ${kept.join(", ")};` : "");
  }
  return t.toString();
}

/** Globals every engine has and no code replaces: a reading's uses of them go through a name of the bundle's own. */
const CONSTANT_GLOBALS = ["Math"];

/**
 * The bundle making its names (those counted: name to lookups) most looked-up
 * first, the rest after as before. A constant global looked up (Math: a search
 * past all the bundle's names, then the global ones) is used through $Name,
 * made among them as its count places it.
 */
export function hotFirst(code, lookups) {
  const { body, names, uses } = bundleScope(code);
  const s = new MagicString(code),
    count = { ...lookups },
    made = {};
  for (const g of CONSTANT_GLOBALS) {
    const alias = "$" + g;
    if (!(lookups["global:" + g] > 0) || names.includes(alias)) continue;
    for (const u of uses)
      if (u.name === "global:" + g) s.overwrite(u.node.start, u.node.end, alias);
    count[alias] = lookups["global:" + g];
    made[alias] = `${alias}=${g}`;
    names.push(alias);
  }
  const hot = names
    .filter((n) => count[n] > 0)
    .sort((a, b) => count[b] - count[a] || names.indexOf(a) - names.indexOf(b));
  if (!hot.length) return code;
  s.appendLeft(body.body.start + 1, `var ${hot.map((n) => made[n] || n).join(",")};`);
  return s.toString();
}
