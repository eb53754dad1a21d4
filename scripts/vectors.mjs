// npm run vectors: writes test/vectors/, the known-answer data the tests hold the
// core to. Every byte is made here from PIGEON-FORMAT.md and spec/pigeon.md, with
// @noble/ed25519 and @noble/hashes as the oracle and never with the project's core
// (the core is what the vectors test). Deterministic: seeds are SHA-256 of a label,
// Ed25519 signing is deterministic, nothing reads the clock. test/vectors.test.ts
// checks that the committed files are exactly what build() makes.
//
// The same independent readings of the format serve the tests: b32, lipmaa and
// ed25519Refusal (spec section 2.3) are exported for them.
import * as ed from "@noble/ed25519";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

ed.hashes.sha512 = sha512;

export const OUT = new URL("../test/vectors/", import.meta.url).pathname;
/** What build() writes below OUT; README.md and published/ are kept by hand. */
export const GENERATED = [
  "vectors.json",
  "invalid.json",
  "ed25519-edge.json",
  "feed-a.pgn",
  "feed-b.pgn",
  "bundle-ab",
];

// ---------------------------------------------------------------------------
// Independent readings of the format

export const ALPHA = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** Base32 as PIGEON-FORMAT.md says: the bits most significant first, cut into fives, zero pad bits. */
export function b32(bytes) {
  let bits = "",
    s = "";
  for (const v of bytes) bits += v.toString(2).padStart(8, "0");
  while (bits.length % 5) bits += "0";
  for (let i = 0; i < bits.length; i += 5) s += ALPHA[parseInt(bits.slice(i, i + 5), 2)];
  return s;
}

/** The format's lipmaa(n), in exact integer arithmetic (BigInt in, BigInt or null out). */
export function lipmaa(n) {
  if (n < 1n) return null;
  let m = 1n,
    po3 = 3n,
    x = n;
  while (m < n) {
    po3 *= 3n;
    m = (po3 - 1n) / 2n;
  }
  po3 /= 3n;
  if (m !== n) {
    while (x !== 0n) {
      m = (po3 - 1n) / 2n;
      po3 /= 3n;
      x %= m;
    }
    if (m !== po3) po3 = m;
  }
  const r = n - po3;
  return r === n - 1n ? null : r;
}

export const L = 2n ** 252n + 27742317777372353535851937790883648493n;
export const P = 2n ** 255n - 19n;
const le = (b) => b.reduceRight((acc, v) => (acc << 8n) | BigInt(v), 0n);
const toLE = (x) => {
  const r = new Uint8Array(32);
  for (let i = 0; i < 32; i++, x >>= 8n) r[i] = Number(x & 255n);
  return r;
};
const cat = (...parts) => Uint8Array.from(parts.flatMap((p) => [...p]));
const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
/** k = SHA-512(R || A || M) mod L */
const challenge = (R, A, M) => le(sha512(cat(R, A, M))) % L;

/**
 * Spec section 2.3, step by step on noble's curve arithmetic: "" when the
 * signature is accepted, otherwise the step that refuses it ("2.3.1" to "2.3.4").
 */
export function ed25519Refusal(pk, msg, sig) {
  if (pk.length !== 32 || sig.length !== 64)
    throw new Error("a key is 32 bytes and a signature 64");
  const S = le(sig.subarray(32));
  if (S >= L) return "2.3.1"; // S < L
  let A;
  try {
    A = ed.Point.fromBytes(pk, false); // RFC 8032 5.1.3: y < p, and no x = 0 with the sign bit set
  } catch {
    return "2.3.2";
  }
  if (A.isSmallOrder()) return "2.3.3";
  const X = ed.Point.BASE.multiply(S, false).subtract(
    A.multiply(challenge(sig.subarray(0, 32), pk, msg), false)
  );
  return same(X.toBytes(), sig.subarray(0, 32)) ? "" : "2.3.4"; // R compared as bytes, never decoded
}

/** What a ZIP-215 verifier says (noble's default: lenient decoding, the cofactored equation). */
export function zip215(pk, msg, sig) {
  try {
    return ed.verify(sig, msg, pk);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Messages, feeds and bundles

const utf8 = (s) => new TextEncoder().encode(s);
const hex = (b) => Buffer.from(b).toString("hex");
const seedOf = (label) => sha256(utf8(`pigeon-mcu test vectors: ${label}`));
const identity = (pk) => `@${b32(pk)}.ed25519`;
const messageId = (text) => `%${b32(sha256(utf8(text)))}.sha256`;
const blobId = (bytes) => `&${b32(sha256(bytes))}.sha256`;
/** Bundle path of a blob: six directories of 7 characters, then a 7.3 file name. */
export const blobPath = (id) => {
  const c = id.slice(1, 53);
  return (
    [0, 7, 14, 21, 28, 35].map((i) => c.slice(i, i + 7)).join("/") +
    "/" +
    c.slice(42, 49) +
    "." +
    c.slice(49)
  );
};
/** lipmaa(d) as a Number, or null */
const linkDepth = (d) => {
  const l = lipmaa(BigInt(d));
  return l === null ? null : Number(l);
};
const linkOf = (ids, d) => (linkDepth(d) === null ? "NONE" : ids[linkDepth(d)]);
/** The unsigned text: five header lines, an empty line, the body, an empty line. */
const unsigned = (author, { kind, prev, depth, lipmaa, body }) =>
  `author ${author}\nkind ${kind}\nprev ${prev}\ndepth ${depth}\nlipmaa ${lipmaa}\n\n` +
  body.map(([k, v]) => `${k}:${v}\n`).join("") +
  "\n";
const withSignature = (u, sig) => `${u}signature ${b32(sig)}.sig.ed25519`;
const pgn = (texts) => texts.join("\n\n") + "\n";

/** A feed signed with the seed of its name; bodyAt(d) gives the kind and body of depth d. */
function makeFeed(name, n, bodyAt) {
  const seed = seedOf(name),
    pk = ed.getPublicKey(seed),
    author = identity(pk);
  const messages = [],
    ids = [];
  for (let d = 0; d < n; d++) {
    const u = unsigned(author, {
      ...bodyAt(d),
      prev: d ? ids[d - 1] : "NONE",
      depth: d,
      lipmaa: linkOf(ids, d),
    });
    const text = withSignature(u, ed.sign(utf8(u), seed));
    ids.push(messageId(text));
    messages.push({ depth: d, id: ids[d], lipmaa_depth: linkDepth(d), text });
  }
  return { name, seed_hex: hex(seed), public_key_hex: hex(pk), author, messages };
}

// Two blobs: a tiny greyscale picture referenced by a value, a calibration table named by a key.
const PHOTO = cat(
  utf8("P5\n8 8\n255\n"),
  Array.from({ length: 64 }, (_, i) => ((i >> 3) * 32 + (i & 7) * 4) & 255)
);
const CALIBRATION = utf8(
  "adc,temp_c\n" +
    Array.from({ length: 9 }, (_, i) => `${i * 512},${(-40 + i * 20.625).toFixed(3)}`).join("\n") +
    "\n"
);

const T0 = 1767225600; // 2026-01-01T00:00:00Z
const feedB0 = identity(ed.getPublicKey(seedOf("feed-b")));

/** feed-a: a logger's 42 messages (depths 0..41, so lipmaa links up to 40 -> 13). */
const feedA = makeFeed("feed-a", 42, (d) => {
  const body = [
    ["t", `"${T0 + 900 * d}"`],
    ["temp_c", `"${(2 + ((d * 37) % 29) / 4).toFixed(2)}"`],
  ];
  if (d === 0)
    return {
      kind: "logger_boot",
      body: [...body, ["fw", '"pigeon-mcu 0.1.0"'], ["site", '"mast 7, north ridge"']],
    };
  body.push(["rh_pct", `"${55 + ((d * 13) % 40)}"`]);
  if (d % 6 === 0) body.push(["vbat_mv", `"${4120 - 7 * d}"`]);
  if (d === 2) body.push(["photo", blobId(PHOTO)]);
  if (d === 7) body.push(["door", "NONE"]);
  if (d === 9) body.push(["heard", feedB0]);
  return { kind: "reading", body };
});
/** feed-b: a relay's 5 messages: UTF-8 strings, ids as values, a blob id as a key. */
const feedB = makeFeed("feed-b", 5, (d) => {
  const t = ["t", `"${T0 + 450 + 3600 * d}"`];
  return [
    { kind: "hello", body: [t, ["name", '"relay Col des Étoiles"']] },
    {
      kind: "relay",
      body: [t, ["ref", feedA.messages[3].id], ["note", '"said "ok": 3 readings"']],
    },
    {
      kind: "calibration",
      body: [t, [blobId(CALIBRATION), '"calibration table"'], ["sensor", '"SHT31 #2"']],
    },
    { kind: "note", body: [t, ["text", '"🐦 4 birds, −3 °C, 雪"']] },
    { kind: "relay", body: [t, ["ref", feedA.messages[40].id], ["from", feedA.author]] },
  ][d];
});
/** The bundle's order: feed-b's messages interleaved with feed-a's, each author in depth order. */
const bundleTexts = feedA.messages.flatMap((m) => [
  m.text,
  ...(m.depth % 8 === 3 ? [feedB.messages[(m.depth - 3) / 8].text] : []),
]);

// ---------------------------------------------------------------------------
// Ed25519 edge cases (spec section 2.3)

const unhex = (h) => Uint8Array.from(Buffer.from(h, "hex"));
const NEUTRAL = toLE(1n);
const T8 = ed.Point.fromBytes(
  unhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
);
/** Encodings of the points of small order: the 8 canonical ones, then spellings that strict decoding refuses. */
const SMALL = [
  [
    "the neutral point (order 1)",
    "0100000000000000000000000000000000000000000000000000000000000000",
  ],
  ["(0, -1), order 2", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"],
  ["y = 0, order 4", "0000000000000000000000000000000000000000000000000000000000000000"],
  [
    "y = 0 and the other x, order 4",
    "0000000000000000000000000000000000000000000000000000000000000080",
  ],
  ["a point T8 of order 8", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"],
  ["-T8, order 8", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"],
  ["another point of order 8", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"],
  ["its negation, order 8", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"],
  [
    "the neutral point spelled with x = 0 and the sign bit set",
    "0100000000000000000000000000000000000000000000000000000000000080",
  ],
  [
    "(0, -1) spelled with x = 0 and the sign bit set",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  ],
  ["y = p (so y = 0, order 4), not canonical", hex(toLE(P))],
  ["y = p with the sign bit set, not canonical", hex(toLE(P | (1n << 255n)))],
  ["y = p + 1 (the neutral point), not canonical", hex(toLE(P + 1n))],
  ["y = p + 1 with the sign bit set, not canonical", hex(toLE((P + 1n) | (1n << 255n)))],
].map(([what, h], i) => ({ what, A: unhex(h), rule: i < 8 ? "2.3.3" : "2.3.2" }));
/** RFC 8032 key generation from a seed label: the scalar a and A = [a]B. */
const keyOf = (label) => {
  const e = ed.utils.getExtendedPublicKey(seedOf(label));
  return { a: e.scalar, A: e.pointBytes, seed: seedOf(label) };
};
const EDGE = keyOf("edge");
/** A key of mixed order, [a]B + T8: neither small nor in the prime-order subgroup. */
const MIXED = (() => {
  const k = keyOf("mixed");
  return { a: k.a, A: ed.Point.BASE.multiply(k.a).add(T8).toBytes() };
})();
/** A nonce r and R = [r]B for the mixed key's signatures. */
const R_NONCE = le(sha512(utf8("pigeon-mcu test vectors: nonce"))) % L;
const R_MIXED = ed.Point.BASE.multiply(R_NONCE).toBytes();
const sig = (R, S) => cat(R, toLE(S));
/**
 * A signature with the given R whose S is r + k a, where R = [r]B + (torsion):
 * for a key [a]B + T the equation [S]B - [k]A = R then holds without the cofactor
 * exactly when [k]T is R's torsion part.
 */
const signWith = ({ a, A }, R, r, M) => sig(R, (r + challenge(R, A, M) * a) % L);
/** The first of make(0), make(1), ... whose challenge k with R and A passes ok(k). */
function search(R, A, make, ok) {
  for (let n = 0; ; n++) {
    const m = make(n);
    if (ok(challenge(R, A, utf8(m)))) return m;
  }
}
const mod8 = (v) => (k) => k % 8n === v;
/** Checks a case reaches the step it was built for (or is accepted), and what ZIP-215 says of it. */
function checked(what, rule, pk, msg, s) {
  const got = ed25519Refusal(pk, msg, s) || "accepted";
  if (got !== rule) throw new Error(`${what}: built to give ${rule}, the reference gives ${got}`);
  return { rule, zip215: zip215(pk, msg, s) };
}

/**
 * Raw cases: key, message, 64-byte signature. Each is built to reach the step
 * it names, so that a verifier without that step accepts it (zip215 says
 * whether a ZIP-215 verifier, cofactored and lenient, does).
 */
function rawCases() {
  const out = [];
  const add = (name, why, rule, pk, m, s) => {
    const msg = typeof m == "string" ? utf8(m) : m;
    out.push({
      name,
      why,
      ...checked(name, rule, pk, msg, s),
      pk: hex(pk),
      msg: hex(msg),
      sig: hex(s),
    });
  };
  const text = (what) => (n) => `pigeon-mcu edge case: ${what} #${n}`;
  // small-order keys: R = neutral and S = 0 satisfy [S]B - [k]A = R once [k]A is neutral (k = 0 mod 8)
  for (const { what, A, rule } of SMALL)
    add(
      `public key ${what}; R = neutral, S = 0, k = 0 mod 8`,
      "the equation holds: only the key rules refuse it",
      rule,
      A,
      search(NEUTRAL, A, text(`key ${hex(A)}`), mod8(0n)),
      sig(NEUTRAL, 0n)
    );
  // S out of range, on an honest signature
  const M = utf8("pigeon-mcu edge case: S range"),
    honest = ed.sign(M, EDGE.seed);
  const R = honest.subarray(0, 32),
    S = le(honest.subarray(32));
  add("an honest signature", "RFC 8032 signing", "accepted", EDGE.A, M, honest);
  add(
    "S + L",
    "the same scalar mod L: a verifier that reduces S accepts it",
    "2.3.1",
    EDGE.A,
    M,
    sig(R, S + L)
  );
  add("S = L", "the smallest S out of range", "2.3.1", EDGE.A, M, sig(R, L));
  add("S = L + 1", "out of range", "2.3.1", EDGE.A, M, sig(R, L + 1n));
  add("S = 2^256 - 1", "every bit set", "2.3.1", EDGE.A, M, sig(R, 2n ** 256n - 1n));
  add(
    "the honest signature, the message's last byte changed",
    "the equation fails",
    "2.3.4",
    EDGE.A,
    cat(M.subarray(0, -1), [M[M.length - 1] ^ 1]),
    honest
  );
  // R is compared as bytes, never decoded
  const MR = utf8("pigeon-mcu edge case: R");
  add(
    "R = the neutral point, S = k a",
    "R of small order is allowed: [S]B - [k]A is the neutral point",
    "accepted",
    EDGE.A,
    MR,
    signWith(EDGE, NEUTRAL, 0n, MR)
  );
  for (const [what, Rn] of [
    ["y = p + 1", toLE(P + 1n)],
    ["x = 0 and the sign bit set", toLE(1n | (1n << 255n))],
  ])
    add(
      `R = the neutral point spelled ${what}, S = k a`,
      "equal as points, not as bytes",
      "2.3.4",
      EDGE.A,
      MR,
      signWith(EDGE, Rn, 0n, MR)
    );
  // a key of mixed order: the cofactorless equation holds exactly when k = 0 mod 8
  for (const [cond, ok, rule, why] of [
    [
      "k = 0 mod 8",
      mod8(0n),
      "accepted",
      "a key of mixed order is not of small order, and the equation holds",
    ],
    ["k = 4 mod 8", mod8(4n), "2.3.4", "holds with the cofactor, not without: [k]T8 has order 2"],
    ["k = 1 mod 8", mod8(1n), "2.3.4", "holds with the cofactor, not without: [k]T8 has order 8"],
  ]) {
    const m = utf8(search(R_MIXED, MIXED.A, text(`mixed key, ${cond}`), ok));
    add(
      `public key [a]B + T8 (mixed order), ${cond}`,
      why,
      rule,
      MIXED.A,
      m,
      signWith(MIXED, R_MIXED, R_NONCE, m)
    );
  }
  // R of small order with a key of mixed order: S = k a and [k]T8 = -R
  for (const { what, A: R8 } of SMALL.slice(4, 6)) {
    const minusR = ed.Point.fromBytes(R8).negate();
    const m = utf8(
      search(
        R8,
        MIXED.A,
        text(`small R ${hex(R8)}`),
        (k) => k % 8n !== 0n && T8.multiply(k % 8n, false).equals(minusR)
      )
    );
    add(
      `R = ${what}, public key [a]B + T8, [k]T8 = -R`,
      "R is never decoded, so its order does not matter: the equation holds",
      "accepted",
      MIXED.A,
      m,
      signWith(MIXED, R8, 0n, m)
    );
  }
  return out;
}

/** Pigeon messages (depth 0, kind edge) whose key or signature is unusual: refused and accepted ones. */
function edgeMessages() {
  const refused = [],
    accepted = [];
  /** The first unsigned text by pk, n = 0, 1, ..., whose challenge with R passes ok; then its text signed by signer. */
  const make = (why, rule, pk, R, ok, signer) => {
    const u = search(
      R,
      pk,
      (n) =>
        unsigned(identity(pk), {
          kind: "edge",
          prev: "NONE",
          depth: 0,
          lipmaa: "NONE",
          body: [
            ["t", `"${T0}"`],
            ["case", `"${why.split(":")[0].slice(0, 120)}"`],
            ["n", `"${n}"`],
          ],
        }),
      ok
    );
    const s = signer(utf8(u));
    checked(why, rule, pk, utf8(u), s);
    const text = withSignature(u, s);
    if (rule === "accepted") accepted.push({ why, text, id: messageId(text) });
    else refused.push({ why, rule, text });
  };
  const any = () => true;
  for (const { what, A, rule } of [SMALL[0], SMALL[4], SMALL[8], SMALL[12]])
    make(
      `author key ${what}; R = neutral, S = 0: [S]B - [k]A = R holds`,
      rule,
      A,
      NEUTRAL,
      mod8(0n),
      () => sig(NEUTRAL, 0n)
    );
  make(
    "R = the neutral point spelled y = p + 1, S = k a: equal as points, not as bytes",
    "2.3.4",
    EDGE.A,
    toLE(P + 1n),
    any,
    (u) => signWith(EDGE, toLE(P + 1n), 0n, u)
  );
  make(
    "author key of mixed order [a]B + T8, k odd: holds with the cofactor, not without",
    "2.3.4",
    MIXED.A,
    R_MIXED,
    (k) => k % 2n === 1n,
    (u) => signWith(MIXED, R_MIXED, R_NONCE, u)
  );
  make(
    "R = the neutral point, S = k a: R of small order is allowed",
    "accepted",
    EDGE.A,
    NEUTRAL,
    any,
    (u) => signWith(EDGE, NEUTRAL, 0n, u)
  );
  make(
    "author key of mixed order [a]B + T8, k = 0 mod 8: the cofactorless equation holds",
    "accepted",
    MIXED.A,
    R_MIXED,
    mod8(0n),
    (u) => signWith(MIXED, R_MIXED, R_NONCE, u)
  );
  return { refused, accepted };
}

// ---------------------------------------------------------------------------
// Invalid messages, each breaking one rule

function invalidMessages(edge) {
  const seedA = seedOf("feed-a"),
    seedB = seedOf("feed-b");
  const a = feedA.messages.map((m) => m.text),
    b = feedB.messages.map((m) => m.text);
  const cut = (t) => t.slice(0, t.lastIndexOf("signature "));
  /** The message with its unsigned text changed by f, signed again: only the change is at fault. */
  const resign = (t, f, seed = seedA) => {
    const u = f(cut(t));
    return withSignature(u, ed.sign(utf8(u), seed));
  };
  /** The message signed again, with S replaced by S(its value). */
  const resigS = (t, S) => {
    const s = ed.sign(utf8(cut(t)), seedA);
    return withSignature(cut(t), sig(s.subarray(0, 32), S(le(s.subarray(32)))));
  };
  const first = a[0],
    four = a[4];
  const list = [
    // section 3.1: the grammar refuses these
    [
      "grammar",
      "lower-case base32 in the signature",
      first.replace(/signature ([0-9A-Z]+)/, (_, s) => "signature " + s.toLowerCase()),
    ],
    [
      "grammar",
      "lower-case base32 in the author",
      resign(first, (u) =>
        u.replace(/^author @([0-9A-Z]{52})/, (_, s) => "author @" + s.toLowerCase())
      ),
    ],
    [
      "grammar",
      "alias O for 0 in the prev id",
      resign(a[1], (u) => u.replace(/^prev %([0-9A-Z]{52})/m, (_, s) => "prev %O" + s.slice(1))),
    ],
    [
      "grammar",
      "non-zero pad bits in the signature",
      first.replace(
        /([0-9A-Z])\.sig\.ed25519$/,
        (_, c) => ALPHA[ALPHA.indexOf(c) | 1] + ".sig.ed25519"
      ),
    ],
    ["grammar", "CRLF line endings", resign(first, (u) => u.replace(/\n/g, "\r\n"))],
    [
      "grammar",
      "header fields out of order",
      resign(first, (u) => u.replace(/^(kind .*\n)(prev .*\n)/m, "$2$1")),
    ],
    [
      "grammar",
      "leading zero in depth",
      resign(a[1], (u) => u.replace("\ndepth 1\n", "\ndepth 01\n")),
    ],
    [
      "grammar",
      "a bare number as lipmaa",
      resign(four, (u) => u.replace(/^lipmaa .*$/m, "lipmaa 1")),
    ],
    ["grammar", "no empty line after the header", resign(first, (u) => u.replace("\n\n", "\n"))],
    ["grammar", "empty body", resign(first, (u) => u.slice(0, u.indexOf("\n\n") + 2))],
    ["grammar", "space after the colon", resign(first, (u) => u.replace("temp_c:", "temp_c: "))],
    [
      "grammar",
      "unquoted string value",
      resign(first, (u) => u.replace(/temp_c:"([^"]*)"/, "temp_c:$1")),
    ],
    [
      "grammar",
      "kind of 91 characters",
      resign(first, (u) => u.replace("kind logger_boot", "kind " + "k".repeat(91))),
    ],
    [
      "grammar",
      "key of 91 characters",
      resign(first, (u) => u.replace("temp_c:", "t".repeat(91) + ":")),
    ],
    [
      "grammar",
      "65 body entries",
      resign(first, (u) =>
        u.replace(
          /\n\n$/,
          "\n" + Array.from({ length: 65 - 4 }, (_, i) => `x${i}:NONE`).join("\n") + "\n\n"
        )
      ),
    ],
    ["grammar", "a tab inside a string", resign(first, (u) => u.replace("mast 7", "mast\t7"))],
    ["grammar", "U+007F inside a string", resign(first, (u) => u.replace("mast 7", "mast\u007f7"))],
    [
      "grammar",
      "a trailing space after the kind",
      resign(first, (u) => u.replace("kind logger_boot\n", "kind logger_boot \n")),
    ],
    [
      "grammar",
      "a prev id with the suffix .SHA256",
      resign(four, (u) => u.replace(/^(prev %[0-9A-Z]{52})\.sha256$/m, "$1.SHA256")),
    ],
    // section 3.2: well formed, but a rule the grammar cannot state refuses it
    [
      "M1",
      "string of 129 characters",
      resign(first, (u) => u.replace('"mast 7, north ridge"', `"${"m".repeat(129)}"`)),
    ],
    [
      "M1",
      "string of 129 two-byte characters",
      resign(first, (u) => u.replace('"mast 7, north ridge"', `"${"é".repeat(129)}"`)),
    ],
    ["M1", "empty string", resign(first, (u) => u.replace('"mast 7, north ridge"', '""'))],
    ["M2", "duplicate key", resign(first, (u) => u.replace(/\n\n$/, '\ntemp_c:"9.00"\n\n'))],
    [
      "M3",
      "depth 2^53 (9007199254740992)",
      resign(
        b[1],
        (u) =>
          u
            .replace("\ndepth 1\n", "\ndepth 9007199254740992\n")
            .replace(
              /^lipmaa .*$/m,
              "lipmaa " + (lipmaa(2n ** 53n) === null ? "NONE" : feedB.messages[0].id)
            ),
        seedB
      ),
    ],
    ["M4", "depth 1 whose prev is NONE", resign(a[1], (u) => u.replace(/^prev .*$/m, "prev NONE"))],
    [
      "M4",
      "depth 0 whose prev is an id",
      resign(first, (u) => u.replace("prev NONE", "prev " + feedA.messages[1].id)),
    ],
    [
      "M5",
      "depth 4 whose lipmaa is NONE",
      resign(four, (u) => u.replace(/^lipmaa .*$/m, "lipmaa NONE")),
    ],
    [
      "M5",
      "depth 5 whose lipmaa is an id",
      resign(a[5], (u) => u.replace("lipmaa NONE", "lipmaa " + feedA.messages[1].id)),
    ],
    // section 2.3: the signature
    ["2.3.4", "signature over other bytes", first.replace(/temp_c:"([^"]*)"/, 'temp_c:"9.99"')],
    ["2.3.4", "signed with another author's key", resign(b[0], (u) => u, seedA)],
    ["2.3.1", "S + L: the same scalar mod L", resigS(a[1], (S) => S + L)],
    ["2.3.1", "S = L", resigS(a[1], () => L)],
    ["2.3.1", "S = 2^256 - 1", resigS(a[1], () => 2n ** 256n - 1n)],
    ...edge.refused.map((e) => [e.rule, e.why, e.text]),
  ];
  return list.map(([rule, why, text]) => ({ why, rule, text }));
}

// ---------------------------------------------------------------------------

/** Every generated file, path (below OUT) -> bytes. */
export function build() {
  const files = new Map();
  const json = (path, v) => files.set(path, utf8(JSON.stringify(v, null, 2) + "\n"));
  const blobs = [PHOTO, CALIBRATION].map((bytes) => ({
    id: blobId(bytes),
    path: blobPath(blobId(bytes)),
    content_hex: hex(bytes),
  }));
  const base32 = [
    [],
    [0],
    [255],
    [0, 0, 0, 0, 0],
    [255, 255, 255, 255, 255],
    [...utf8("pigeon")],
    [...sha256(utf8("pigeon"))],
    Buffer.from(feedA.public_key_hex, "hex"),
    [...ed.sign(utf8(""), seedOf("feed-a"))],
  ];
  const depths = [
    ...Array(41).keys(),
    41,
    120,
    121,
    122,
    363,
    364,
    365,
    1092,
    1093,
    1094,
    9841,
    29524,
    9999999,
    10000000,
    4294967295,
    4294967296,
    9007199254740990,
    9007199254740991,
  ];
  const edge = edgeMessages();
  json("vectors.json", {
    about:
      'Known-answer vectors for the Pigeon message format, made by scripts/vectors.mjs with @noble/ed25519 and @noble/hashes from PIGEON-FORMAT.md and spec/pigeon.md. Seeds are Ed25519 secret seeds (RFC 8032): SHA-256 of "pigeon-mcu test vectors: <feed name>".',
    feeds: [feedA, feedB],
    blobs,
    base32: base32.map((b) => ({
      bytes_hex: hex(Uint8Array.from(b)),
      text: b32(Uint8Array.from(b)),
    })),
    lipmaa: Object.fromEntries(depths.map((d) => [d, linkDepth(d)])),
  });
  json("invalid.json", invalidMessages(edge));
  json("ed25519-edge.json", {
    about:
      "Ed25519 verification edge cases in the style of Wycheproof, made by scripts/vectors.mjs. rule: the step of spec/pigeon.md section 2.3 that refuses the case (2.3.1 S < L, 2.3.2 canonical key, 2.3.3 key not of small order, 2.3.4 the cofactorless equation, R compared as bytes), or accepted. zip215: what a ZIP-215 verifier (noble's default: lenient decoding, cofactored equation) says. Hex throughout.",
    cases: rawCases(),
    messages: edge.accepted,
  });
  files.set("feed-a.pgn", utf8(pgn(feedA.messages.map((m) => m.text))));
  files.set("feed-b.pgn", utf8(pgn(feedB.messages.map((m) => m.text))));
  files.set("bundle-ab/messages.pgn", utf8(pgn(bundleTexts)));
  for (const [bl, bytes] of [
    [blobs[0], PHOTO],
    [blobs[1], CALIBRATION],
  ])
    files.set(`bundle-ab/${bl.path}`, bytes);
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = build();
  for (const g of GENERATED) rmSync(join(OUT, g), { recursive: true, force: true });
  for (const [path, bytes] of files) {
    mkdirSync(dirname(join(OUT, path)), { recursive: true });
    writeFileSync(join(OUT, path), bytes);
  }
  console.log(`wrote ${files.size} files to ${OUT}`);
}
