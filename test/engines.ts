// Running dist/pigeon.js under other JavaScript engines (Duktape, Espruino,
// Node vm contexts stripped down to what Espruino has) and comparing with Node.
//
// One driver serves every engine: the bundle, then the inputs as a JS literal
// (JSON with \u escapes, so the driver file is pure ASCII), then RUNNER, which
// runs each task and print()s one line per result. Results are written by
// RUNNER's own ASCII-only serializer, so no engine's JSON.stringify or output
// encoding can change them. Node computes its reference with the same RUNNER
// source on the same bundle loaded with require().
import { spawnSync } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { createHash } from "node:crypto";
import vm from "node:vm";
import { DIST, Pigeon } from "./pigeon";
import { draftOf, hex, invalid, vectors } from "./vectors";

/**
 * Espruino's Linux interpreter, a tool the user points to: ESPRUINO, else the one in the
 * emulator toolkit (PIGEON_EMU or ../shared/emu); undefined when neither is there.
 */
export function espruinoInterpreter(): string | undefined {
  const at =
    process.env.ESPRUINO ||
    resolve(process.env.PIGEON_EMU || resolve(__dirname, "../../shared/emu"), "espruino-linux-x64");
  try {
    accessSync(at, constants.X_OK);
    return at;
  } catch {
    return undefined;
  }
}
const ESPRUINO_WHERE =
  "set ESPRUINO to an espruino executable (its Linux build), or put the emulator toolkit at ../shared/emu";
/** Why a test that needs Espruino's interpreter is skipped. */
export const noEspruino = (what: string) =>
  `${what} skipped: no Espruino interpreter (${ESPRUINO_WHERE})`;

export type Draft = ReturnType<typeof draftOf>;
/** One call on the bundle: op and its JSON-able arguments. */
export interface Task {
  label: string;
  op: string;
  args: unknown[];
}

export const MARK = "@@PIGEON@@";
export const END = "@@PIGEON-END@@";

// ES5 only, no regular expressions, no JSON.stringify: Espruino and Duktape run it as is.
export const RUNNER = `
function pigeonMain(P, IN, out) {
  var H = "0123456789abcdef";
  function u8(a) { var b = new Uint8Array(a.length), i; for (i = 0; i < a.length; i++) b[i] = a[i]; return b; }
  function hx(b) { var s = "", i; for (i = 0; i < b.length; i++) s += H.charAt(b[i] >> 4) + H.charAt(b[i] & 15); return s; }
  function u4(c) { return "\\\\u" + H.charAt((c >> 12) & 15) + H.charAt((c >> 8) & 15) + H.charAt((c >> 4) & 15) + H.charAt(c & 15); }
  function q(s) {
    var r = '"', i, c;
    for (i = 0; i < s.length; i++) {
      c = s.charCodeAt(i);
      if (c > 0xffff) { c -= 0x10000; r += u4(0xd800 + (c >> 10)) + u4(0xdc00 + (c & 1023)); }
      else if (c == 34 || c == 92) r += "\\\\" + s.charAt(i);
      else if (c < 32 || c > 126) r += u4(c);
      else r += s.charAt(i);
    }
    return r + '"';
  }
  function ser(v) {
    if (v === null || v === undefined) return "null";
    if (typeof v == "string") return q(v);
    if (typeof v == "boolean" || typeof v == "number") return "" + v;
    if (typeof v == "object" && typeof v.length == "number") return '{"bytes":' + q(hx(v)) + "}";
    return '{"error":' + q("unexpected " + typeof v) + "}";
  }
  function run(t) {
    var op = t[0];
    if (op == "verify") return P.verify(t[1]);
    if (op == "refusal") return P.refusal(t[1]);
    if (op == "id") return P.id(t[1]);
    if (op == "sign") return P.sign(u8(t[1]), t[2]);
    if (op == "signKeys") return P.sign(P.keys(u8(t[1])), t[2]);
    if (op == "identity") return P.identity(u8(t[1]));
    if (op == "keys") return P.keys(u8(t[1]));
    if (op == "lipmaa") return P.lipmaa(t[1]);
    if (op == "blobId") return P.blobId(u8(t[1]));
    throw new Error("unknown op " + op);
  }
  for (var i = 0; i < IN.length; i++) {
    var line;
    try {
      line = ser(run(IN[i]));
    } catch (e) {
      line = '{"error":' + q("" + (e && e.message ? e.message : e)) + "}";
    }
    out("${MARK} " + i + " " + line);
  }
  out("${END}");
}
`;

/** JSON with every non-ASCII character as a \u escape (surrogate pairs for astral ones). */
export function asciiJSON(v: unknown): string {
  return JSON.stringify(v).replace(
    /[\u007f-\uffff]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0")
  );
}

export const bundle = () => readFileSync(DIST, "utf8");

/** The driver script: bundle + inputs + RUNNER + the call; prints through the engine's print(). */
export function driver(tasks: Task[], code = bundle()): string {
  return `${code}\nvar IN = ${asciiJSON(tasks.map((t) => [t.op, ...t.args]))};\n${RUNNER}\npigeonMain(Pigeon, IN, function (s) { print(s); });\n`;
}

/** The results in an engine's output, by task label; throws if the run did not finish. */
export function results(tasks: Task[], stdout: string): Record<string, unknown> {
  const got = new Map<number, unknown>();
  for (const m of stdout.matchAll(new RegExp(`${MARK} (\\d+) (.*)`, "g")))
    got.set(Number(m[1]), JSON.parse(m[2]));
  if (!stdout.includes(END) || got.size != tasks.length)
    throw new Error(
      `the run stopped after ${got.size} of ${tasks.length} results; output ends with:\n${stdout.slice(-2000)}`
    );
  return Object.fromEntries(tasks.map((t, i) => [t.label, got.get(i)]));
}

/** The same tasks in Node, on the bundle loaded with require(), through the same RUNNER. */
export function nodeResults(tasks: Task[]): Record<string, unknown> {
  const lines: string[] = [];
  const main = new Function(`${RUNNER}\nreturn pigeonMain;`)();
  main(Pigeon, JSON.parse(asciiJSON(tasks.map((t) => [t.op, ...t.args]))), (s: string) =>
    lines.push(s)
  );
  return results(tasks, lines.join("\n"));
}

// ---- inputs ---------------------------------------------------------------

const bytes = (h: string) => Array.from(hex(h));
export const feedSeeds = vectors.feeds.map((f) => bytes(f.seed_hex));
/** A seed of our own for the non-ASCII messages. */
export const extraSeed = Array.from({ length: 32 }, (_, i) => (i * 73 + 11) & 255);

/** A little feed whose string values hold é, €, 😀 and CJK characters, signed here in Node. */
export function nonAsciiFeed(): { text: string; draft: Draft }[] {
  const seed = Uint8Array.from(extraSeed);
  const bodies: string[][][] = [
    [
      ["place", '"Café Crème, Zürich"'],
      ["price", '"3,50 €"'],
    ],
    [
      ["mood", '"😀 all good 😀"'],
      ["t", '"1764000100"'],
    ],
    [
      ["zh", '"中文字符"'],
      ["ja", '"日本語のテキスト"'],
      ["ko", '"한국어"'],
    ],
    [
      ["mix", '"aé€😀中"'],
      ["max", `"${"😀".repeat(128)}"`],
    ],
    [["note", '"naïve façade – “quotes” ½ ∑ 𝄞"']],
  ];
  const out: { text: string; draft: Draft }[] = [];
  bodies.forEach((body, depth) => {
    const l = Pigeon.lipmaa(depth);
    const draft = {
      kind: "note_utf8",
      prev: depth ? Pigeon.id(out[depth - 1].text) : "NONE",
      depth,
      lipmaa: l == null ? "NONE" : Pigeon.id(out[l].text),
      body,
    };
    out.push({ text: Pigeon.sign(seed, draft), draft });
  });
  return out;
}

/** Non-ASCII texts that must be refused. */
export function nonAsciiInvalid(feed = nonAsciiFeed()): { why: string; text: string }[] {
  return [
    { why: "é changed to è after signing", text: feed[0].text.replace("Café", "Cafè") },
    { why: "129 four-byte characters", text: feed[3].text.replace('max:"', 'max:"😀') },
    { why: "CJK text after the signature", text: feed[2].text + "中" },
  ];
}
/** A lone surrogate: not text. Espruino refuses to even lex it, so only Duktape and vm get it. */
export const loneSurrogate = () => ({
  why: "lone surrogate",
  text: nonAsciiFeed()[0].text.replace("Café", "Caf\ud800"),
});

export interface TaskOptions {
  /** refusal of valid messages, sign with expanded keys, keys, blobs: everything (default true). */
  full?: boolean;
  /** how many vector messages to re-sign (default all). */
  signVectors?: number;
  /** how many non-ASCII messages (default all). */
  nonAscii?: number;
  /** include the lone surrogate text (default true). */
  surrogate?: boolean;
}

export function tasks(o: TaskOptions = {}): Task[] {
  const full = o.full ?? true;
  const t: Task[] = [];
  const add = (label: string, op: string, ...args: unknown[]) => t.push({ label, op, args });
  vectors.feeds.forEach((f, k) => {
    add(`${f.name}: identity`, "identity", feedSeeds[k]);
    if (full) add(`${f.name}: keys`, "keys", feedSeeds[k]);
  });
  let signed = 0;
  vectors.feeds.forEach((f, k) => {
    for (const m of f.messages) {
      const at = `${f.name} depth ${m.depth}`;
      add(`${at}: verify`, "verify", m.text);
      if (full) add(`${at}: refusal`, "refusal", m.text);
      add(`${at}: id`, "id", m.text);
      if (signed < (o.signVectors ?? Infinity)) {
        signed++;
        add(`${at}: sign`, "sign", feedSeeds[k], draftOf(m.text));
        if (full) add(`${at}: sign with keys`, "signKeys", feedSeeds[k], draftOf(m.text));
      }
    }
  });
  for (const e of invalid) {
    add(`invalid "${e.why}": verify`, "verify", e.text);
    add(`invalid "${e.why}": refusal`, "refusal", e.text);
  }
  const feed = nonAsciiFeed().slice(0, o.nonAscii ?? Infinity);
  feed.forEach((m, d) => {
    add(`non-ASCII depth ${d}: verify`, "verify", m.text);
    add(`non-ASCII depth ${d}: id`, "id", m.text);
    if (full) {
      add(`non-ASCII depth ${d}: refusal`, "refusal", m.text);
      add(`non-ASCII depth ${d}: sign`, "sign", extraSeed, m.draft);
    }
  });
  if (full) {
    const bad = [...nonAsciiInvalid(), ...((o.surrogate ?? true) ? [loneSurrogate()] : [])];
    for (const e of bad) {
      add(`non-ASCII invalid "${e.why}": verify`, "verify", e.text);
      add(`non-ASCII invalid "${e.why}": refusal`, "refusal", e.text);
    }
    for (const b of vectors.blobs) add(`blob ${b.path}`, "blobId", bytes(b.content_hex));
  }
  for (let n = 0; n <= 100; n++) add(`lipmaa ${n}`, "lipmaa", n);
  return t;
}

/** Checks that Node's own reference agrees with the vectors, so that comparing with it means something. */
export function checkReference(r: Record<string, unknown>) {
  const bad: string[] = [];
  const want = (label: string, v: unknown) => {
    if (label in r && r[label] !== v)
      bad.push(`${label}: ${JSON.stringify(r[label])} != ${JSON.stringify(v)}`);
  };
  for (const f of vectors.feeds) {
    want(`${f.name}: identity`, f.author);
    for (const m of f.messages) {
      const at = `${f.name} depth ${m.depth}`;
      want(`${at}: verify`, true);
      want(`${at}: refusal`, "");
      want(`${at}: id`, m.id);
      want(`${at}: sign`, m.text);
      want(`${at}: sign with keys`, m.text);
    }
  }
  for (const e of invalid) want(`invalid "${e.why}": verify`, false);
  nonAsciiFeed().forEach((m, d) => {
    want(`non-ASCII depth ${d}: verify`, true);
    want(`non-ASCII depth ${d}: refusal`, "");
    want(`non-ASCII depth ${d}: sign`, m.text);
  });
  for (const e of [...nonAsciiInvalid(), loneSurrogate()])
    want(`non-ASCII invalid "${e.why}": verify`, false);
  for (const b of vectors.blobs) want(`blob ${b.path}`, b.id);
  for (const [n, l] of Object.entries(vectors.lipmaa)) if (Number(n) <= 100) want(`lipmaa ${n}`, l);
  return bad;
}

// ---- processes -------------------------------------------------------------

export function has(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

export function runFile(cmd: string, args: string[], timeoutMs: number) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  return r;
}

// ---- Node vm contexts shaped like Espruino ---------------------------------

/** What Espruino lacks (ESPRUINO.md), plus later globals; each is deleted from the context (the simulator's list). */
import { REMOVED } from "../sim/espruino";

/** A fresh context with REMOVED deleted from inside it; throws if any survived. */
export function espruinoLikeContext(): vm.Context {
  const ctx = vm.createContext({});
  const code = REMOVED.map((p) => {
    const dot = p.lastIndexOf(".");
    return dot < 0
      ? `delete globalThis[${JSON.stringify(p)}];`
      : `delete ${p.slice(0, dot)}[${JSON.stringify(p.slice(dot + 1))}];`;
  }).join("\n");
  vm.runInContext(code, ctx);
  const left = REMOVED.filter(
    (p) =>
      vm.runInContext(
        `typeof ${p.includes(".") ? p : "globalThis[" + JSON.stringify(p) + "]"}`,
        ctx
      ) != "undefined"
  );
  // also on instances, where feature detection would look
  const inst = vm.runInContext(
    `[typeof "a".codePointAt, typeof [].lastIndexOf, typeof Uint8Array.from, typeof Float64Array.from]`,
    ctx
  );
  if (left.length || inst.some((t: string) => t != "undefined"))
    throw new Error(`still in the context: ${left.join(", ")} ${inst}`);
  return ctx;
}

export interface Stubs {
  convolve: number;
  toUint8Array: number;
  toString: number;
  SHA256: number;
  SHA512: number;
  require: string[];
}

/** UTF-8 the way Espruino's Unicode builds store strings: pairs combined, a lone surrogate in its 3-byte form. */
export function utf8(s: string): number[] {
  const o: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) o.push(c);
    else if (c < 0x800) o.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) o.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else o.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return o;
}

/**
 * Installs Espruino's native helpers as stand-ins in ctx: E.convolve, E.toUint8Array,
 * E.toString, and require("crypto") with SHA256 (and SHA512 unless pico), as an
 * Espruino Linux build (or a Pico) has them. Returns the call counts.
 */
export function installNatives(ctx: vm.Context, pico: boolean): Stubs {
  const n: Stubs = { convolve: 0, toUint8Array: 0, toString: 0, SHA256: 0, SHA512: 0, require: [] };
  const U8 = vm.runInContext("Uint8Array", ctx) as Uint8ArrayConstructor;
  const AB = vm.runInContext("ArrayBuffer", ctx) as ArrayBufferConstructor;
  const TWO53 = 2 ** 53;
  const at = (x: any, i: number) => (typeof x == "string" ? x.charCodeAt(i) : x[i]);
  /** The bytes Espruino would take from a string, array, typed array or ArrayBuffer. */
  const toBytes = (d: any): number[] => {
    if (typeof d == "string") return utf8(d);
    if (Object.prototype.toString.call(d) == "[object ArrayBuffer]")
      return Array.from(new Uint8Array(d));
    if (d && typeof d.length == "number")
      return Array.from({ length: d.length }, (_, i) => Number(d[i]) & 255);
    throw new Error(`toUint8Array stand-in: cannot take ${typeof d}`);
  };
  const E = {
    convolve(a: any, b: any, offset: number) {
      n.convolve++;
      const la = a.length,
        lb = b.length;
      let s = 0;
      for (let i = 0; i < la; i++) {
        const x = at(a, i),
          y = at(b, (((i + offset) % lb) + lb) % lb),
          p = x * y;
        s += p;
        if (
          !Number.isInteger(x) ||
          !Number.isInteger(y) ||
          Math.abs(p) >= TWO53 ||
          Math.abs(s) >= TWO53
        )
          throw new Error(`E.convolve stand-in: inexact at i=${i}: ${x} * ${y}, sum ${s}`);
      }
      return s;
    },
    toUint8Array(d: any) {
      n.toUint8Array++;
      if (arguments.length != 1) throw new Error("toUint8Array stand-in: one argument only");
      const b = toBytes(d),
        u = new U8(b.length);
      for (let i = 0; i < b.length; i++) u[i] = b[i];
      return u;
    },
    toString(d: any) {
      n.toString++;
      return toBytes(d)
        .map((c) => String.fromCharCode(c))
        .join("");
    },
  };
  const sha = (name: "sha256" | "sha512", which: "SHA256" | "SHA512") => (d: any) => {
    n[which]++;
    const h = createHash(name)
      .update(Buffer.from(toBytes(d)))
      .digest();
    const ab = new AB(h.length);
    new U8(ab).set(h);
    return ab;
  };
  const crypto: Record<string, unknown> = { SHA256: sha("sha256", "SHA256") };
  if (!pico) crypto.SHA512 = sha("sha512", "SHA512");
  ctx.E = E;
  ctx.require = (m: string) => {
    n.require.push(m);
    if (m == "crypto") return crypto;
    throw new Error(`Module ${m} not found`);
  };
  return n;
}

/** Runs the driver in ctx (print collected) and returns the results by label. */
export function runInContext(ctx: vm.Context, t: Task[]): Record<string, unknown> {
  const lines: string[] = [];
  ctx.print = (s: string) => lines.push(String(s));
  vm.runInContext(driver(t), ctx, { filename: "driver.js" });
  return results(t, lines.join("\n"));
}
