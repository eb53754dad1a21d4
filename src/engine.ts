// What the engine underneath offers. Espruino boards carry native helpers
// (E.convolve, require("crypto").SHA256/SHA512, E.toUint8Array); every other
// engine gets the pure-JS paths, and both give identical bytes.
declare var E: any;

declare var PIGEON_FIRMWARE: any; // set only in the firmware's build, which runs on Espruino alone (scripts/build.mjs)
export var esp: any = typeof E != "undefined" ? E : null;

/** Espruino's own modules ("crypto", "Storage", "fs"), by indirect eval so that no bundler rewrites require. */
export function board(name: string): any {
  return (0, eval)("require")(name);
}
var crypto: any = null;
if (esp) {
  try {
    crypto = board("crypto");
  } catch (e) {
    // a board built without crypto: pure JS everywhere
  }
}
/** Native SHA-256 / SHA-512 (bytes -> ArrayBuffer), or null. */
export var nativeSha256: any = crypto && crypto.SHA256;
export var nativeSha512: any = crypto && crypto.SHA512;
/** Gives the core a host's own SHA-256 (bytes -> ArrayBuffer), as a board's crypto.SHA256 is: the host store seals every sector it writes. */
export function useSha256(f: (b: Uint8Array) => ArrayBuffer) {
  nativeSha256 = f;
}
/** E.convolve(a, b, offset): a dot product in C, or null. */
export var convolve: any = esp && esp.convolve;
/** E.mapInPlace(from, to, map, bits): bit groups of one typed array looked up into another, in C, or null. */
export var mapInPlace: any = esp && esp.mapInPlace;

/** d[o .. o+n) = s[p .. p+n), without making a view (sign and verify allocate no typed arrays once warm). */
export function copy(d: Uint8Array, o: number, s: Uint8Array, p: number, n: number) {
  for (var i = 0; i < n; i++) d[o + i] = s[p + i];
}

/** b[o ..) = the bytes of the byte string s (a file's or Storage's), in C on Espruino: a loop per byte there costs thousands of instructions. */
export function bytesInto(s: string, b: Uint8Array, o: number) {
  // E.toArrayBuffer views the string's own bytes: no copy, and no flat block to find (a search that
  // costs a garbage collection when the variables are scattered, as E.toUint8Array's copy does)
  if (typeof PIGEON_FIRMWARE != "undefined" || (esp && esp.toArrayBuffer))
    b.set(new Uint8Array(esp.toArrayBuffer(s)), o);
  else for (var i = 0; i < s.length; i++) b[o + i] = s.charCodeAt(i);
}

/** The bytes of a byte string (a file's): on Espruino a view of the string's own bytes, no copy; elsewhere a copy. */
export function bytesOf(s: string): Uint8Array {
  if (typeof PIGEON_FIRMWARE != "undefined" || (esp && esp.toArrayBuffer))
    return new Uint8Array(esp.toArrayBuffer(s));
  var b = new Uint8Array(s.length);
  bytesInto(s, b, 0);
  return b;
}

/** b[p .. q) = v: the typed array's own fill, in C on Espruino, where the engine has it (Duktape has not). */
export function fill(b: Uint8Array, v: number, p: number, q: number) {
  if (b.fill) b.fill(v, p, q);
  else for (; p < q; p++) b[p] = v;
}

/** A growable scratch buffer: allocates only when a larger size than ever before is asked for. */
export function grow(buf: Uint8Array, n: number): Uint8Array {
  return buf.length >= n ? buf : new Uint8Array(n + 512);
}
