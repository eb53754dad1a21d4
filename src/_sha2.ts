// What SHA-256 and SHA-512 share (FIPS 180-4): SHA-512's constants, whose upper
// halves are SHA-256's round constants and initial state, and the Merkle-Damgard
// padding. Internal to sha256.ts and sha512.ts (and the native kernels' binding).
import { b32decode } from "./base32";

// Initial state then the 80 round constants, big-endian 64-bit words.
/** K[2i], K[2i+1]: high and low halves of word i (0-7 initial state, 8-87 round constants). */
export var K = (function () {
  // a function scope, so that the text (a copy in RAM on a board) and the decoding buffers are garbage once K is made
  var KS =
    "D84YCSZKQK4GHEV7NT2R9JN77CY6XWVJZTAFGAX59ZTKMQRX6VRN23JJFYPYD0PHKC2PH31B7SP1Y7W3V6NZPGDXDDDY1K8S2DZ22YA2H8QSHNS8NRH72DT4J4HYYSEDPQ0FQKZC9MXJZTDNVEJR32EVQGWNDGJVYD4BAE2SY48Z3DG5T0CS4FW2MJQHJKWVNCE5XNETDP0HHP07NACA60R288986PR18NR6ZFH4662VWKQ4PA65A33XRFAZZD72EAZ5TX7JFE4PZ06YP7Z3P5MPP6DXR1N74Q3H4DE1KFRQ9KV94TAE96V9R6FF2JPJXYZ4F1HR9WJY63Y1KQ38Q36NPMJ0S8ECEYP9RS9DX4P6YP9B09TMMX44N9QADS43BJRAKQ5X87XX8XQSH3D864AKPPC3WMAJXSKDZAX86736TBDM688B00S7S2CFP89ZQXCQZHXYXW7E9HQ01FSKVA4FRBATF4A7JC5AE986S9HN3R03G9QH8A99CW50WVKG4YVGN1A6T8QZRBGV44W5R9P94S6JRVFWBB22NVAK706H77CNPFFPA2KKAJ5TYRYYESN0NESWEYSAH0E2S4Q4FVDEWT974B452J13AEX2QZMA2K7H0DJAG6K69EY44C01R95RPW6GZ2BS3HVCA6HGCN5Y638S5T0STVQN466PK4328NB5N48F83HNGNBQ281A21NA0W1JQF8VG6D4R4BBHMPGS0F3EV08A50TPMS791VMSQWEXECK9C5WPQGSPJ5874E0SCY5S5D66KPRN95E6GCASDDSSJJFEXHY6WV85SQZ7NNJQ2HQ93W2XSEYZCQWF2JP6VT32WQP1168F0AA3W5BEA6CE0G839J3KV4GQVZZM8V33RMA8M3CXFF85FF9QVWT7XXJRSWHBHKHF3SE6WJK5F52EFPEX8K6376HGTWCE8E0R83YNPKXTV6Y1TRYYNYMYZZEDV8QG1QGCYN745VFQ8566ZE5MB49H9GH7YC09FQS1PQ1PW8B6M9HRHRV53DQFX930HYR8CPANDXM1HS4JCY9XFGA2Q4VXF233NKW970G1N64SHEMQV5KWGNPB5ZJK77WCNZ2MQYBDYNKNNQTXHP486CC993NG5R";
  var raw = new Uint8Array(704),
    ks = new Uint8Array(KS.length),
    k = new Int32Array(176),
    i;
  for (i = 0; i < KS.length; i++) ks[i] = KS.charCodeAt(i);
  b32decode(ks, 0, KS.length, raw);
  for (i = 0; i < 176; i++)
    k[i] = (raw[4 * i] << 24) | (raw[4 * i + 1] << 16) | (raw[4 * i + 2] << 8) | raw[4 * i + 3];
  return k;
})();

// md()'s last blocks: made on first use
var tail: Uint8Array;

/**
 * Merkle-Damgard finish of both: hashes m[p .. p+n) with the block
 * function, then the padding (0x80, zeros, bit length), and writes len bytes of
 * the big-endian state h to out[o..].
 */
export function md(
  m: Uint8Array,
  p: number,
  n: number,
  size: number,
  blocks: (m: Uint8Array, p: number, n: number) => void,
  h: Int32Array,
  out: Uint8Array,
  o: number,
  len: number
) {
  var i,
    r = n % size,
    k = r < (size * 7) / 8 ? size : 2 * size;
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
