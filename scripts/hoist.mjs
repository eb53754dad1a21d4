// The device bundle and Espruino's function declarations (scripts/build.mjs uses these).
import ts from "typescript";

// Espruino makes a function declared in a function body only when execution
// reaches the declaration (it does not hoist): a call before it throws "is not
// defined" on a board, while every other engine (and the simulator) hoists.
// Found on the emulated Pico (npm run emu): a nested function declared last.
// So in the bundle each function body declares its functions first, as
// hoisting would place them (after any directive such as "ram"), and is
// checked for it. The bundle's own body (the modules' top level) keeps its
// order, so that hot module variables stay early in the scope Espruino
// searches name by name; there, only a function that init code reaches
// (directly, or through the functions it calls) before its declaration moves up.
const isDirective = (s) => ts.isExpressionStatement(s) && ts.isStringLiteral(s.expression);
const isFn = (node) =>
  (ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node)) && node.body;
/** An identifier that names a property (o.name, { name: ... }), not a variable. */
const isPropertyName = (n) =>
  n.parent &&
  (ts.isPropertyAccessExpression(n.parent) || ts.isPropertyAssignment(n.parent)) &&
  n.parent.name === n;
/** The names a function declares: its parameters, its vars and its functions (not those of functions inside it). */
function locals(fn) {
  const names = new Set(fn.parameters.map((p) => p.name.getText()));
  const walk = (node) => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name)) names.add(node.name.text);
    if (
      (ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node)) &&
      node.name &&
      node !== fn
    )
      names.add(node.name.text);
    if (!ts.isFunctionLike(node) || node === fn) ts.forEachChild(node, walk);
  };
  if (fn.name && ts.isFunctionExpression(fn)) names.add(fn.name.text);
  ts.forEachChild(fn.body, walk);
  return names;
}
/** Names of st's top-level function declarations that a non-function statement reaches before the declaration. */
function earlyUses(st) {
  const at = new Map(),
    uses = new Map();
  // identifiers naming a top-level function; a function's own names (parameters, vars,
  // functions: minified code reuses short names) shadow them inside it
  const refs = (node, out = new Set(), shadow = new Set()) => {
    if (ts.isFunctionLike(node) && node.body) {
      shadow = new Set([...shadow, ...locals(node)]);
    } else if (
      ts.isIdentifier(node) &&
      at.has(node.text) &&
      !shadow.has(node.text) &&
      !isPropertyName(node) &&
      !(ts.isVariableDeclaration(node.parent) && node.parent.name === node) // declared, not used (scripts/scope.mjs lists them first)
    )
      out.add(node.text);
    ts.forEachChild(node, (c) => void refs(c, out, shadow));
    return out;
  };
  st.forEach((s, i) => ts.isFunctionDeclaration(s) && s.name && at.set(s.name.text, i));
  for (const s of st)
    if (ts.isFunctionDeclaration(s) && s.name) uses.set(s.name.text, refs(s.body));
  const early = new Set();
  st.forEach((s, i) => {
    if (ts.isFunctionDeclaration(s)) return;
    const seen = new Set(),
      todo = [...refs(s)];
    while (todo.length) {
      const n = todo.pop();
      if (seen.has(n)) continue;
      seen.add(n);
      if (at.get(n) > i) early.add(n);
      todo.push(...uses.get(n));
    }
  });
  return early;
}
export function hoistFunctions(ctx) {
  const f = ctx.factory;
  let depth = 0;
  const visit = (node) => {
    const fn = isFn(node);
    depth += fn ? 1 : 0;
    node = ts.visitEachChild(node, visit, ctx);
    depth -= fn ? 1 : 0;
    if (!fn) return node;
    const st = [...node.body.statements],
      lead = [];
    while (st.length && isDirective(st[0])) lead.push(st.shift());
    const early = depth ? null : earlyUses(st),
      up = (x) => ts.isFunctionDeclaration(x) && (!early || early.has(x.name.text));
    const body = f.updateBlock(node.body, [...lead, ...st.filter(up), ...st.filter((x) => !up(x))]);
    return ts.isFunctionDeclaration(node)
      ? f.updateFunctionDeclaration(
          node,
          node.modifiers,
          node.asteriskToken,
          node.name,
          node.typeParameters,
          node.parameters,
          node.type,
          body
        )
      : f.updateFunctionExpression(
          node,
          node.modifiers,
          node.asteriskToken,
          node.name,
          node.typeParameters,
          node.parameters,
          node.type,
          body
        );
  };
  return (sf) => ts.visitNode(sf, visit);
}
/** Throws when the (minified) bundle would call a function before Espruino has made it (see hoistFunctions). */
export function checkHoisted(code, what) {
  const sf = ts.createSourceFile("bundle.js", code, ts.ScriptTarget.ES5, true);
  const fail = (name) => {
    throw new Error(
      `${what}: function ${name} is used before its declaration is reached, which Espruino does not hoist`
    );
  };
  const walk = (node, depth) => {
    if (isFn(node)) {
      const st = node.body.statements.filter((s) => !isDirective(s));
      if (depth)
        st.forEach(
          (s, i) =>
            ts.isFunctionDeclaration(s) &&
            i &&
            !ts.isFunctionDeclaration(st[i - 1]) &&
            fail(s.name.text)
        );
      else for (const n of earlyUses(st)) fail(n);
      depth++;
    }
    ts.forEachChild(node, (c) => walk(c, depth));
  };
  walk(sf, 0);
}
