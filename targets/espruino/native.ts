// The Thumb-2 kernels (targets/espruino/native/kernels.c) bound with
// E.nativeCall on the Cortex-M4 boards. The blob stays in Storage (flash):
// E.nativeCall runs a flat string in place. Typed arrays are handed over by
// E.getAddressOf(v, true); a buffer that is not flat (address 0) goes the
// JavaScript way instead, so the kernels never see a bad address.
import { b32decode, setDecode } from "../../src/base32";
import { copy } from "../../src/engine";
import { setNative } from "../../src/ed25519";
import { Gf, jsMul, makeField, setField } from "../../src/field";
import { K } from "../../src/_sha2";
import { setFrameKernels } from "../../src/link";
import { blocks, H, setBlocks } from "../../src/sha512";

/** Boards whose CPU runs the blob: STM32F4 (Pico, WiFi) and nRF52 (Puck.js, Pixl.js, Bangle.js, MDBT42Q, Jolt.js). */
export var CORTEX_M4 = /^(PICO|ESPRUINOWIFI|PUCKJS|PIXLJS|BANGLEJS|MDBT42Q|JOLTJS|NRF52)/;
/** The core's own base32 decoder, before the binding replaces it, and the field's JavaScript product: the way back for arrays that are not flat. */
var jsDecode = b32decode,
  jsProduct = function (o: Gf, a: Gf, b: Gf) {
    makeField();
    jsMul(o, a, b);
  };
/** The blob's Storage file (saved by npm run flash). */
export var BLOB = "pigeon.bin";

/**
 * The kernels of the blob (a string, from `blob()`) as functions of typed arrays, in the shapes
 * the core's hooks take. Each returns false (or falls back) when an array has
 * no flat address. Entry offsets: the branch table at the start of kernels.c.
 */
export function kernels(e: any, blob: () => string) {
  var ad = function (x: any): number {
    return e.getAddressOf(x, true);
  };
  /**
   * n bytes, flat where the firmware can make them so. An array made late, when
   * the variables are scattered (a board rebooted over its log makes its first
   * message after a message's worth of readings), finds no contiguous run and
   * comes out in pieces, without an address; E.defrag(), the firmware's own
   * compaction, moves the variables together to make room for it.
   */
  var fresh = function (n: number): Uint8Array {
    var b: Uint8Array | undefined = new Uint8Array(n);
    if (ad(b) || !e.defrag) return b;
    b = undefined;
    e.defrag();
    return new Uint8Array(n);
  };
  var at = 0,
    fm: any,
    fs: any,
    sb: any,
    eb: any,
    ed: any,
    sg: any,
    bd: any,
    wp: any,
    fe: any;
  /**
   * The blob's address, with the kernels bound at it: E.nativeCall at an
   * address runs the code in flash in place (given the string as data it would
   * copy it into RAM). Looked up at each call, as Storage moves files when it
   * compacts; 0 when the blob is gone.
   */
  var bind = function () {
    var a = ad(blob());
    if (a != at && (at = a)) {
      var f = function (off: number, n: number) {
        return e.nativeCall(a + off + 1, "void(" + "int,int,int,int".slice(0, 4 * n - 1) + ")");
      };
      fm = f(0, 3);
      fs = f(4, 2);
      sb = f(8, 4);
      eb = f(12, 2);
      ed = f(16, 3);
      sg = f(20, 4);
      bd = e.nativeCall(a + 25, "int(int,int,int)");
      wp = e.nativeCall(a + 29, "int(int,int,int,int)");
      fe = e.nativeCall(a + 33, "int(int,int,int)");
    }
    return a;
  };
  // scratch for the kernels: io holds a key and a signature, or two scalars and a point;
  // verification's (P, win: 2 KB) only once something is verified
  var io = new Uint8Array(160),
    P: Int32Array,
    win: Uint8Array,
    whole: Uint8Array | undefined;
  /** Addresses of the kernel's scratch arrays, or 0 when one is not flat or the blob is gone. */
  var scratch = function (): any {
    var a = ad(io),
      b,
      c;
    if (!P) {
      P = new Int32Array(fresh(320).buffer);
      win = fresh(1920);
    }
    b = ad(P);
    c = ad(win);
    return bind() && a && b && c ? [a, b, c] : 0;
  };
  return {
    /** o = a * b on the core's limbs. */
    mul: function (o: Gf, a: Gf, b: Gf) {
      var x = ad(o),
        y = ad(a),
        z = ad(b);
      if (bind() && x && y && z) fm(x, y, z);
      else jsProduct(o, a, b);
    },
    sq: function (o: Gf, a: Gf) {
      var x = ad(o),
        y = ad(a);
      if (bind() && x && y) fs(x, y);
      else jsProduct(o, a, a);
    },
    /** SHA-512's block function: the whole blocks of m[p .. p+n) into H. */
    blocks: function (m: Uint8Array, p: number, n: number) {
      var x = ad(m),
        h = ad(H),
        k = ad(K);
      if (bind() && x && h && k) sb(h, x + p, n >> 7, k);
      else blocks(m, p, n);
    },
    /** o[p..p+32) = encoding of [k]B (k: 32 bytes, secret); false when it did not run. */
    base: function (o: Uint8Array, p: number, k: Uint8Array) {
      var a = ad(io);
      if (!(bind() && a)) return false;
      io.set(k.subarray(0, 32), 32);
      eb(a, a + 32);
      o.set(io.subarray(0, 32), p);
      return true;
    },
    /** sig[0..64) = the signature of m[p..p+n) under the expanded key k (96 bytes); false when it did not run. */
    sign: function (k: Uint8Array, m: Uint8Array, p: number, n: number, sig: Uint8Array) {
      var a = ad(io),
        x = ad(m),
        y = ad(K);
      if (!x) {
        // a message in pieces (its buffer grown while the variables were scattered: a board
        // rebooted over a log of long messages) is signed from a copy made flat
        if (!whole || whole.length < n) {
          whole = undefined; // free to move
          whole = fresh(n + 512);
        }
        whole.set(m.subarray(p, p + n));
        x = ad(whole);
        p = 0;
      }
      if (!(bind() && a && x && y)) return false;
      io.set(k);
      sg(a, x + p, n, y);
      sig.set(io.subarray(96, 160));
      return true;
    },
    /** The core's b32decode, in C. */
    decode: function (s: Uint8Array, p: number, n: number, out: Uint8Array) {
      var x = ad(out),
        y = ad(s);
      return bind() && x && y ? bd(x, y + p, n) : jsDecode(s, p, n, out);
    },
    /**
     * src/link.ts's frame kernels bound to one answer's arrays (kernels.c wire_page, frame_escape):
     * null when one is not flat or the blob is gone; a page that is not flat takes the JavaScript way (3).
     */
    frames: function (io: Int32Array, out: Uint8Array, shape: Uint8Array) {
      var w = ad(io),
        y = ad(out),
        z = ad(shape);
      return bind() && w && y && z
        ? {
            wire: function (b: Uint8Array) {
              var x = ad(b);
              return x ? wp(w, x, y, z) : 3;
            },
            escape: function (n: number) {
              return fe(y, n, out.length);
            },
          }
        : null;
    },
    /** rv = encoding of [h]Q + [S]B, Q (extended, Z = 1) and 2d in the core's limbs, S at sig[q..q+32). */
    dsm: function (rv: Uint8Array, h: Uint8Array, sig: Uint8Array, q: number, Q: Gf[], D2: Gf) {
      var s = scratch(),
        i;
      if (!s) return false;
      copy(io, 0, h, 0, 32);
      copy(io, 32, sig, q, 32);
      for (i = 0; i < 4; i++) P.set(Q[i], 16 * i);
      P.set(D2, 64);
      ed(s[0], s[1], s[2]);
      copy(rv, 0, io, 0, 32);
      return true;
    },
  };
}

/**
 * Binds the kernels into the core when the board is a Cortex-M4 and the blob
 * is in Storage; true when bound. Elsewhere (ESP32, the Linux build) the core
 * keeps E.convolve and plain JavaScript, which give the same bytes.
 */
export function useNative(e: any, S: any, boardName: string): boolean {
  var k;
  if (
    !S.read(BLOB) ||
    !CORTEX_M4.test(boardName || "") ||
    !e ||
    typeof e.nativeCall != "function" ||
    typeof e.getAddressOf != "function"
  )
    return false;
  k = kernels(e, function () {
    return S.read(BLOB);
  });
  setField(k.mul, k.sq);
  setBlocks(k.blocks);
  setDecode(k.decode);
  setNative(k);
  setFrameKernels(k);
  return true;
}
