// Scripts run inside other engines (duk, Espruino) by the benchmark: each
// loads one signer, times it, and prints one line of JSON between markers.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
export const NACL_FAST = require.resolve("tweetnacl/nacl-fast.js");
export const MARK = "@@BENCH@@";

export const DRAFT = {
  kind: "reading",
  prev: "%PS6EM5SNKSW0YJ3GXAJZTCBM6VDEHEZSQ57GJ1929A16KSN4GKV0.sha256",
  depth: 12,
  lipmaa: "%Y8HKMQ89M5SHBS0CXW0M2PQFA1Y4ZJX5VTM8PYD3S4TB21V1J4D0.sha256",
  body: [
    ["t", '"1764007200"'],
    ["temp_c", '"21.5"'],
    ["vbat", '"3.71"'],
    ["humidity", '"63.2"'],
  ],
};
export const SEED = Array.from({ length: 32 }, (_, i) => i);

// Engine-neutral prelude: a clock and a printer for duk and Espruino.
const PRELUDE = `
var now = typeof getTime == "function" ? function () { return getTime() * 1000; } : function () { return Date.now(); };
var mem = typeof process != "undefined" && process.memory ? function () { return process.memory().usage; } : function () { return 0; };
function out(o) { print("${MARK}" + JSON.stringify(o) + "${MARK}"); }
// variables that a code text takes as a string: what keeping code in flash saves on a board
function textVars(t) { return typeof E != "undefined" && E.getSizeOf ? E.getSizeOf(t) : 0; }
function timeit(n, f) { var t = now(); for (var i = 0; i < n; i++) f(); return (now() - t) / n; }
var seed = new Uint8Array(${JSON.stringify(SEED)});
var draft = ${JSON.stringify(DRAFT)};
`;

/** Driver timing the device bundle: n signs with the kept key, n verifies. */
export function pigeonDriver(bundlePath, n) {
  return `${PRELUDE}
var codeVars = textVars(${JSON.stringify(readFileSync(bundlePath, "utf8"))});
var m0 = mem();
${readFileSync(bundlePath, "utf8")}
var m1 = mem();
var t0 = now(); var k = Pigeon.keys(seed); var firstKeyMs = now() - t0;
var m2 = mem();
var text = Pigeon.sign(k, draft);
var m3 = mem();
var keyMs = timeit(${n}, function () { Pigeon.keys(seed); });
var signMs = timeit(${n}, function () { text = Pigeon.sign(k, draft); });
var ok = true;
var verifyMs = timeit(${n}, function () { ok = ok && Pigeon.verify(text); });
out({ ok: ok, firstKeyMs: firstKeyMs, keyMs: keyMs, signMs: signMs, verifyMs: verifyMs, varsLoaded: m1 - m0, varsAfterKeys: m2 - m0, varsAfterSign: m3 - m0, varsAfterVerify: mem() - m0, codeVars: codeVars });
`;
}

/** Driver timing TweetNaCl's nacl-fast on the same unsigned text. */
export function naclDriver(n, unsignedText) {
  return `${PRELUDE}
var codeVars = textVars(${JSON.stringify(readFileSync(NACL_FAST, "utf8"))});
var module = { exports: {} };
// nacl-fast looks for a random source at load; this one is never called by sign or verify
var self = { crypto: { getRandomValues: function () { throw new Error("no randomness needed"); } } };
var m0 = mem();
${readFileSync(NACL_FAST, "utf8")}
var nacl = module.exports;
var m1 = mem();
var msg = new Uint8Array(${JSON.stringify(Array.from(Buffer.from(unsignedText, "utf8")))});
var kp = nacl.sign.keyPair.fromSeed(seed);
var sig = nacl.sign.detached(msg, kp.secretKey);
var m2 = mem();
var keyMs = timeit(${n}, function () { nacl.sign.keyPair.fromSeed(seed); });
var signMs = timeit(${n}, function () { sig = nacl.sign.detached(msg, kp.secretKey); });
var ok = true;
var verifyMs = timeit(${n}, function () { ok = ok && nacl.sign.detached.verify(msg, sig, kp.publicKey); });
out({ ok: ok, keyMs: keyMs, signMs: signMs, verifyMs: verifyMs, varsLoaded: m1 - m0, varsAfterSign: m2 - m0, codeVars: codeVars });
`;
}

/** The JSON a driver printed between the markers. */
export function parseDriverOutput(stdout) {
  const i = stdout.indexOf(MARK),
    j = stdout.indexOf(MARK, i + MARK.length);
  if (i < 0 || j < 0) throw new Error(`no result in output:\n${stdout.slice(-2000)}`);
  return JSON.parse(stdout.slice(i + MARK.length, j));
}
