// Arithmetic modulo p = 2^255 - 19 on 16 limbs of 16 bits held in doubles
// (TweetNaCl's layout), reduced modulo 2^256 - 38 = 2p until packed.
// Limbs may be negative or grow to about 2^21 between multiplications: every
// product sum stays below 2^53, so doubles hold it exactly. A product is one
// E.convolve per output limb where the board has it, plain loops elsewhere;
// carries are the same code either way, so are the results.
import { convolve } from "./engine";

export type Gf = Int32Array;
type Op = (o: Gf, a: Gf, b: Gf) => void;
export function gf(init?: number[]): Gf {
  var r = new Int32Array(16);
  if (init) r.set(init);
  return r;
}

// Interpreters without a JIT pay per token and per loop turn, so the hot
// functions are generated straight-line (when the arithmetic is made): the bundle stays small.
export function unroll(f: (i: number) => string, n: number) {
  for (var s = "", i = 0; i < n; i++) s += f(i);
  return s;
}
// The arithmetic, made by makeField() on first use (src/ed25519.ts's JavaScript way, the
// kernels' way back): a board whose kernels do the products never makes it, some 200 of a
// Pico's variables (Espruino keeps about ten for each function it has made).
/** o = a + b, o = a - b, o = a * b (o may alias a or b), and o = a^(2^n) (n: 1 when absent). */
export var add: Op, sub: Op, mul: Op, sqr: (o: Gf, a: Gf, n?: number) => void;
/** Conditional swap without a branch: b is 0 or 1. */
export var cswap: (p: Gf, q: Gf, b: number) => void;
/** o = z^(p-2) = 1/z when inverse, else z^((p-5)/8) (for square roots). 254 squarings, 11-12 products. */
export var pow: (o: Gf, z: Gf, inverse: boolean) => void;
/** The canonical 32-byte little-endian encoding of a; limbs from 32 little-endian bytes, the top bit ignored. */
export var pack: (o: Uint8Array, p: number, a: Gf) => void,
  unpack: (o: Gf, s: Uint8Array, p: number) => void;
/** The JavaScript product, whatever is bound (the kernels' way back for arrays that are not flat). */
export var jsMul: Op;
var made = false,
  sq1: (o: Gf, a: Gf) => void,
  bound: Op | undefined,
  boundSq: ((o: Gf, a: Gf) => void) | undefined;

/** Replaces mul and squaring (the firmware's native kernels, targets/espruino/native.ts), now or when made. */
export function setField(m: Op, s: (o: Gf, a: Gf) => void) {
  bound = m;
  boundSq = s;
  if (made) {
    mul = m;
    sq1 = s;
  }
}

/** Makes the arithmetic, once. */
export function makeField() {
  if (made) return;
  made = true;
  var T = new Int32Array(32), // second factor reversed, then its wrapped half times 38
    A = gf(), // a copy of the first factor when the output overwrites it
    t0: Gf,
    t1: Gf,
    t2: Gf,
    t3: Gf,
    steps: any[][],
    m: Gf,
    n: Gf;
  function make(params: string, body: string, env?: any[]): any {
    return new Function("C", "T", "A", "return function(" + params + "){" + body + "}").apply(
      null,
      env || []
    );
  }

  // Carries limb by limb from 0 to 15 (v holds limb i's sum), wraps the top
  // carry to limb 0 times 38 and carries limb 0 once more. |0 truncates exactly
  // while |v| < 2^47; limbs come out below 2^16 in magnitude but limb 1 (2^17).
  function carry(sum: (i: number) => string) {
    return (
      "var c=0,v;" +
      unroll(function (i) {
        return "v=" + sum(i) + "+c;c=v/65536|0;o[" + i + "]=v-c*65536;";
      }, 16) +
      "v=o[0]+38*c;c=v/65536|0;o[0]=v-c*65536;o[1]+=c;"
    );
  }
  add = make(
    "o,a,b",
    unroll(function (i) {
      return "o[" + i + "]=a[" + i + "]+b[" + i + "];";
    }, 16)
  );
  sub = make(
    "o,a,b",
    unroll(function (i) {
      return "o[" + i + "]=a[" + i + "]-b[" + i + "];";
    }, 16)
  );
  jsMul = convolve
    ? make(
        "o,a,b",
        // T = b reversed, then 38 b reversed; output limb k = sum of a[i] T[i + 15 - k]
        "var x;" +
          unroll(function (i) {
            return "x=b[" + i + "];T[" + (15 - i) + "]=x;T[" + (31 - i) + "]=38*x;";
          }, 16) +
          "if(o==a){A.set(a);a=A}" +
          carry(function (i) {
            return "C(a,T," + (15 - i) + ")";
          }),
        [convolve, T, A]
      )
    : make(
        "o,a,b",
        // straight-line schoolbook product in locals, which JIT compilers keep in registers
        "var " +
          unroll(function (i) {
            return "a" + i + "=a[" + i + "],b" + i + "=b[" + i + "],";
          }, 16) +
          unroll(function (i) {
            return "p" + i + "=0" + (i < 30 ? "," : ";");
          }, 31) +
          unroll(function (i) {
            return unroll(function (j) {
              return "p" + (i + j) + "+=a" + i + "*b" + j + ";";
            }, 16);
          }, 16) +
          unroll(function (i) {
            return "p" + i + "+=38*p" + (i + 16) + ";";
          }, 15) +
          carry(function (i) {
            return "p" + i;
          })
      );
  mul = bound || jsMul;
  sq1 =
    boundSq ||
    function (o: Gf, a: Gf) {
      mul(o, a, a);
    };
  sqr = function (o: Gf, a: Gf, n?: number) {
    sq1(o, a);
    for (n = n || 1; --n > 0;) sq1(o, o);
  };
  cswap = function (p: Gf, q: Gf, b: number) {
    for (var i = 0, t; i < 16; i++) {
      t = b * (p[i] - q[i]);
      p[i] -= t;
      q[i] += t;
    }
  };
  t0 = gf();
  t1 = gf();
  t2 = gf();
  t3 = gf();
  // after 2^5-1: 2^10-1, 2^20-1, 2^40-1, 2^50-1, 2^100-1, 2^200-1, 2^250-1 as [squarings, from, times, into]
  steps = [
    [5, t1, t1, t1],
    [10, t1, t1, t2],
    [20, t2, t2, t3],
    [10, t3, t1, t1],
    [50, t1, t1, t2],
    [100, t2, t2, t3],
    [50, t3, t1, t3],
  ];
  m = gf();
  n = gf();
  pow = function (o: Gf, z: Gf, inverse: boolean) {
    var a = t0,
      b = t1,
      t = t3,
      i,
      st;
    sqr(a, z); // 2
    sqr(t, a, 2); // 8
    mul(b, t, z); // 9
    mul(a, b, a); // 11
    sqr(t, a);
    mul(b, t, b); // 2^5 - 1
    for (i = 0; i < 7; i++) {
      st = steps[i];
      sqr(t, st[1] as Gf, st[0] as number);
      mul(st[3] as Gf, t, st[2] as Gf);
    }
    sqr(t, t, inverse ? 5 : 2);
    mul(o, t, inverse ? a : z); // 2^255 - 21 or 2^252 - 3
  };
  pack = function (o: Uint8Array, p: number, a: Gf) {
    var i, j, c, v, b;
    for (i = 0; i < 16; i++) n[i] = a[i];
    for (j = 0; j < 3; j++) {
      c = 0;
      for (i = 0; i < 16; i++) {
        v = n[i] + c;
        c = Math.floor(v / 65536);
        n[i] = v - c * 65536;
      }
      n[0] += 38 * c;
    }
    // now 0 <= n < 2^256 = 2p + 38: subtract p while that does not borrow
    for (j = 0; j < 2; j++) {
      m[0] = n[0] - 0xffed;
      for (i = 1; i < 15; i++) {
        m[i] = n[i] - 0xffff - ((m[i - 1] >> 16) & 1);
        m[i - 1] &= 0xffff;
      }
      m[15] = n[15] - 0x7fff - ((m[14] >> 16) & 1);
      b = (m[15] >> 16) & 1;
      m[14] &= 0xffff;
      cswap(n, m, 1 - b);
    }
    for (i = 0; i < 16; i++) {
      o[p + 2 * i] = n[i];
      o[p + 2 * i + 1] = n[i] >> 8;
    }
  };
  unpack = function (o: Gf, s: Uint8Array, p: number) {
    for (var i = 0; i < 16; i++) o[i] = s[p + 2 * i] + (s[p + 2 * i + 1] << 8);
    o[15] &= 0x7fff;
  };
}
