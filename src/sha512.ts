// SHA-512 (FIPS 180-4) on 32-bit halves, no BigInt; the native one where the
// board has it. Its constants also seed SHA-256, whose round constants and
// initial state are the upper halves of SHA-512's.
import { b32decode } from "./base32";
import { nativeSha512 } from "./engine";

// Initial state then the 80 round constants, big-endian 64-bit words.
/** K[2i], K[2i+1]: high and low halves of word i (0-7 initial state, 8-87 round constants). */
export var K = (function () {
  // a function scope, so that the text (a copy in RAM on a board) and the decoding buffers are garbage once K is made
  var KS =
    "D84YCSZKQK4GHEV7NT2R9JN77CY6XWVJZTAFGAX59ZTKMQRX6VRN23JJFYPYD0PHKC2PH31B7SP1Y7W3V6NZPGDXDDDY1K8S2DZ22YA2H8QSHNS8NRH72DT4J4HYYSEDPQ0FQKZC9MXJZTDNVEJR32EVQGWNDGJVYD4BAE2SY48Z3DG5T0CS4FW2MJQHJKWVNCE5XNETDP0HHP07NACA60R288986PR18NR6ZFH4662VWKQ4PA65A33XRFAZZD72EAZ5TX7JFE4PZ06YP7Z3P5MPP6DXR1N74Q3H4DE1KFRQ9KV94TAE96V9R6FF2JPJXYZ4F1HR9WJY63Y1KQ38Q36NPMJ0S8ECEYP9RS9DX4P6YP9B09TMMX44N9QADS43BJRAKQ5X87XX8XQSH3D864AKPPC3WMAJXSKDZAX86736TBDM688B00S7S2CFP89ZQXCQZHXYXW7E9HQ01FSKVA4FRBATF4A7JC5AE986S9HN3R03G9QH8A99CW50WVKG4YVGN1A6T8QZRBGV44W5R9P94S6JRVFWBB22NVAK706H77CNPFFPA2KKAJ5TYRYYESN0NESWEYSAH0E2S4Q4FVDEWT974B452J13AEX2QZMA2K7H0DJAG6K69EY44C01R95RPW6GZ2BS3HVCA6HGCN5Y638S5T0STVQN466PK4328NB5N48F83HNGNBQ281A21NA0W1JQF8VG6D4R4BBHMPGS0F3EV08A50TPMS791VMSQWEXECK9C5WPQGSPJ5874E0SCY5S5D66KPRN95E6GCASDDSSJJFEXHY6WV85SQZ7NNJQ2HQ93W2XSEYZCQWF2JP6VT32WQP1168F0AA3W5BEA6CE0G839J3KV4GQVZZM8V33RMA8M3CXFF85FF9QVWT7XXJRSWHBHKHF3SE6WJK5F52EFPEX8K6376HGTWCE8E0R83YNPKXTV6Y1TRYYNYMYZZEDV8QG1QGCYN745VFQ8566ZE5MB49H9GH7YC09FQS1PQ1PW8B6M9HRHRV53DQFX930HYR8CPANDXM1HS4JCY9XFGA2Q4VXF233NKW970G1N64SHEMQV5KWGNPB5ZJK77WCNZ2MQYBDYNKNNQTXHP486CC993NG5R";
  var raw = new Uint8Array(704), ks = new Uint8Array(KS.length), k = new Int32Array(176), i;
  for (i = 0; i < KS.length; i++) ks[i] = KS.charCodeAt(i);
  b32decode(ks, 0, KS.length, raw);
  for (i = 0; i < 176; i++) k[i] = (raw[4 * i] << 24) | (raw[4 * i + 1] << 16) | (raw[4 * i + 2] << 8) | raw[4 * i + 3];
  return k;
})();

// the JavaScript block function's schedule and working variables (a..h, rotating one slot a
// round): made on its first use, so a board whose kernel hashes never holds them; md()'s tail
var W: Int32Array, X: Int32Array, tail: Uint8Array;
export var H = new Int32Array(16);
var zh = 0, zl = 0;
var TWO32 = 4294967296;

/** (zh, zl) = rotr(x, a) ^ rotr(x, b) ^ rotr(x, c), or shr(x, c) when shr, for x = (h, l); 0 < a, b, c < 64, none 32. */
function sig(h: number, l: number, a: number, b: number, c: number, shr: number) {
  zh = zl = 0;
  for (var k = 0, n, x, y; k < 3; k++) {
    n = k ? (k > 1 ? c : b) : a;
    x = n > 31 ? l : h;
    y = n > 31 ? h : l;
    n &= 31;
    zh ^= (x >>> n) | (k > 1 && shr ? 0 : y << (32 - n));
    zl ^= (y >>> n) | (x << (32 - n));
  }
}
/** x[i] (64 bits as x[i], x[i+1]) += (h, l) */
function add64(x: Int32Array, i: number, h: number, l: number) {
  var s = (x[i + 1] >>> 0) + (l >>> 0);
  x[i] += h + ((s / TWO32) | 0);
  x[i + 1] = s;
}
function slot(k: number, t: number) {
  return 2 * ((k - t) & 7);
}

export function blocks(m: Uint8Array, p: number, n: number) {
  var t, lo, hi, a, b, c, d, e, f, g, h;
  if (!W) {
    W = new Int32Array(160);
    X = new Int32Array(16);
  }
  for (; n >= 128; n -= 128, p += 128) {
    for (t = 0; t < 32; t++) W[t] = (m[p + 4 * t] << 24) | (m[p + 4 * t + 1] << 16) | (m[p + 4 * t + 2] << 8) | m[p + 4 * t + 3];
    for (t = 32; t < 160; t += 2) {
      // W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]
      sig(W[t - 4], W[t - 3], 19, 61, 6, 1);
      hi = zh + W[t - 14] + W[t - 32];
      lo = (zl >>> 0) + (W[t - 13] >>> 0) + (W[t - 31] >>> 0);
      sig(W[t - 30], W[t - 29], 1, 8, 7, 1);
      lo += zl >>> 0;
      W[t] = hi + zh + ((lo / TWO32) | 0);
      W[t + 1] = lo;
    }
    X.set(H);
    for (t = 0; t < 80; t++) {
      a = slot(0, t); b = slot(1, t); c = slot(2, t); d = slot(3, t);
      e = slot(4, t); f = slot(5, t); g = slot(6, t); h = slot(7, t);
      // T1 = h + S1(e) + Ch(e,f,g) + K[t] + W[t]; d += T1
      sig(X[e], X[e + 1], 14, 18, 41, 0);
      lo = (X[h + 1] >>> 0) + (zl >>> 0) + (((X[e + 1] & X[f + 1]) ^ (~X[e + 1] & X[g + 1])) >>> 0) + (K[2 * t + 17] >>> 0) + (W[2 * t + 1] >>> 0);
      hi = (X[h] + zh + ((X[e] & X[f]) ^ (~X[e] & X[g])) + K[2 * t + 16] + W[2 * t] + ((lo / TWO32) | 0)) | 0;
      lo |= 0;
      add64(X, d, hi, lo);
      // the new a = T1 + S0(a) + Maj(a,b,c), in the slot h leaves
      sig(X[a], X[a + 1], 28, 34, 39, 0);
      X[h] = hi + zh + ((X[a] & X[b]) ^ (X[a] & X[c]) ^ (X[b] & X[c]));
      X[h + 1] = lo;
      add64(X, h, 0, zl ^ 0);
      add64(X, h, 0, (X[a + 1] & X[b + 1]) ^ (X[a + 1] & X[c + 1]) ^ (X[b + 1] & X[c + 1]));
    }
    for (t = 0; t < 16; t += 2) add64(H, t, X[t], X[t + 1]);
  }
}

/**
 * Merkle-Damgard finish shared with SHA-256: hashes m[p .. p+n) with the block
 * function, then the padding (0x80, zeros, bit length), and writes len bytes of
 * the big-endian state h to out[o..].
 */
export function md(m: Uint8Array, p: number, n: number, size: number, blocks: (m: Uint8Array, p: number, n: number) => void, h: Int32Array, out: Uint8Array, o: number, len: number) {
  var i, r = n % size, k = r < (size * 7) / 8 ? size : 2 * size;
  if (!tail) tail = new Uint8Array(256);
  blocks(m, p, n);
  for (i = 0; i < k; i++) tail[i] = i < r ? m[p + n - r + i] : 0;
  tail[r] = 128;
  // the length in bits, big-endian (n < 512 MiB, so 5 bytes hold it)
  tail[k - 5] = n >>> 29;
  tail[k - 4] = n >>> 21;
  tail[k - 3] = n >>> 13;
  tail[k - 2] = n >>> 5;
  tail[k - 1] = n << 3;
  blocks(tail, 0, k);
  for (i = 0; i < len; i++) out[o + i] = h[i >> 2] >> (24 - 8 * (i & 3));
}

var blk = blocks;
/** Replaces the block function (the firmware's native kernel, targets/espruino/native.ts). */
export function setBlocks(f: typeof blocks) {
  blk = f;
}

/** SHA-512 of m[p .. p+n) into out[o .. o+64). */
export function sha512(m: Uint8Array, p: number, n: number, out: Uint8Array, o: number) {
  if (nativeSha512) out.set(new Uint8Array(nativeSha512(m.subarray(p, p + n))), o);
  else {
    for (var i = 0; i < 16; i++) H[i] = K[i];
    md(m, p, n, 128, blk, H, out, o, 64);
  }
}
