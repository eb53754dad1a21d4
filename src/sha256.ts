// SHA-256 (FIPS 180-4), or the board's native one. Round constants and
// initial state are the upper halves of SHA-512's.
import { nativeSha256 } from "./engine";
import { K, md } from "./_sha2";

var W = new Int32Array(64);
var H = new Int32Array(8);

function blocks(m: Uint8Array, p: number, n: number) {
  var t, a, b, c, d, e, f, g, h, x, y;
  for (; n >= 64; n -= 64) {
    for (t = 0; t < 16; t++, p += 4)
      W[t] = (m[p] << 24) | (m[p + 1] << 16) | (m[p + 2] << 8) | m[p + 3];
    for (t = 16; t < 64; t++) {
      x = W[t - 2];
      y = W[t - 15];
      W[t] =
        (((x >>> 17) | (x << 15)) ^ ((x >>> 19) | (x << 13)) ^ (x >>> 10)) +
        W[t - 7] +
        (((y >>> 7) | (y << 25)) ^ ((y >>> 18) | (y << 14)) ^ (y >>> 3)) +
        W[t - 16];
    }
    a = H[0];
    b = H[1];
    c = H[2];
    d = H[3];
    e = H[4];
    f = H[5];
    g = H[6];
    h = H[7];
    for (t = 0; t < 64; t++) {
      x =
        (h +
          (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
          ((e & f) ^ (~e & g)) +
          K[2 * t + 16] +
          W[t]) |
        0;
      y =
        ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
          ((a & b) ^ (a & c) ^ (b & c))) |
        0;
      h = g;
      g = f;
      f = e;
      e = (d + x) | 0;
      d = c;
      c = b;
      b = a;
      a = (x + y) | 0;
    }
    H[0] += a;
    H[1] += b;
    H[2] += c;
    H[3] += d;
    H[4] += e;
    H[5] += f;
    H[6] += g;
    H[7] += h;
  }
}

/** SHA-256 of m[p .. p+n) into out[o .. o+32). */
export function sha256(m: Uint8Array, p: number, n: number, out: Uint8Array, o: number) {
  if (nativeSha256) out.set(new Uint8Array(nativeSha256(m.subarray(p, p + n))), o);
  else {
    for (var i = 0; i < 8; i++) H[i] = K[2 * i];
    md(m, p, n, 64, blocks, H, out, o, 32);
  }
}
