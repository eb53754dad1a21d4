/*
 * Thumb-2 kernels for the Cortex-M4 boards (Pico, WiFi, nRF52), called from
 * JavaScript through E.nativeCall. One position-independent blob: no libc, no
 * global or static data, no calls the compiler makes on its own (memset,
 * memcpy, 64-bit division); scripts/native.mjs checks the object for that.
 * The base point table lies in the code (basetable.h); the other constants
 * the code needs (SHA-512's round constants, 2d) come from the caller's typed
 * arrays. No branch and no memory index depends on secret data: table
 * entries are picked by masks.
 *
 * Inside, field elements are 8 words of 32 bits (radix 2^32), kept below
 * 2^256 and reduced modulo 2^256 - 38 = 2p; the JavaScript core's layout (16
 * signed limbs of 16 bits in an Int32Array) is converted at the boundary.
 *
 * Entry points (the blob begins with a table of branches, so their offsets
 * stay 0, 4, 8, ... whatever the compiler does):
 *   0  fe_mul(o, a, b)            o = a * b, Int32Array(16) limbs (o may alias a or b)
 *   4  fe_sq(o, a)                o = a * a
 *   8  sha512_blocks(H, m, n, K)  n 128-byte blocks at m into H (Int32Array(16), high then low half of each word);
 *                                 K: Int32Array(176) as in src/sha512.ts (round constants from K[16])
 *   12 ed_base(out, k)            out[0..32) = encoding of [k]B; k: 32 bytes
 *   16 ed_dsm(io, A, tmp)         io[0..32) = encoding of [h]A' + [S]B, io = h | S (32 + 32 bytes);
 *                                 A: Int32Array(80) = X, Y, Z, T of A' (already negated), then 2d; tmp: 1920 bytes
 *   20 ed_sign(io, m, n, K)       io[96..160) = Ed25519 signature of the n bytes at m under the expanded
 *                                 key io[0..96) (a | prefix | A, as src/ed25519.ts keypair makes it): its sign whole
 *   24 b32_decode(out, s, n)      returns the bytes of the n base32 characters at s written to out, or -1
 *                                 when they are not canonical (src/base32.ts b32decode)
 *   28 wire_page(io, b, out, shape) the wire records (spec/link.md) of a page's card records (spec/card.md)
 *                                 into a frame: src/link.ts wire() for a page at a time; see there
 *   32 frame_escape(b, n, cap)    b[0..n) escaped in place as src/link.ts escape() does; returns the new
 *                                 length, or -1 when it would pass cap
 */
#include <stdint.h>

typedef uint32_t u32;
typedef int32_t s32;
typedef uint64_t u64;
typedef int64_t s64;
typedef u32 fe[8];

#define K_INLINE static inline __attribute__((always_inline))
#define K_NOINLINE static __attribute__((noinline))
#define UNROLL _Pragma("GCC unroll 8")

/* The table of entry points at offset 0 of the blob, so that their offsets stay put. */
#define ENTRY_POINT static __attribute__((used, noinline, noclone))
ENTRY_POINT void fe_mul(s32 *o, const s32 *a, const s32 *b);
ENTRY_POINT void fe_sq(s32 *o, const s32 *a);
ENTRY_POINT void sha512_blocks(s32 *H, const uint8_t *m, int n, const s32 *K);
ENTRY_POINT void ed_base(uint8_t *out, const uint8_t *k);
ENTRY_POINT void ed_dsm(uint8_t *io, const s32 *A, u32 *win);
ENTRY_POINT void ed_sign(uint8_t *io, const uint8_t *m, int n, const s32 *K);
ENTRY_POINT int b32_decode(uint8_t *out, const uint8_t *s, int n);
ENTRY_POINT int wire_page(s32 *io, const uint8_t *b, uint8_t *out, uint8_t *shape);
ENTRY_POINT int frame_escape(uint8_t *b, int n, int cap);
__attribute__((naked, used)) static void entry(void) {
  __asm__ volatile(
      "b.w fe_mul\n"
      "b.w fe_sq\n"
      "b.w sha512_blocks\n"
      "b.w ed_base\n"
      "b.w ed_dsm\n"
      "b.w ed_sign\n"
      "b.w b32_decode\n"
      "b.w wire_page\n"
      "b.w frame_escape\n");
}

/* ---- field arithmetic, radix 2^32 ---- */

K_NOINLINE void fcopy(u32 *o, const u32 *a) {
  UNROLL for (int i = 0; i < 8; i++) o[i] = a[i];
}

/* o = t + c 2^256 mod 2^256 - 38, c a small signed carry: 2^256 = 38, folded in twice. A second
   carry comes only when t was within 38 of an end of [0, 2^256), so o[0] then takes it whole */
K_INLINE void ffold(u32 *o, const u32 *t, s64 c) {
  c *= 38;
  UNROLL for (int i = 0; i < 8; i++) {
    c += t[i];
    o[i] = (u32)c;
    c >>= 32;
  }
  o[0] += (u32)c * 38;
}

/* o = a + b mod 2^256 - 38 */
K_NOINLINE void fadd(u32 *o, const u32 *a, const u32 *b) {
  u64 c = 0;
  u32 t[8];
  UNROLL for (int i = 0; i < 8; i++) {
    c += (u64)a[i] + b[i];
    t[i] = (u32)c;
    c >>= 32;
  }
  ffold(o, t, (s64)c);
}

/* o = a - b mod 2^256 - 38 */
K_NOINLINE void fsub(u32 *o, const u32 *a, const u32 *b) {
  s64 c = 0;
  u32 t[8];
  UNROLL for (int i = 0; i < 8; i++) {
    c += (s64)a[i] - b[i];
    t[i] = (u32)c;
    c >>= 32;
  }
  ffold(o, t, c); /* c is 0 or -1 */
}

/* o = r[0..8) + 38 r[8..16) mod 2^256 - 38, r a 512-bit product */
K_INLINE void freduce(u32 *o, const u32 *r) {
  u64 c = 0;
  UNROLL for (int i = 0; i < 8; i++) {
    c += (u64)r[i + 8] * 38 + r[i];
    o[i] = (u32)c;
    c >>= 32;
  }
  ffold(o, o, (s64)c);
}

K_NOINLINE void fmul(u32 *o, const u32 *a, const u32 *b) {
  u32 r[16], c, x;
  u64 t;
  x = a[0];
  c = 0;
  UNROLL for (int j = 0; j < 8; j++) {
    t = (u64)x * b[j] + c;
    r[j] = (u32)t;
    c = (u32)(t >> 32);
  }
  r[8] = c;
  for (int i = 1; i < 8; i++) {
    x = a[i];
    c = 0;
    UNROLL for (int j = 0; j < 8; j++) {
      t = (u64)x * b[j] + r[i + j] + c; /* UMAAL */
      r[i + j] = (u32)t;
      c = (u32)(t >> 32);
    }
    r[i + 8] = c;
  }
  freduce(o, r);
}

K_NOINLINE void fsq(u32 *o, const u32 *a) {
  u32 r[16], c, x;
  u64 t;
  int i, j;
  /* the products a_i a_j, i < j, once */
  r[0] = 0;
  x = a[0];
  c = 0;
  for (j = 1; j < 8; j++) {
    t = (u64)x * a[j] + c;
    r[j] = (u32)t;
    c = (u32)(t >> 32);
  }
  r[8] = c;
  for (i = 1; i < 7; i++) {
    x = a[i];
    c = 0;
    for (j = i + 1; j < 8; j++) {
      t = (u64)x * a[j] + r[i + j] + c;
      r[i + j] = (u32)t;
      c = (u32)(t >> 32);
    }
    r[i + 8] = c;
  }
  r[15] = 0;
  /* doubled, plus the squares a_i^2 */
  c = 0;
  for (i = 0; i < 16; i++) {
    u32 v = r[i];
    r[i] = (v << 1) | c;
    c = v >> 31;
  }
  c = 0;
  for (i = 0; i < 8; i++) {
    t = (u64)a[i] * a[i];
    u64 s = (u64)r[2 * i] + (u32)t + c;
    r[2 * i] = (u32)s;
    s = (s >> 32) + r[2 * i + 1] + (u32)(t >> 32);
    r[2 * i + 1] = (u32)s;
    c = (u32)(s >> 32);
  }
  freduce(o, r);
}

K_NOINLINE void fsqn(u32 *o, const u32 *a, int n) {
  fsq(o, a);
  while (--n > 0) fsq(o, o);
}

/* o = z^(p-2) = 1/z; the chain of src/field.ts's pow */
K_NOINLINE void finv(u32 *o, const u32 *z) {
  fe a, b, t, t2, t3;
  fsq(a, z);           /* 2 */
  fsqn(t, a, 2);       /* 8 */
  fmul(b, t, z);       /* 9 */
  fmul(a, b, a);       /* 11 */
  fsq(t, a);           /* 22 */
  fmul(b, t, b);       /* 2^5 - 1 */
  fsqn(t, b, 5);
  fmul(b, t, b);       /* 2^10 - 1 */
  fsqn(t, b, 10);
  fmul(t2, t, b);      /* 2^20 - 1 */
  fsqn(t, t2, 20);
  fmul(t3, t, t2);     /* 2^40 - 1 */
  fsqn(t, t3, 10);
  fmul(b, t, b);       /* 2^50 - 1 */
  fsqn(t, b, 50);
  fmul(t2, t, b);      /* 2^100 - 1 */
  fsqn(t, t2, 100);
  fmul(t3, t, t2);     /* 2^200 - 1 */
  fsqn(t, t3, 50);
  fmul(t3, t, b);      /* 2^250 - 1 */
  fsqn(t, t3, 5);
  fmul(o, t, a); /* 2^255 - 21 */
}

/* 32 canonical little-endian bytes of a (fully reduced modulo p) */
K_NOINLINE void fpack(uint8_t *s, const u32 *a) {
  u32 t[8], m[8];
  s64 c;
  int i, k;
  /* a < 2^256 = 2p + 38: subtract p twice where that does not borrow */
  fcopy(t, a);
  for (k = 0; k < 2; k++) {
    c = 0;
    for (i = 0; i < 8; i++) {
      u32 pi = i == 0 ? 0xffffffedu : i == 7 ? 0x7fffffffu : 0xffffffffu;
      c += (s64)t[i] - pi;
      m[i] = (u32)c;
      c >>= 32;
    }
    /* c = -1: borrowed, keep t */
    u32 keep = (u32)c, take = ~keep;
    for (i = 0; i < 8; i++) t[i] = (t[i] & keep) | (m[i] & take);
  }
  for (i = 0; i < 32; i++) s[i] = (uint8_t)(t[i >> 2] >> (8 * (i & 3)));
}

/* From the core's 16 signed 16-bit limbs (any magnitude below 2^30) to 8 words below 2^256 */
K_NOINLINE void fload(u32 *o, const s32 *l) {
  s64 c = 0;
  UNROLL for (int i = 0; i < 8; i++) {
    c += (s64)l[2 * i] + (s64)l[2 * i + 1] * 65536;
    o[i] = (u32)c;
    c >>= 32;
  }
  ffold(o, o, c); /* value = o + c 2^256 */
}
/* To the core's layout: limbs in [0, 2^16) */
K_NOINLINE void fstore(s32 *l, const u32 *a) {
  UNROLL for (int i = 0; i < 8; i++) {
    l[2 * i] = (s32)(a[i] & 0xffff);
    l[2 * i + 1] = (s32)(a[i] >> 16);
  }
}

/* ---- Ed25519 points, extended coordinates; the formulas of src/ed25519.ts ---- */

typedef struct {
  fe x, y, z, t;
} pt;
typedef struct {
  fe a, b, c, d, e, f, g, h;
} tmps;

K_NOINLINE void pout(pt *p, tmps *w) {
  fmul(p->x, w->e, w->f);
  fmul(p->y, w->g, w->h);
  fmul(p->z, w->g, w->f);
  fmul(p->t, w->e, w->h);
}
/* p += q; q = (Y+X, Y-X, 2dT, 2Z) cached, or (y+x, y-x, 2dxy) niels when z2 is 0 */
K_NOINLINE void padd(pt *p, const u32 *q0, const u32 *q1, const u32 *q2, const u32 *z2, tmps *w) {
  fsub(w->a, p->y, p->x);
  fmul(w->a, w->a, q1);
  fadd(w->b, p->y, p->x);
  fmul(w->b, w->b, q0);
  fmul(w->c, p->t, q2);
  if (z2) fmul(w->d, p->z, z2); /* public: which form q is in */
  else fadd(w->d, p->z, p->z);
  fsub(w->e, w->b, w->a);
  fsub(w->f, w->d, w->c);
  fadd(w->g, w->d, w->c);
  fadd(w->h, w->b, w->a);
  pout(p, w);
}
K_NOINLINE void pdbl(pt *p, tmps *w) {
  fsq(w->a, p->x);
  fsq(w->b, p->y);
  fsq(w->c, p->z);
  fadd(w->d, w->c, w->c);
  fadd(w->h, w->a, w->b);
  fadd(w->e, p->x, p->y);
  fsq(w->e, w->e);
  fsub(w->e, w->h, w->e);
  fsub(w->g, w->a, w->b);
  fadd(w->f, w->d, w->g);
  pout(p, w);
}
K_NOINLINE void pzero(pt *p) {
  for (int i = 0; i < 8; i++) {
    u32 one = i == 0;
    p->x[i] = 0;
    p->y[i] = one;
    p->z[i] = one;
    p->t[i] = 0;
  }
}
K_NOINLINE void pencode(uint8_t *o, pt *p, tmps *w) {
  uint8_t xb[32];
  finv(w->h, p->z);
  fmul(w->a, p->x, w->h);
  fmul(w->b, p->y, w->h);
  fpack(o, w->b);
  fpack(xb, w->a);
  o[31] ^= (uint8_t)((xb[0] & 1) << 7);
}

/* The base point table (basetable.h: entry m = sum over set bits j of m of 2^(64j) B, m = 0..15, as
   niels (y + x, y - x, 2dxy), 24 words each: one comb of 4 teeth, 1.5 KB). The blob has no data
   section, so it lies in the code, right after the two instructions that return its address: in
   flash on a board, where the variables a table in RAM would take are scarce. */
#include "basetable.h"
__attribute__((naked, noinline, used)) static const u32 *base_table(void) {
  __asm__ volatile("adr.w r0, 1f\n"
                   "bx lr\n"
                   ".p2align 2\n"
                   "1:\n" BASE_TABLE);
}
/* Entry m (secret) into q: every entry is read, the one wanted kept by a mask. */
K_NOINLINE void pick(u32 *q, const u32 *tab, u32 m) {
  for (int l = 0; l < 24; l++) q[l] = 0;
  for (u32 e = 0; e < 16; e++) {
    u32 mask = 0u - (((e ^ m) - 1) >> 31);
    for (int l = 0; l < 24; l++) q[l] |= tab[24 * e + l] & mask;
  }
}
/* p += the table's entry for bits i, i+64, i+128, i+192 of the scalar k */
K_NOINLINE void addColumn(pt *p, const uint8_t *k, int i, const u32 *tab, tmps *w) {
  u32 q[24], m = 0;
  for (int j = 0; j < 4; j++) m |= (u32)((k[(i + 64 * j) >> 3] >> ((i + 64 * j) & 7)) & 1) << j;
  pick(q, tab, m);
  padd(p, q, q + 8, q + 16, 0, w);
}

/* ---- entry points ---- */

ENTRY_POINT void fe_mul(s32 *o, const s32 *a, const s32 *b) {
  fe x, y;
  fload(x, a);
  fload(y, b);
  fmul(x, x, y);
  fstore(o, x);
}
ENTRY_POINT void fe_sq(s32 *o, const s32 *a) {
  fe x;
  fload(x, a);
  fsq(x, x);
  fstore(o, x);
}

/* out[0..32) = encoding of [k]B, k secret: 63 doublings and 64 mixed additions on the table */
K_NOINLINE void basemul(uint8_t *out, const uint8_t *k) {
  const u32 *tab = base_table();
  pt R;
  tmps w;
  pzero(&R);
  for (int i = 63; i >= 0; i--) {
    pdbl(&R, &w);
    addColumn(&R, k, i, tab, &w);
  }
  pencode(out, &R, &w);
}
ENTRY_POINT void ed_base(uint8_t *out, const uint8_t *k) {
  basemul(out, k);
}

ENTRY_POINT void ed_dsm(uint8_t *io, const s32 *A, u32 *win) {
  const u32 *tab = base_table();
  pt R;
  tmps w;
  fe d2;
  int i, j;
  /* win: 15 cached points (Y+X, Y-X, 2dT, 2Z) for 1..15 times A */
  fload(R.x, A);
  fload(R.y, A + 16);
  fload(R.z, A + 32);
  fload(R.t, A + 48);
  fload(d2, A + 64);
  for (j = 0; j < 15; j++) {
    u32 *c = win + 32 * j;
    fadd(c, R.y, R.x);
    fsub(c + 8, R.y, R.x);
    fmul(c + 16, R.t, d2);
    fadd(c + 24, R.z, R.z);
    padd(&R, win, win + 8, win + 16, win + 24, &w);
  }
  pzero(&R);
  for (i = 252; i >= 0; i--) {
    pdbl(&R, &w);
    if (!(i & 3)) {
      u32 v = (io[i >> 3] >> (i & 7)) & 15; /* public: h is a hash of public data */
      if (v) {
        u32 *c = win + 32 * (v - 1);
        padd(&R, c, c + 8, c + 16, c + 24, &w);
      }
    }
    if (i < 64) addColumn(&R, io + 32, i, tab, &w);
  }
  pencode(io, &R, &w);
}

/* ---- SHA-512 ---- */

#define ROTR(x, n) (((x) >> (n)) | ((x) << (64 - (n))))
K_INLINE u64 ld64(const uint8_t *p) {
  u32 h = ((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3];
  u32 l = ((u32)p[4] << 24) | ((u32)p[5] << 16) | ((u32)p[6] << 8) | p[7];
  return ((u64)h << 32) | l;
}
K_INLINE u64 kword(const s32 *K, int i) {
  return ((u64)(u32)K[2 * i] << 32) | (u32)K[2 * i + 1];
}

ENTRY_POINT void sha512_blocks(s32 *H, const uint8_t *m, int n, const s32 *K) {
  u64 W[16], s[8];
  int i, t;
  for (; n > 0; n--, m += 128) {
    for (i = 0; i < 8; i++) s[i] = kword(H, i);
    for (t = 0; t < 80; t++) {
      u64 w;
      if (t < 16) w = W[t] = ld64(m + 8 * t);
      else {
        u64 a = W[(t - 2) & 15], b = W[(t - 15) & 15];
        w = W[t & 15] += (ROTR(a, 19) ^ ROTR(a, 61) ^ (a >> 6)) + W[(t - 7) & 15] + (ROTR(b, 1) ^ ROTR(b, 8) ^ (b >> 7));
      }
      u64 e = s[4], a = s[0];
      u64 t1 = s[7] + (ROTR(e, 14) ^ ROTR(e, 18) ^ ROTR(e, 41)) + ((e & s[5]) ^ (~e & s[6])) + kword(K, t + 8) + w;
      u64 t2 = (ROTR(a, 28) ^ ROTR(a, 34) ^ ROTR(a, 39)) + ((a & s[1]) ^ (a & s[2]) ^ (s[1] & s[2]));
      s[7] = s[6];
      s[6] = s[5];
      s[5] = s[4];
      s[4] = s[3] + t1;
      s[3] = s[2];
      s[2] = s[1];
      s[1] = s[0];
      s[0] = t1 + t2;
    }
    for (i = 0; i < 8; i++) {
      u64 v = kword(H, i) + s[i];
      H[2 * i] = (s32)(u32)(v >> 32);
      H[2 * i + 1] = (s32)(u32)v;
    }
  }
}


/* SHA-512 of a message given in pieces, over sha512_blocks: the padding of src/sha512.ts md() */
typedef struct {
  s32 H[16];
  uint8_t buf[128];
  u32 fill, total;
} sha;
K_NOINLINE void sha_init(sha *c, const s32 *K) {
  for (int i = 0; i < 16; i++) c->H[i] = K[i];
  c->fill = c->total = 0;
}
K_NOINLINE void sha_add(sha *c, const uint8_t *p, u32 n, const s32 *K) {
  c->total += n;
  while (n) {
    if (!c->fill && n >= 128) {
      u32 b = n >> 7;
      sha512_blocks(c->H, p, (int)b, K);
      p += b << 7;
      n -= b << 7;
      continue;
    }
    u32 k = 128 - c->fill;
    if (k > n) k = n;
    for (u32 i = 0; i < k; i++) c->buf[c->fill + i] = p[i];
    c->fill += k;
    p += k;
    n -= k;
    if (c->fill == 128) {
      sha512_blocks(c->H, c->buf, 1, K);
      c->fill = 0;
    }
  }
}
/* 0x80, zeros, the length in bits big-endian (messages under 512 MiB: 5 bytes hold it) */
K_NOINLINE void sha_end(sha *c, uint8_t *out, const s32 *K) {
  u32 f = c->fill, n = c->total;
  c->buf[f++] = 0x80;
  if (f > 112) {
    while (f < 128) c->buf[f++] = 0;
    sha512_blocks(c->H, c->buf, 1, K);
    f = 0;
  }
  while (f < 123) c->buf[f++] = 0;
  c->buf[123] = (uint8_t)(n >> 29);
  c->buf[124] = (uint8_t)(n >> 21);
  c->buf[125] = (uint8_t)(n >> 13);
  c->buf[126] = (uint8_t)(n >> 5);
  c->buf[127] = (uint8_t)(n << 3);
  sha512_blocks(c->H, c->buf, 1, K);
  for (int i = 0; i < 64; i++) out[i] = (uint8_t)(c->H[i >> 2] >> (24 - 8 * (i & 3)));
}

/* ---- scalars modulo L = 2^252 + delta, on 16-bit limbs: src/ed25519.ts modL, reduce and mulAdd ---- */

/* limb j of L (0 for 8..14), from immediates: the blob holds no data */
K_INLINE s64 ll(int j) {
  u32 w = j < 2 ? 0x5cf5d3edu : j < 4 ? 0x5812631au : j < 6 ? 0xa2f79cd6u : 0x14def9deu;
  return j >= 8 ? (j == 15 ? 0x1000 : 0) : (s64)((w >> (16 * (j & 1))) & 0xffff);
}
/* r[0..32) = X mod L, X: 32 limbs of about 16 bits (X[32] is scratch) */
K_NOINLINE void modL(uint8_t *r, s64 *X) {
  s64 c, top;
  int i, j;
  /* 2^256 = -16 delta (mod L): fold each top limb into the ones 256 bits below */
  for (i = 31; i >= 16; i--) {
    c = 0;
    for (j = i - 16; j < i - 6; j++) {
      X[j] += c - 16 * X[i] * ll(j - i + 16);
      c = (X[j] + 32768) >> 16;
      X[j] -= c * 65536;
    }
    X[j] += c;
    X[i] = 0;
  }
  /* then the bits from 252 up, and one conditional L back in for a negative rest */
  c = 0;
  top = X[15] >> 12;
  for (j = 0; j < 16; j++) {
    X[j] += c - top * ll(j);
    c = X[j] >> 16;
    X[j] &= 65535;
  }
  for (j = 0; j < 16; j++) X[j] -= c * ll(j);
  for (i = 0; i < 16; i++) {
    X[i + 1] += X[i] >> 16;
    r[2 * i] = (uint8_t)X[i];
    r[2 * i + 1] = (uint8_t)(X[i] >> 8);
  }
}
K_INLINE s64 limb(const uint8_t *s, int i) {
  return s[2 * i] | ((s64)s[2 * i + 1] << 8);
}
/* r[0..32) = s[0..64) mod L */
K_NOINLINE void reduce(uint8_t *r, const uint8_t *s) {
  s64 X[33];
  for (int i = 0; i < 32; i++) X[i] = limb(s, i);
  X[32] = 0;
  modL(r, X);
}
/* r = (r + k a) mod L, 32-byte scalars */
K_NOINLINE void mulAdd(uint8_t *r, const uint8_t *k, const uint8_t *a) {
  s64 X[33], j;
  int i, m;
  for (i = 0; i < 33; i++) X[i] = i < 16 ? limb(r, i) : 0;
  for (i = 0; i < 16; i++)
    for (m = 0; m < 16; m++) X[i + m] += limb(a, i) * limb(k, m);
  /* back to 16-bit limbs, so that modL's products stay exact */
  for (i = 0; i < 31; i++) {
    j = X[i] >> 16;
    X[i] -= j * 65536;
    X[i + 1] += j;
  }
  modL(r, X);
}

/* RFC 8032 signing of m[0..n) with the expanded key io[0..96) = a | prefix | A; R | S to io[96..160) */
ENTRY_POINT void ed_sign(uint8_t *io, const uint8_t *m, int n, const s32 *K) {
  sha c;
  uint8_t h[64], r[32];
  sha_init(&c, K);
  sha_add(&c, io + 32, 32, K);
  sha_add(&c, m, (u32)n, K);
  sha_end(&c, h, K);
  reduce(r, h);
  basemul(io + 96, r); /* R = [r]B */
  sha_init(&c, K);
  sha_add(&c, io + 96, 32, K);
  sha_add(&c, io + 64, 32, K);
  sha_add(&c, m, (u32)n, K);
  sha_end(&c, h, K);
  reduce(h, h); /* k = H(R | A | M) mod L */
  mulAdd(r, h, io); /* S = r + k a */
  for (int i = 0; i < 32; i++) io[128 + i] = r[i];
}

/* ---- base32 (Crockford, strict: src/base32.ts) ---- */

/* the value of a base32 character, -1 when it is none (upper case only, no I L O U) */
K_INLINE int b32val(u32 c) {
  if (c - '0' < 10) return (int)(c - '0');
  if (c - 'A' >= 26 || c == 'I' || c == 'L' || c == 'O' || c == 'U') return -1;
  return (int)(c - 'A' + 10) - (c > 'H') - (c > 'K') - (c > 'N') - (c > 'T');
}
ENTRY_POINT int b32_decode(uint8_t *out, const uint8_t *s, int n) {
  u32 acc = 0, bits = 0;
  int k = 0, v;
  for (int i = 0; i < n; i++) {
    if ((v = b32val(s[i])) < 0) return -1;
    acc = ((acc & 255) << 5) | (u32)v;
    bits += 5;
    if (bits >= 8) out[k++] = (uint8_t)(acc >> (bits -= 8));
  }
  /* leftover bits must be fewer than one character's worth, and all zero */
  return bits >= 5 || (acc & ((1u << bits) - 1)) ? -1 : k;
}

/* ---- wire records (spec/link.md) from the card log's records (spec/card.md) ----
 * src/link.ts wire() record by record, here for the records of a page at a time: the same bytes and the
 * same state (io and shape are shared with it). Depths below 2^30 only (u32 arithmetic, no 64-bit division):
 * the caller binds this only to such logs. A record this does not take (damaged, running on into the next
 * page, a line without a colon, a lipmaa flag its depth does not have) is left to wire(): it returns 3. */
enum { IO_AT, IO_END, IO_COUNT, IO_FROM, IO_LEFT, IO_LEN, IO_CAP, IO_HF, IO_HL, IO_RUN, IO_NEXT };
#define R_MIN 82 /* src/log.ts R_MIN */
#define SHAPE_MAX 255

/* src/lipmaa.ts lipmaa, for 0 <= n < 2^30 (3^20 fits a word); -1 for none */
static s32 lipmaa32(u32 n) {
  u32 m = 1, po3 = 3, x = n;
  if (n < 1) return -1;
  while (m < n) {
    po3 *= 3;
    m = (po3 - 1) / 2;
  }
  po3 /= 3;
  if (m != n) {
    while (x != 0) {
      m = (po3 - 1) / 2;
      po3 /= 3;
      x %= m;
    }
    if (m != po3) po3 = m;
  }
  return n - po3 == n - 1 ? -1 : (s32)(n - po3);
}
/* whether the host holds the message at depth t or was sent it in this answer's run (spec/link.md L2) */
K_INLINE int known(const s32 *io, s32 t) {
  return (t >= io[IO_HF] && t <= io[IO_HL]) || (t >= io[IO_RUN] && t < io[IO_NEXT]);
}
/* returns w + n: the bytes are written */
K_NOINLINE uint8_t *put(uint8_t *w, const uint8_t *s, u32 n) {
  for (u32 i = 0; i < n; i++) w[i] = s[i];
  return w + n;
}

/* The body's lines (each ending in LF; what follows the last LF is none): with sh, its shape after the kind (LF,
 * the key, a quote when the value is a string) at sh[*n..] while it fits SHAPE_MAX, else *n = 0; with w, the
 * values (a string's without its quotes), each and LF, at w. Returns the values' length, or -1 for a line without
 * a colon (wire() sends such a record whole). */
K_NOINLINE s32 lines(const uint8_t *p, const uint8_t *end, uint8_t *sh, u32 *n, uint8_t *w) {
  const uint8_t *c, *e;
  u32 q, k, vn = 0;
  for (; p < end; p = e + 1) {
    for (e = p; e < end && *e != 10; e++);
    if (e == end) break;
    for (c = p; c < e && *c != 58; c++);
    if (c == e) return -1;
    q = c + 1 < e && c[1] == 34;
    k = (u32)(e - c - 1);
    k = q ? (k >= 2 ? k - 2 : 0) : k;
    if (w) *(w = put(w, c + 1 + q, k)) = 10, w++;
    vn += k + 1;
    if (!sh || !*n) continue;
    if (*n + 1 + (u32)(c - p) + q > SHAPE_MAX) *n = 0;
    else {
      sh[(*n)++] = 10;
      *n = (u32)(put(sh + *n, p, (u32)(c - p)) - sh);
      if (q) sh[(*n)++] = 34;
    }
  }
  return (s32)vn;
}

/* io: IO_AT the record's offset in b, IO_END the page's data end, IO_COUNT records left on the page from IO_AT,
 * IO_FROM records below it are passed over, IO_LEFT records still to send, IO_LEN bytes in out, IO_CAP out's size,
 * IO_HF..IO_HL what the host holds, IO_RUN..IO_NEXT this answer's run; shape: the record before's shape (shape[0]
 * its length, 0 for none). Returns 0 when the page's records are done, 1 when the next record does not fit in out,
 * 2 when IO_LEFT is 0, 3 when the record at IO_AT is left to wire(). */
ENTRY_POINT int wire_page(s32 *io, const uint8_t *b, uint8_t *out, uint8_t *shape) {
  uint8_t sh[SHAPE_MAX];
  for (; io[IO_COUNT] > 0; io[IO_COUNT]--, io[IO_AT] += b[io[IO_AT]] | b[io[IO_AT] + 1] << 8) {
    const uint8_t *r = b + io[IO_AT], *kind, *body, *end;
    u32 len = r[0] | (u32)r[1] << 8, f = r[9], o = 10 + (f & 1 ? 32 : 0) + (f & 2 ? 32 : 0);
    u32 d = r[2] | (u32)r[3] << 8 | (u32)r[4] << 16 | (u32)r[5] << 24, head = 0, shn, size, v;
    s32 l, vn;
    uint8_t *w;
    if (io[IO_LEFT] <= 0) return 2;
    /* src/log.ts walk and fits: a record it would not give as whole is its to report */
    if (len < R_MIN || io[IO_AT] + (s32)len > io[IO_END] || f > 3 || o + 65 > len || !r[o + 64] ||
        o + 65 + r[o + 64] >= len)
      return 3;
    if (r[6] | r[7] | r[8] || d >= (1u << 30)) return 3;
    if ((s32)d < io[IO_FROM]) continue;
    l = lipmaa32(d);
    kind = r + o + 65;
    body = kind + r[o + 64];
    end = r + len;
    shn = (u32)(body - kind);
    put(sh, kind, shn);
    if ((f & 2 && l < 0) || (vn = lines(body, end, sh, &shn, 0)) < 0) return 3;
    if (shn && shape[0] == shn) {
      head = 4; /* W_SAME */
      for (u32 i = 0; i < shn; i++)
        if (shape[1 + i] != sh[i]) head = 0;
    }
    if (f & 1 && !known(io, (s32)d - 1)) head |= 1;
    if (f & 2 && !known(io, l)) head |= 2;
    if ((s32)d != io[IO_NEXT]) head |= 8;
    size = 1 + (head & 1 ? 32 : 0) + (head & 2 ? 32 : 0) + 64 + (head & 4 ? (u32)vn : 3 + (u32)(end - kind));
    if (head & 8)
      for (v = d, size++; v >= 128; v >>= 7) size++;
    if (io[IO_LEN] + (s32)size > io[IO_CAP]) return 1;
    w = out + io[IO_LEN];
    *w++ = (uint8_t)head;
    if (head & 8) {
      for (v = d; v >= 128; v >>= 7) *w++ = (uint8_t)(128 | (v & 127));
      *w++ = (uint8_t)v;
      io[IO_RUN] = (s32)d;
    }
    if (head & 1) w = put(w, r + 10, 32);
    if (head & 2) w = put(w, r + o - 32, 32);
    w = put(w, r + o, 64);
    if (head & 4) lines(body, end, 0, 0, w);
    else {
      *w++ = (uint8_t)(body - kind);
      w = put(w, kind, (u32)(body - kind));
      *w++ = (uint8_t)(end - body);
      *w++ = (uint8_t)((end - body) >> 8);
      put(w, body, (u32)(end - body));
    }
    io[IO_NEXT] = (s32)d + 1;
    io[IO_LEFT]--;
    io[IO_LEN] += (s32)size;
    shape[0] = (uint8_t)shn;
    put(shape + 1, sh, shn);
  }
  return 0;
}

/* src/link.ts ESCAPED: ESC, NUL, LF, CR, XON, XOFF */
K_INLINE int escaped(u32 c) {
  return c == 27 || c == 0 || c == 10 || c == 13 || c == 17 || c == 19;
}
ENTRY_POINT int frame_escape(uint8_t *b, int n, int cap) {
  int k = 0, i, j;
  for (i = 0; i < n; i++) k += escaped(b[i]);
  if (n + k > cap) return -1;
  for (i = n - 1, j = n + k - 1; i >= 0; i--) {
    u32 c = b[i];
    if (escaped(c)) {
      b[j--] = (uint8_t)(c ^ 64);
      b[j--] = 27;
    } else b[j--] = (uint8_t)c;
  }
  return n + k;
}
