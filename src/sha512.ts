// SHA-512 (FIPS 180-4) on 32-bit halves, no BigInt; the native one where the
// board has it. Its constants also seed SHA-256, whose round constants and
// initial state are the upper halves of SHA-512's.
import { b32decode } from "./base32";
import { nativeSha512 } from "./engine";

// Initial state then the 80 round constants, big-endian 64-bit words.
var KS =
  "D84YCSZKQK4GHEV7NT2R9JN77CY6XWVJZTAFGAX59ZTKMQRX6VRN23JJFYPYD0PHKC2PH31B7SP1Y7W3V6NZPGDXDDDY1K8S2DZ22YA2H8QSHNS8NRH72DT4J4HYYSEDPQ0FQKZC9MXJZTDNVEJR32EVQGWNDGJVYD4BAE2SY48Z3DG5T0CS4FW2MJQHJKWVNCE5XNETDP0HHP07NACA60R288986PR18NR6ZFH4662VWKQ4PA65A33XRFAZZD72EAZ5TX7JFE4PZ06YP7Z3P5MPP6DXR1N74Q3H4DE1KFRQ9KV94TAE96V9R6FF2JPJXYZ4F1HR9WJY63Y1KQ38Q36NPMJ0S8ECEYP9RS9DX4P6YP9B09TMMX44N9QADS43BJRAKQ5X87XX8XQSH3D864AKPPC3WMAJXSKDZAX86736TBDM688B00S7S2CFP89ZQXCQZHXYXW7E9HQ01FSKVA4FRBATF4A7JC5AE986S9HN3R03G9QH8A99CW50WVKG4YVGN1A6T8QZRBGV44W5R9P94S6JRVFWBB22NVAK706H77CNPFFPA2KKAJ5TYRYYESN0NESWEYSAH0E2S4Q4FVDEWT974B452J13AEX2QZMA2K7H0DJAG6K69EY44C01R95RPW6GZ2BS3HVCA6HGCN5Y638S5T0STVQN466PK4328NB5N48F83HNGNBQ281A21NA0W1JQF8VG6D4R4BBHMPGS0F3EV08A50TPMS791VMSQWEXECK9C5WPQGSPJ5874E0SCY5S5D66KPRN95E6GCASDDSSJJFEXHY6WV85SQZ7NNJQ2HQ93W2XSEYZCQWF2JP6VT32WQP1168F0AA3W5BEA6CE0G839J3KV4GQVZZM8V33RMA8M3CXFF85FF9QVWT7XXJRSWHBHKHF3SE6WJK5F52EFPEX8K6376HGTWCE8E0R83YNPKXTV6Y1TRYYNYMYZZEDV8QG1QGCYN745VFQ8566ZE5MB49H9GH7YC09FQS1PQ1PW8B6M9HRHRV53DQFX930HYR8CPANDXM1HS4JCY9XFGA2Q4VXF233NKW970G1N64SHEMQV5KWGNPB5ZJK77WCNZ2MQYBDYNKNNQTXHP486CC993NG5R";
var raw = new Uint8Array(704);
var ks = new Uint8Array(KS.length);
for (var i = 0; i < KS.length; i++) ks[i] = KS.charCodeAt(i);
b32decode(ks, 0, KS.length, raw);
/** K[2i], K[2i+1]: high and low halves of word i (0-7 initial state, 8-87 round constants). */
export var K = new Int32Array(176);
for (i = 0; i < 176; i++) K[i] = (raw[4 * i] << 24) | (raw[4 * i + 1] << 16) | (raw[4 * i + 2] << 8) | raw[4 * i + 3];

var W = new Int32Array(160);
var H = new Int32Array(16);
var tail = new Uint8Array(256);

function blocks(m: Uint8Array, p: number, n: number) {
  var t, ah, al, bh, bl, ch, cl, dh, dl, eh, el, fh, fl, gh, gl, hh, hl, xh, xl, yh, yl, l;
  for (; n >= 128; n -= 128, p += 128) {
    for (t = 0; t < 32; t++, p += 4) W[t] = (m[p] << 24) | (m[p + 1] << 16) | (m[p + 2] << 8) | m[p + 3];
    p -= 128;
    for (t = 32; t < 160; t += 2) {
      // W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], in halves
      xh = W[t - 4];
      xl = W[t - 3];
      yh = W[t - 30];
      yl = W[t - 29];
      l =
        ((((xl >>> 19) | (xh << 13)) ^ ((xh >>> 29) | (xl << 3)) ^ ((xl >>> 6) | (xh << 26))) >>> 0) +
        ((((yl >>> 1) | (yh << 31)) ^ ((yl >>> 8) | (yh << 24)) ^ ((yl >>> 7) | (yh << 25))) >>> 0) +
        (W[t - 13] >>> 0) + (W[t - 31] >>> 0);
      W[t] =
        (((xh >>> 19) | (xl << 13)) ^ ((xl >>> 29) | (xh << 3)) ^ (xh >>> 6)) +
        (((yh >>> 1) | (yl << 31)) ^ ((yh >>> 8) | (yl << 24)) ^ (yh >>> 7)) +
        W[t - 14] + W[t - 32] + ((l / 4294967296) | 0);
      W[t + 1] = l;
    }
    ah = H[0]; al = H[1]; bh = H[2]; bl = H[3]; ch = H[4]; cl = H[5]; dh = H[6]; dl = H[7];
    eh = H[8]; el = H[9]; fh = H[10]; fl = H[11]; gh = H[12]; gl = H[13]; hh = H[14]; hl = H[15];
    for (t = 0; t < 160; t += 2) {
      // T1 = h + S1(e) + Ch(e,f,g) + K + W
      l =
        (hl >>> 0) +
        ((((el >>> 14) | (eh << 18)) ^ ((el >>> 18) | (eh << 14)) ^ ((eh >>> 9) | (el << 23))) >>> 0) +
        (((el & fl) ^ (~el & gl)) >>> 0) + (K[t + 17] >>> 0) + (W[t + 1] >>> 0);
      xh =
        hh +
        (((eh >>> 14) | (el << 18)) ^ ((eh >>> 18) | (el << 14)) ^ ((el >>> 9) | (eh << 23))) +
        ((eh & fh) ^ (~eh & gh)) + K[t + 16] + W[t] + ((l / 4294967296) | 0);
      xl = l;
      // T2 = S0(a) + Maj(a,b,c)
      l =
        ((((al >>> 28) | (ah << 4)) ^ ((ah >>> 2) | (al << 30)) ^ ((ah >>> 7) | (al << 25))) >>> 0) +
        (((al & bl) ^ (al & cl) ^ (bl & cl)) >>> 0);
      yh =
        (((ah >>> 28) | (al << 4)) ^ ((al >>> 2) | (ah << 30)) ^ ((al >>> 7) | (ah << 25))) +
        ((ah & bh) ^ (ah & ch) ^ (bh & ch)) + ((l / 4294967296) | 0);
      yl = l;
      hh = gh; hl = gl; gh = fh; gl = fl; fh = eh; fl = el;
      l = (dl >>> 0) + (xl >>> 0);
      eh = (dh + xh + ((l / 4294967296) | 0)) | 0;
      el = l | 0;
      dh = ch; dl = cl; ch = bh; cl = bl; bh = ah; bl = al;
      l = (xl >>> 0) + (yl >>> 0);
      ah = (xh + yh + ((l / 4294967296) | 0)) | 0;
      al = l | 0;
    }
    add(0, ah, al); add(2, bh, bl); add(4, ch, cl); add(6, dh, dl);
    add(8, eh, el); add(10, fh, fl); add(12, gh, gl); add(14, hh, hl);
  }
}
function add(i: number, h: number, l: number) {
  l = (H[i + 1] >>> 0) + (l >>> 0);
  H[i] = H[i] + h + ((l / 4294967296) | 0);
  H[i + 1] = l;
}

/** SHA-512 of m[p .. p+n) into out[o .. o+64). */
export function sha512(m: Uint8Array, p: number, n: number, out: Uint8Array, o: number) {
  var i;
  if (nativeSha512) {
    out.set(new Uint8Array(nativeSha512(m.subarray(p, p + n))), o);
    return;
  }
  for (i = 0; i < 16; i++) H[i] = K[i];
  blocks(m, p, n);
  var r = n & 127, k;
  for (i = 0; i < 256; i++) tail[i] = 0;
  for (i = 0; i < r; i++) tail[i] = m[p + n - r + i];
  tail[r] = 128;
  k = r < 112 ? 128 : 256;
  // message length in bits, big-endian (fits in 32 bits here: n < 512 MiB)
  tail[k - 5] = n >>> 29;
  tail[k - 4] = n >>> 21;
  tail[k - 3] = n >>> 13;
  tail[k - 2] = n >>> 5;
  tail[k - 1] = n << 3;
  blocks(tail, 0, k);
  for (i = 0; i < 64; i++) out[o + i] = H[i >> 2] >> (24 - 8 * (i & 3));
}
