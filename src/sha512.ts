// SHA-512 (FIPS 180-4) on 32-bit halves, no BigInt; the native one where the
// board has it.
import { K, md } from "./_sha2";
import { nativeSha512 } from "./engine";

// the JavaScript block function's schedule and working variables (a..h, rotating one slot a
// round): made on its first use, so a board whose kernel hashes never holds them
var W: Int32Array, X: Int32Array;
export var H = new Int32Array(16);
var zh = 0,
  zl = 0;
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
    for (t = 0; t < 32; t++)
      W[t] =
        (m[p + 4 * t] << 24) |
        (m[p + 4 * t + 1] << 16) |
        (m[p + 4 * t + 2] << 8) |
        m[p + 4 * t + 3];
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
      a = slot(0, t);
      b = slot(1, t);
      c = slot(2, t);
      d = slot(3, t);
      e = slot(4, t);
      f = slot(5, t);
      g = slot(6, t);
      h = slot(7, t);
      // T1 = h + S1(e) + Ch(e,f,g) + K[t] + W[t]; d += T1
      sig(X[e], X[e + 1], 14, 18, 41, 0);
      lo =
        (X[h + 1] >>> 0) +
        (zl >>> 0) +
        (((X[e + 1] & X[f + 1]) ^ (~X[e + 1] & X[g + 1])) >>> 0) +
        (K[2 * t + 17] >>> 0) +
        (W[2 * t + 1] >>> 0);
      hi =
        (X[h] +
          zh +
          ((X[e] & X[f]) ^ (~X[e] & X[g])) +
          K[2 * t + 16] +
          W[2 * t] +
          ((lo / TWO32) | 0)) |
        0;
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
