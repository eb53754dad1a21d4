// Ed25519 (RFC 8032) on twisted Edwards extended coordinates (X:Y:Z:T).
// Signing multiplies the base point by a secret scalar with a Lim-Lee comb
// (4 combs of 4 teeth, 16 columns: 15 doublings and 64 mixed additions) whose
// table entries are picked by a dot product with a one-hot mask built by
// arithmetic, so no branch or memory index depends on secret bits.
// Verification is public: [S]B - [k]A in one Horner loop that shares its 252
// doublings between 4-bit windows of A and the same comb.
import { convolve, copy } from "./engine";
import { add, gf, Gf, makeField, mul, pack, pow, sqr, sub, unpack, unroll } from "./field";
import { sha512 } from "./sha512";

type Pt = Gf[];

// Native kernels (targets/espruino/native.ts) where the firmware binds them: base(o, p, k),
// dsm(rv, h, sig, q, Q, D2) and sign(k, m, p, n, sig) do what the code here does (on a base
// point table of their own), or return false.
var nat: any = null;
export function setNative(n: any) {
  nat = n;
}

/** The JavaScript way's base point comb, once built (a board whose kernels sign never builds it). */
export var comb: Uint16Array[] | undefined;

// The JavaScript way: its state (constants, temporaries, tables) and its functions, made by
// jsWay() on first use. A board whose kernels do the work never makes it: its functions alone
// would hold some 250 of a Pico's 5,100 variables (Espruino keeps about ten a function).
var way: ReturnType<typeof jsWay> | undefined;
function js() {
  return way || (way = jsWay());
}
function jsWay() {
  makeField();
  function pt(): Pt {
    return [gf(), gf(), gf(), gf()];
  }

  // d = -121665/121666, 2d and sqrt(-1) = 2^((p-1)/4) are computed when the way is made.
  var D: Gf, D2: Gf, SQRTM1: Gf, ONE: Gf, ZERO: Gf;
  var a: Gf, b: Gf, c: Gf, d: Gf, e: Gf, f: Gf, g: Gf, h: Gf;

  // X = EF, Y = GH, Z = FG, T = EH
  function out(p: Pt) {
    mul(p[0], e, f);
    mul(p[1], g, h);
    mul(p[2], g, f);
    mul(p[3], e, h);
  }
  // E = B - A, F = D - C, G = D + C, H = B + A
  function finish(p: Pt) {
    sub(e, b, a);
    sub(f, d, c);
    add(g, d, c);
    add(h, b, a);
    out(p);
  }
  /** p += q, q in niels form (y+x, y-x, 2dxy) when its Z is 1, else cached form (Y+X, Y-X, 2dT, 2Z). */
  function addTo(p: Pt, q: Pt) {
    sub(a, p[1], p[0]);
    mul(a, a, q[1]);
    add(b, p[1], p[0]);
    mul(b, b, q[0]);
    mul(c, p[3], q[2]);
    if (q[3]) mul(d, p[2], q[3]);
    else add(d, p[2], p[2]);
    finish(p);
  }
  /** p = 2p (a = -1: dbl-2008-hwcd with all signs flipped, which cancel). */
  function dbl(p: Pt) {
    sqr(a, p[0]);
    sqr(b, p[1]);
    sqr(c, p[2]);
    add(d, c, c);
    add(h, a, b);
    add(e, p[0], p[1]);
    sqr(e, e);
    sub(e, h, e);
    sub(g, a, b);
    add(f, d, g);
    out(p);
  }
  /** Cached form of p into q: (Y+X, Y-X, 2dT, 2Z). */
  function cache(q: Pt, p: Pt) {
    add(q[0], p[1], p[0]);
    sub(q[1], p[1], p[0]);
    mul(q[2], p[3], D2);
    add(q[3], p[2], p[2]);
  }
  function setNeutral(p: Pt) {
    p[0].set(ZERO);
    p[1].set(ONE);
    p[2].set(ONE);
    p[3].set(ZERO);
  }

  var zi: Gf, xb: Uint8Array;
  /** The 32-byte encoding of p. */
  function encode(o: Uint8Array, p: number, q: Pt) {
    pow(zi, q[2], true);
    mul(a, q[0], zi);
    mul(b, q[1], zi);
    pack(o, p, b);
    pack(xb, 0, a);
    o[p + 31] ^= (xb[0] & 1) << 7;
  }

  var ya: Uint8Array;
  /** Decodes 32 bytes at s[p..] into p as (X, Y, 1, XY); false if they are not a canonical point. */
  function decode(q: Pt, s: Uint8Array, p: number): boolean {
    var x = q[0],
      y = q[1],
      i;
    unpack(y, s, p);
    pack(ya, 0, y);
    for (i = 0; i < 31; i++) if (ya[i] != s[p + i]) return false; // y >= p
    if (ya[31] != (s[p + 31] & 127)) return false;
    q[2].set(ONE);
    sqr(a, y); // u = y^2 - 1, v = d y^2 + 1
    mul(b, a, D);
    sub(a, a, ONE);
    add(b, b, ONE);
    sqr(c, b);
    mul(c, c, b); // v^3
    sqr(x, c);
    mul(x, x, b);
    mul(x, x, a); // u v^7
    pow(x, x, false);
    mul(x, x, c);
    mul(x, x, a); // u v^3 (u v^7)^((p-5)/8)
    sqr(d, x);
    mul(d, d, b); // v x^2
    if (!eq(d, a)) {
      mul(x, x, SQRTM1);
      sqr(d, x);
      mul(d, d, b);
      if (!eq(d, a)) return false;
    }
    pack(xb, 0, x);
    i = s[p + 31] >> 7;
    if (i && isZero(xb)) return false; // -0 is not canonical
    if ((xb[0] & 1) != i) sub(x, ZERO, x);
    mul(q[3], x, y);
    return true;
  }
  var eb: Uint8Array;
  function eq(u: Gf, v: Gf) {
    sub(e, u, v);
    pack(eb, 0, e);
    return isZero(eb);
  }
  function isZero(s: Uint8Array) {
    for (var i = 0, r = 0; i < 32; i++) r |= s[i];
    return !r;
  }

  // ---- the base point comb ----
  // Table entry (comb s, pattern m) = sum over set bits j of m of 2^(16(4s+j)) B,
  // in niels form, limbs normalised to 16 bits. comb[l] holds limb l of all 64
  // entries, so one dot product with a one-hot mask picks limb l of an entry;
  // short rows keep E.convolve's offsets small (it steps to them one by one).
  var N = 64;
  var mask: Int32Array;
  var sel: Gf[];

  function buildComb() {
    // one comb at a time, so that a Pico holds 16 points at once, not 64
    var tab = new Uint16Array(48 * N),
      B = pt(),
      q = pt(),
      base = [pt(), pt(), pt(), pt()],
      ent: Pt[] = [],
      acc: Gf[] = [],
      i,
      j,
      s,
      m,
      l,
      p: Pt,
      cs = [c, d, e];
    for (i = 0; i < 32; i++) ya[i] = i ? 0x66 : 0x58; // y = 4/5, x even
    decode(B, ya, 0);
    for (m = 0; m < 16; m++) {
      ent.push(pt());
      acc.push(gf());
    }
    for (s = 0; s < 4; s++) {
      // this comb's base points: 2^(16(4s+j)) B, j = 0..3, B doubled on from the comb before
      for (j = 0; j < 4; j++) {
        for (i = 0; i < 4; i++) base[j][i].set(B[i]);
        for (i = 0; i < 16; i++) dbl(B);
      }
      for (m = 0; m < 16; m++) {
        setNeutral((p = ent[m]));
        for (j = 0; j < 4; j++)
          if (m & (1 << j)) {
            cache(q, base[j]);
            addTo(p, q);
          }
        // running product of the Zs, for one inversion of the comb's 16
        if (m) mul(acc[m], acc[m - 1], p[2]);
        else acc[0].set(p[2]);
      }
      pow(zi, acc[15], true);
      for (m = 15; m >= 0; m--) {
        p = ent[m];
        // 1/Z_m = (1 / (Z_0 .. Z_m)) (Z_0 .. Z_(m-1))
        if (m) mul(f, zi, acc[m - 1]);
        else f.set(zi);
        mul(zi, zi, p[2]);
        mul(a, p[0], f);
        mul(b, p[1], f);
        add(c, b, a); // y + x
        sub(d, b, a); // y - x
        mul(e, a, b);
        mul(e, e, D2); // 2dxy
        for (j = 0; j < 3; j++) {
          pack(xb, 0, cs[j]);
          for (l = 0; l < 16; l++)
            tab[(16 * j + l) * N + 16 * s + m] = xb[2 * l] | (xb[2 * l + 1] << 8);
        }
      }
    }
    for (comb = [], l = 0; l < 48; l++) comb.push(tab.subarray(l * N, l * N + N));
  }

  /** A dot product of 16 entries, where there is no E.convolve (no wrap needed here). */
  function dot(u: Int32Array, v: Uint16Array, o: number) {
    for (var i = 0, r = 0; i < 16; i++) r += u[i] * v[o + i];
    return r;
  }
  /** sel = the niels entry m of the comb whose entries start at o; m is secret when signing, so it picks by a mask, not an index. */
  var pick: (t: Uint16Array[], m: number, o: number) => void;
  function makePick() {
    return new Function(
      "C",
      "M",
      "s",
      "return function(t,m,o){" +
        unroll(function (i) {
          return "M[" + i + "]=((" + i + "^m)-1)>>>31;";
        }, 16) +
        unroll(function (l) {
          return "s[" + (l >> 4) + "][" + (l & 15) + "]=C(M,t[" + l + "],o);";
        }, 48) +
        "}"
    )(convolve || dot, mask, sel);
  }
  /** Bits i, i+16, i+32, i+48 of comb s of the scalar k (little-endian bytes). */
  function column(k: Uint8Array, o: number, s: number, i: number) {
    var r = 0,
      j,
      bit;
    for (j = 0; j < 4; j++) {
      bit = i + 16 * (4 * s + j);
      r |= ((k[o + (bit >> 3)] >> (bit & 7)) & 1) << j;
    }
    return r;
  }
  /** p += comb column i of the scalar at k[o..o+32) (4 mixed additions). */
  function addColumn(p: Pt, k: Uint8Array, o: number, i: number) {
    for (var s = 0; s < 4; s++) {
      pick(comb!, column(k, o, s, i), 16 * s);
      addTo(p, sel);
    }
  }

  var R: Pt;
  /** baseMul, the JavaScript way. */
  function baseMulJs(o: Uint8Array, p: number, k: Uint8Array) {
    if (!comb) buildComb();
    setNeutral(R);
    for (var i = 15; i >= 0; i--) {
      dbl(R);
      addColumn(R, k, 0, i);
    }
    encode(o, p, R);
  }

  // ---- scalars modulo L, on 16-bit limbs ----
  // L = 2^252 + delta; delta's limbs, then two zero limbs that give carries room, then 2^252's
  var LL: number[], X: Float64Array;
  /** r[p..p+32) = X mod L, X holding 32 limbs of about 16 bits (TweetNaCl's modL on 16-bit limbs). */
  function modL(r: Uint8Array, p: number) {
    var c, i, j;
    // 2^256 = 16 * 2^252 = -16 delta (mod L): fold each top limb into the ones 256 bits below
    for (i = 31; i >= 16; i--) {
      c = 0;
      for (j = i - 16; j < i - 6; j++) {
        X[j] += c - 16 * X[i] * LL[j - i + 16];
        c = Math.floor((X[j] + 32768) / 65536);
        X[j] -= c * 65536;
      }
      X[j] += c;
      X[i] = 0;
    }
    // then the bits from 252 up, and one conditional L back in for a negative rest
    c = 0;
    for (j = 0; j < 16; j++) {
      X[j] += c - (X[15] >> 12) * LL[j];
      c = X[j] >> 16;
      X[j] &= 65535;
    }
    for (j = 0; j < 16; j++) X[j] -= c * LL[j];
    for (i = 0; i < 16; i++) {
      X[i + 1] += X[i] >> 16;
      r[p + 2 * i] = X[i];
      r[p + 2 * i + 1] = X[i] >> 8;
    }
  }
  /** 16-bit limb i of the little-endian bytes at s[p..]. */
  function limb(s: Uint8Array, p: number, i: number) {
    return s[p + 2 * i] | (s[p + 2 * i + 1] << 8);
  }
  function reduce(s: Uint8Array, p: number, r: Uint8Array, q: number) {
    for (var i = 0; i < 32; i++) X[i] = limb(s, p, i);
    modL(r, q);
  }
  var SA: Int32Array, SK: Int32Array;
  /** r[0..32) = (r + k a) mod L for the 32-byte scalars r, k, a (a at k96[0..32)). */
  function mulAdd(r: Uint8Array, k: Uint8Array, a: Uint8Array) {
    var i, j;
    for (i = 0; i < 32; i++) X[i] = i < 16 ? limb(r, 0, i) : 0;
    for (i = 0; i < 16; i++) {
      SA[i] = limb(a, 0, i);
      SK[30 - i] = limb(k, 0, i); // k reversed between zeros: one dot product per output limb
    }
    if (convolve) for (i = 0; i < 31; i++) X[i] += convolve(SA, SK, 30 - i);
    else for (i = 0; i < 16; i++) for (j = 0; j < 16; j++) X[i + j] += SA[i] * SK[30 - j];
    // back to 16-bit limbs, so that modL's products stay exact
    for (i = 0; i < 31; i++) {
      j = Math.floor(X[i] / 65536);
      X[i] -= j * 65536;
      X[i + 1] += j;
    }
    modL(r, 0);
  }

  // ---- keys, signing, verification ----
  var buf: Uint8Array;
  function room(n: number) {
    if (buf.length < n + 64) buf = new Uint8Array(n + 576);
    return buf;
  }

  var hk: Uint8Array, rk: Uint8Array;
  /** signBytes, the JavaScript way. */
  function signJs(k: Uint8Array, m: Uint8Array, p: number, n: number, sig: Uint8Array) {
    var B = room(n);
    copy(B, 64, m, p, n);
    copy(B, 32, k, 32, 32);
    sha512(B, 32, n + 32, hk, 0);
    reduce(hk, 0, rk, 0); // r
    baseMul(sig, 0, rk); // R
    copy(B, 0, sig, 0, 32);
    copy(B, 32, k, 64, 32);
    sha512(B, 0, n + 64, hk, 0);
    reduce(hk, 0, hk, 0); // k = H(R || A || M) mod L
    mulAdd(rk, hk, k); // S = r + k a
    copy(sig, 32, rk, 0, 32);
  }

  // One decoded public key is kept: a feed is verified message after message by one author.
  var lastA: Uint8Array,
    haveA = false;
  var win: Pt[] = [],
    Q: Pt;
  function loadKey(A: Uint8Array, p: number): boolean {
    var i, j;
    for (i = 0; i < 32 && A[p + i] == lastA[i]; i++);
    if (i == 32 && haveA) return true;
    haveA = false;
    if (!decode(Q, A, p)) return false;
    // refuse keys of small order (8A = 0), as libsodium and noble's strict mode do
    for (i = 0; i < 4; i++) R[i].set(Q[i]);
    dbl(R);
    dbl(R);
    dbl(R);
    pack(xb, 0, R[0]);
    if (isZero(xb)) return false;
    // win[w] = cached w(-A), w = 1..15
    sub(Q[0], ZERO, Q[0]);
    sub(Q[3], ZERO, Q[3]);
    for (i = 0; i < 4; i++) R[i].set(Q[i]);
    for (j = 1; j < 16; j++) {
      if (!win[j]) win[j] = pt();
      cache(win[j], R);
      addTo(R, win[1]);
    }
    copy(lastA, 0, A, p, 32);
    return (haveA = true);
  }

  /** Whether the S of the signature sig[q..q+64) is below L (spec/pigeon.md 2.3, rule 1), compared from the top limb. */
  function sBelowL(sig: Uint8Array, q: number): boolean {
    for (var i = 15; i >= 0 && limb(sig, q + 32, i) == LL[i]; i--);
    return i >= 0 && limb(sig, q + 32, i) < LL[i];
  }

  var hv: Uint8Array, rv: Uint8Array;
  /** verifySignature, the JavaScript way (the kernels' double product where they are bound). */
  var verify: typeof verifySignature = function (A, r, m, p, n, sig, q) {
    var i, w, B;
    if (!sBelowL(sig, q)) return false;
    if (!loadKey(A, r)) return false;
    B = room(n);
    copy(B, 0, sig, q, 32);
    copy(B, 32, A, r, 32);
    copy(B, 64, m, p, n);
    sha512(B, 0, n + 64, hv, 0);
    reduce(hv, 0, hv, 0);
    if (!(nat && nat.dsm(rv, hv, sig, q + 32, Q, D2))) {
      if (!comb) buildComb();
      setNeutral(R);
      for (i = 252; i >= 0; i--) {
        dbl(R);
        if (!(i & 3)) {
          w = (hv[i >> 3] >> (i & 7)) & 15;
          if (w) addTo(R, win[w]);
        }
        if (i < 16) addColumn(R, sig, q + 32, i);
      }
      encode(rv, 0, R);
    }
    for (i = 0; i < 32; i++) if (rv[i] != sig[q + i]) return false;
    return true;
  };

  // the state, made with the way
  D = gf();
  D2 = gf();
  SQRTM1 = gf();
  ONE = gf([1]);
  ZERO = gf();
  a = gf();
  b = gf();
  c = gf();
  d = gf();
  e = gf();
  f = gf();
  g = gf();
  h = gf();
  zi = gf();
  xb = new Uint8Array(32);
  ya = new Uint8Array(32);
  eb = new Uint8Array(32);
  mask = new Int32Array(16);
  sel = [gf(), gf(), gf()];
  pick = makePick();
  R = pt();
  Q = pt();
  LL = [
    0xd3ed, 0x5cf5, 0x631a, 0x5812, 0x9cd6, 0xa2f7, 0xf9de, 0x14de, 0, 0, 0, 0, 0, 0, 0, 0x1000,
  ];
  X = new Float64Array(32);
  SA = new Int32Array(16);
  SK = new Int32Array(46);
  buf = new Uint8Array(576);
  hk = new Uint8Array(64);
  rk = new Uint8Array(32);
  hv = new Uint8Array(64);
  rv = new Uint8Array(32);
  lastA = new Uint8Array(32);
  pow(D, gf([0xdb42, 1]), true);
  mul(D, D, gf([0xdb41, 1]));
  sub(D, ZERO, D);
  add(D2, D, D);
  pow(SQRTM1, gf([2]), false);
  sqr(SQRTM1, SQRTM1);
  add(SQRTM1, SQRTM1, SQRTM1);
  return { baseMul: baseMulJs, reduce: reduce, sign: signJs, sBelowL: sBelowL, verify: verify };
}

/** o[p..p+32) = encoding of [k]B, k < 2^256 as 32 little-endian bytes; constant time. */
export function baseMul(o: Uint8Array, p: number, k: Uint8Array) {
  if (!(nat && nat.base(o, p, k))) js().baseMul(o, p, k);
}
/** r[q..q+32) = the 64 bytes at s[p..] mod L. */
export function reduce(s: Uint8Array, p: number, r: Uint8Array, q: number) {
  js().reduce(s, p, r, q);
}

/** Expanded key from a 32-byte seed: a (clamped scalar) | prefix | public key A, 96 bytes. */
export function keypair(seed: Uint8Array, out?: Uint8Array): Uint8Array {
  var k = out || new Uint8Array(96);
  sha512(seed, 0, 32, k, 0);
  k[0] &= 248;
  k[31] = (k[31] & 127) | 64;
  baseMul(k, 64, k);
  return k;
}

/** sig[0..64) = signature of m[p..p+n) under the expanded key k. */
export function signBytes(k: Uint8Array, m: Uint8Array, p: number, n: number, sig: Uint8Array) {
  if (!(nat && nat.sign(k, m, p, n, sig))) js().sign(k, m, p, n, sig);
}
/** Whether the S of the signature sig[q..q+64) is below L (spec/pigeon.md 2.3, rule 1). */
export function sBelowL(sig: Uint8Array, q: number): boolean {
  return js().sBelowL(sig, q);
}
/** Whether sig[q..q+64) is A[r..r+32)'s signature of m[p..p+n) (spec/pigeon.md 2.3). */
export function verifySignature(
  A: Uint8Array,
  r: number,
  m: Uint8Array,
  p: number,
  n: number,
  sig: Uint8Array,
  q: number
): boolean {
  return js().verify(A, r, m, p, n, sig, q);
}
