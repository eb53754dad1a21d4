// Scalars modulo the group order L, against BigInt arithmetic.
import { describe, expect, it } from "vitest";
import { reduce } from "../src/ed25519";
import { prng } from "../sim/prng";

const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const toBig = (b: Uint8Array) => b.reduceRight((x, v) => (x << 8n) | BigInt(v), 0n);
const fromBig = (x: bigint, n: number) =>
  Uint8Array.from({ length: n }, (_, i) => Number((x >> BigInt(8 * i)) & 255n));

describe("reduce mod L", () => {
  it("matches BigInt on edges and on 20,000 random 64-byte values", () => {
    const cases: bigint[] = [
      0n,
      1n,
      L - 1n,
      L,
      L + 1n,
      2n * L,
      (1n << 252n) - 1n,
      1n << 252n,
      (1n << 256n) - 1n,
      (1n << 512n) - 1n,
      L * L,
      (1n << 512n) - L,
    ];
    const byte = prng(12345).int;
    const rnd = () => byte(256);
    for (let t = 0; t < 20000; t++) {
      const b = Uint8Array.from({ length: 64 }, () => (t % 7 == 0 ? 255 : rnd()));
      cases.push(toBig(b));
    }
    for (const x of cases) {
      const r = new Uint8Array(32);
      reduce(fromBig(x, 64), 0, r, 0);
      if (toBig(r) !== x % L) expect(toBig(r).toString(16)).toBe((x % L).toString(16));
    }
  });
});
