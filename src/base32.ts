// Crockford base32, strict: upper case only, no O/I/L/U aliases, no padding,
// zero pad bits, so one byte string has exactly one spelling.
import { esp, mapInPlace } from "./engine";

var ALPHA = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
var VAL = new Int8Array(128);
for (var i = 0; i < 128; i++) VAL[i] = -1;
for (i = 0; i < 32; i++) VAL[ALPHA.charCodeAt(i)] = i;
// Espruino: E.mapInPlace cuts the bytes into 5-bit groups and looks each up in CODES, in C.
// Per output length: an array of character codes (Espruino cannot shorten an array), and
// for E.mapInPlace the input with one zero byte after it, which completes the last group.
var CODES = new Uint8Array(32),
  chars: { [n: number]: any } = {},
  padded: { [n: number]: Uint8Array } = {};
for (i = 0; i < 32; i++) CODES[i] = ALPHA.charCodeAt(i);

/** base32 of b[p .. p+n) as a string. */
export function b32encode(b: Uint8Array, p: number, n: number): string {
  var acc = 0,
    bits = 0,
    k = 0,
    e = p + n,
    len = Math.ceil((n * 8) / 5),
    o = chars[n],
    x;
  if (mapInPlace) {
    if (!o) {
      o = chars[n] = new Uint8Array(len);
      padded[n] = new Uint8Array(n + 1);
    }
    x = padded[n];
    x.set(b.subarray(p, e));
    mapInPlace(x, o, CODES, 5);
    return esp.toString(o);
  }
  if (!o) o = chars[n] = new Array(len);
  while (p < e) {
    acc = ((acc & 255) << 8) | b[p++];
    bits += 8;
    while (bits >= 5) o[k++] = ALPHA.charCodeAt((acc >> (bits -= 5)) & 31);
  }
  if (bits) o[k++] = ALPHA.charCodeAt((acc << (5 - bits)) & 31);
  return String.fromCharCode.apply(null, o);
}

/** Decodes n base32 characters at s[p..] into out[0..]; returns the byte count, or -1 if they are not canonical base32. */
function decode(s: Uint8Array, p: number, n: number, out: Uint8Array): number {
  var acc = 0,
    bits = 0,
    k = 0,
    v,
    e = p + n;
  while (p < e) {
    v = s[p++];
    v = v < 128 ? VAL[v] : -1;
    if (v < 0) return -1;
    acc = ((acc & 255) << 5) | v;
    bits += 5;
    if (bits >= 8) out[k++] = acc >> (bits -= 8);
  }
  // leftover bits must be fewer than one character's worth, and all zero
  return bits >= 5 || acc & ((1 << bits) - 1) ? -1 : k;
}
export var b32decode = decode;
/** Replaces the decoder (the firmware's native kernel, targets/espruino/native.ts). */
export function setDecode(f: typeof decode) {
  b32decode = f;
}
