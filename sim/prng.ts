// The one seeded generator of the simulator and the tests: runs that print
// their seed can be replayed exactly (a torn write, a power-cut point, a
// corruption, a random message).
/** sfc32, seeded from one 32-bit number. */
export function prng(seed: number) {
  let a = 0x9e3779b9,
    b = 0x243f6a88,
    c = 0xb7e15162,
    d = seed >>> 0;
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (a + b + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 16; i++) next();
  const float = () => next() / 2 ** 32;
  return {
    u32: next,
    /** A number in [0, 1). */
    float,
    /** A whole number in [0, n). */
    int: (n: number) => Math.floor(float() * n),
    bytes(n: number) {
      const r = new Uint8Array(n);
      for (let i = 0; i < n; i++) r[i] = next() & 255;
      return r;
    },
  };
}
export type Prng = ReturnType<typeof prng>;
