// Strings to UTF-8 bytes and back. Espruino hands over byte strings (boards)
// or Unicode strings whose stored bytes are UTF-8 (Linux, Bangle.js): either
// way E.toUint8Array gives the bytes. Other engines hold UTF-16.
import { esp, grow } from "./engine";

declare var PIGEON_FIRMWARE: any; // set only in the firmware's build, which runs on Espruino alone (scripts/build.mjs)

/** The last encode(): bytes in b[0..n), valid until the next call. */
export var enc = { b: new Uint8Array(512) as Uint8Array, n: 0 };

/** Encodes s as UTF-8 into enc and returns its length. */
export function encode(s: string): number {
  var n = 0,
    i,
    c,
    d,
    o;
  if (typeof PIGEON_FIRMWARE != "undefined" || (esp && esp.toUint8Array)) {
    var b = esp.toUint8Array(s);
    o = enc.b = grow(enc.b, b.length);
    o.set(b);
    return (enc.n = b.length);
  }
  o = enc.b = grow(enc.b, s.length * 3);
  for (i = 0; i < s.length; i++) {
    c = s.charCodeAt(i);
    if (c < 128) {
      o[n++] = c;
      continue;
    }
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    // A lone surrogate comes out in its 3-byte form, which every UTF-8
    // reader (ours included) refuses: it is not text.
    if (c < 0x800) o[n++] = 0xc0 | (c >> 6);
    else {
      if (c < 0x10000) o[n++] = 0xe0 | (c >> 12);
      else {
        o[n++] = 0xf0 | (c >> 18);
        o[n++] = 0x80 | ((c >> 12) & 63);
      }
      o[n++] = 0x80 | ((c >> 6) & 63);
    }
    o[n++] = 0x80 | (c & 63);
  }
  return (enc.n = n);
}

/** Bytes [p, q) as a string: the raw bytes on Espruino (as its files give them), decoded UTF-8 elsewhere. Expects valid UTF-8. */
export function decode(b: Uint8Array, p: number, q: number): string {
  if (typeof PIGEON_FIRMWARE != "undefined" || esp) return esp.toString(b.subarray(p, q));
  var u: number[] = [],
    c;
  while (p < q) {
    c = b[p++];
    if (c >= 0xf0) {
      c =
        (((c & 7) << 18) | ((b[p++] & 63) << 12) | ((b[p++] & 63) << 6) | (b[p++] & 63)) - 0x10000;
      u.push(0xd800 + (c >> 10));
      c = 0xdc00 + (c & 1023);
    } else if (c >= 0xe0) c = ((c & 15) << 12) | ((b[p++] & 63) << 6) | (b[p++] & 63);
    else if (c >= 0xc0) c = ((c & 31) << 6) | (b[p++] & 63);
    u.push(c);
  }
  return String.fromCharCode.apply(null, u);
}
