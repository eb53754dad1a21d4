// The Pigeon message format (PIGEON-FORMAT.md, spec/pigeon.md): a strict
// parser over UTF-8 bytes that says which line is wrong and why, the
// writer that turns a draft into the unsigned text, and the signed message:
// its author's key, signing, verification (M8) and ids.
import { b32decode, b32encode } from "./base32";
import { keypair, signBytes, verifySignature } from "./ed25519";
import { lipmaa } from "./lipmaa";
import { esp, mapInPlace } from "./engine";
import { sha256 } from "./sha256";
import { enc, encode } from "./utf8";

/** Where the parts of the last parsed message lie (byte offsets), and what it said. */
export var at = {
  author: 0, // the 52 base32 characters of the author's key
  kind: 0,
  kindEnd: 0,
  prev: -1, // the 52 characters of prev's id, -1 for NONE
  depth: 0, // the depth itself
  lipmaa: -1, // the 52 characters of lipmaa's id, -1 for NONE
  body: 0, // first body line
  entries: 0,
  unsigned: 0, // length of the unsigned text, up to "signature "
  sig: 0, // the 103 base32 characters of the signature
};
/** Author key and signature of the last parsed message. */
export var author = new Uint8Array(32),
  signature = new Uint8Array(64);
var scratch = new Uint8Array(32);
var keySpans = new Int32Array(128); // start and end of every body key so far

var s: Uint8Array, pos: number, end: number, line: number;

// Espruino runs a loop at thousands of instructions a byte: there the scans of runs of bytes run in C, through
// E.mapInPlace with a class table (1: in the class; bytes of 128 and up are past the table: 0) and a typed
// array's indexOf. Elsewhere (and for what is not plain ASCII) the loops below.
var NAME = new Uint8Array(128),
  PRINT = new Uint8Array(128),
  cls = new Uint8Array(128),
  ci;
for (ci = 32; ci < 127; ci++) {
  PRINT[ci] = 1;
  if (
    (ci >= 48 && ci <= 57) ||
    (ci >= 64 && ci <= 90) ||
    (ci >= 97 && ci <= 122) ||
    ci == 45 ||
    ci == 95 ||
    ci == 46 ||
    ci == 61 ||
    ci == 38 ||
    ci == 37
  )
    NAME[ci] = 1;
}
/** How many of the n <= 128 bytes at s[p..] are in the class t, from the first (Espruino: in C). */
function run(t: Uint8Array, p: number, n: number): number {
  mapInPlace(s.subarray(p, p + n), cls, t, 8);
  var k = cls.subarray(0, n).indexOf(0);
  return k < 0 ? n : k;
}

/** Refuses, naming the line, unless ok. (Espruino makes a string each time it meets a
 * literal: where a check runs per character or builds its message, the code tests first.) */
function need(ok: any, why: string) {
  if (!ok) throw "line " + line + ": " + why;
}
function lit(t: string): boolean {
  var n = t.length,
    i,
    b = s,
    p = pos; // locals: a module variable costs a search of a long scope per use on Espruino
  if (p + n > end) return false;
  if (esp) {
    if (esp.toString(b.subarray(p, p + n)) != t) return false;
  } else for (i = 0; i < n; i++) if (b[p + i] != t.charCodeAt(i)) return false;
  pos = p + n;
  return true;
}
function eol(why?: string) {
  if (!(pos < end && s[pos] == 10)) need(0, why || "expected end of line");
  pos++;
  line++;
}
/** sigil + 52 canonical base32 characters + suffix, decoded into out. */
function idField(sigil: number, suffix: string, out: Uint8Array): boolean {
  if (s[pos] != sigil || pos + 53 > end || b32decode(s, pos + 1, 52, out) != 32) return false;
  pos += 53;
  return lit(suffix);
}
/** A run of 1 to 90 of A-Z a-z 0-9 - _ . = @ & % */
function name(what: string) {
  var a = pos,
    p = a,
    e = end,
    b = s,
    c;
  if (mapInPlace) p += run(NAME, a, Math.min(e - a, 91));
  else
    for (; p < e; p++) {
      c = b[p];
      if (!(c < 128 && NAME[c])) break;
    }
  pos = p;
  if (!(pos > a && pos - a <= 90))
    need(0, what + ": expected 1 to 90 of A-Z a-z 0-9 - _ . = @ & %");
}
/** "<field> NONE" or "<field> %<id>.sha256" and the line's end; returns the id's offset, or -1 for NONE. */
function link(field: string): number {
  var a = pos + field.length + 2;
  if (!(lit(field + " ") && (lit("NONE") ? (a = -1) : idField(37, ".sha256", scratch))))
    need(0, "expected " + field + " NONE or " + field + " %<52 base32>.sha256");
  eol();
  return a;
}
/** The string value s[a..e) (between the quotes): 1-128 code points of valid UTF-8 (M1), no control characters. */
function text(a: number, e: number) {
  var n = 0,
    c,
    lo,
    hi,
    k,
    b = s;
  if (mapInPlace && e > a && e - a <= 128 && run(PRINT, a, e - a) == e - a) return; // printable ASCII, 1 to 128 bytes
  while (a < e) {
    c = b[a++];
    n++;
    if (c > 31 && c < 127) continue;
    need(c > 31 && c != 127, "control character in string");
    if (c < 128) continue;
    k = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
    lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
    hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    need(c >= 0xc2 && c <= 0xf4, "invalid UTF-8 in string");
    for (; k > 0; k--, lo = 0x80, hi = 0xbf) {
      c = a < e ? b[a++] : 0;
      need(c >= lo && c <= hi, "invalid UTF-8 in string");
    }
  }
  need(n && n <= 128, "string of " + n + " characters, not 1 to 128");
}

/** The body from pos on (M1, M2): its entries, up to the empty line that ends it; sets at.entries. */
function entries(b: Uint8Array) {
  var c, a, e, i, j, k, n;
  // each entry costs a board some 600,000 instructions: the checks that pass call nothing here
  for (k = 0; pos >= end || s[pos] != 10; k++) {
    if (k >= 64) need(0, "more than 64 body entries");
    a = pos;
    name("key");
    n = pos - a;
    keySpans[2 * k] = a;
    keySpans[2 * k + 1] = pos;
    for (i = 0; i < k; i++)
      if (keySpans[2 * i + 1] - keySpans[2 * i] == n) {
        for (j = 0; j < n && s[keySpans[2 * i] + j] == s[a + j]; j++);
        if (j == n) need(0, "duplicate key"); // M2
      }
    if (!(pos < end && s[pos] == 58)) need(0, "expected ':' after the key");
    c = ++pos < end ? s[pos] : -1; // never a byte past the message: the buffer may hold an older one
    if (c == 34) {
      if (mapInPlace) e = (e = s.subarray(pos, end).indexOf(10)) < 0 ? end : pos + e;
      else for (e = pos; e < end && b[e] != 10; e++);
      if (!(e - pos > 1 && s[e - 1] == 34)) need(0, "a string value must end with a quote");
      text(pos + 1, e - 1);
      pos = e;
    } else
      need(
        c == 64
          ? idField(64, ".ed25519", scratch)
          : c == 37 || c == 38
            ? idField(c, ".sha256", scratch)
            : lit("NONE"),
        'value must be "string", an id or NONE'
      );
    if (!(pos < end && s[pos] == 10)) need(0, "expected end of line");
    pos++;
    line++;
  }
  need(k, "empty body");
  eol();
  at.entries = k;
}

/**
 * Parses the message in b[p .. p+n); returns "" when it is well formed, else
 * "line N: what is wrong". With unsignedOnly, stops after the body's empty line.
 */
export function parse(b: Uint8Array, p: number, n: number, unsignedOnly?: boolean): string {
  var a, d, l;
  s = b;
  pos = p;
  end = p + n;
  line = 1;
  try {
    need(lit("author ") && idField(64, ".ed25519", author), "expected author @<52 base32>.ed25519");
    at.author = p + 8;
    eol();
    need(lit("kind "), "expected kind");
    at.kind = pos;
    name("kind");
    at.kindEnd = pos;
    eol();
    at.prev = link("prev");
    need(lit("depth "), "expected depth");
    for (a = pos, d = 0; pos < end && s[pos] >= 48 && s[pos] <= 57; pos++)
      d = d * 10 + (s[pos] - 48);
    // M3
    need(
      pos > a && pos - a < 17 && d <= 9007199254740991 && (s[a] != 48 || pos - a == 1),
      "depth must be 0 to 9007199254740991 without leading zeros"
    );
    at.depth = d;
    eol();
    line = 3;
    need(at.prev < 0 == !d, "prev must be NONE exactly at depth 0"); // M4
    line = 5;
    at.lipmaa = link("lipmaa");
    l = lipmaa(d);
    line = 5;
    // M5
    if (at.lipmaa < 0 != (l == null))
      need(0, "lipmaa must be " + (l == null ? "NONE" : "the id of depth " + l) + " at depth " + d);
    line = 6;
    eol("expected an empty line after the header");
    at.body = pos;
    entries(b);
    at.unsigned = pos - p; // M7: what the signature covers
    if (!unsignedOnly) {
      at.sig = pos + 10;
      need(
        lit("signature ") &&
          pos + 103 <= end &&
          b32decode(s, pos, 103, signature) == 64 &&
          ((pos += 103), lit(".sig.ed25519")),
        "expected signature <103 base32>.sig.ed25519"
      );
    }
    need(pos == end, "text after the " + (unsignedOnly ? "body" : "signature"));
    return "";
  } catch (x) {
    if (typeof x != "string") throw x;
    return x;
  }
}

/** Decimal digits of a depth: exact where Espruino's number printing is not. */
export function decimal(n: number): string {
  var t = "";
  if (n >= 0 && n < 2147483648 && n % 1 == 0) return "" + (n | 0); // an integer Espruino prints exactly
  if (!(n >= 0 && n <= 9007199254740991)) return "" + n; // not a depth: the parser says why
  do {
    t = (n % 10) + t;
    n = Math.floor(n / 10);
  } while (n > 0);
  return t;
}

export interface Draft {
  kind: string;
  prev: string;
  depth: number;
  lipmaa: string;
  body: string[][];
}
/** The unsigned text of a draft by author (an identity string). */
export function unsigned(authorId: string, m: Draft): string {
  var t =
    "author " +
    authorId +
    "\nkind " +
    m.kind +
    "\nprev " +
    m.prev +
    "\ndepth " +
    (typeof m.depth == "number" ? decimal(m.depth) : m.depth) +
    "\nlipmaa " +
    m.lipmaa +
    "\n\n";
  for (var i = 0; i < m.body.length; i++) t += m.body[i][0] + ":" + m.body[i][1] + "\n";
  return t + "\n";
}

var key = new Uint8Array(96),
  sig = new Uint8Array(64),
  digest = new Uint8Array(32);
var keySeed = new Uint8Array(32),
  keyValid = false;

/** The expanded key (96 bytes) for a 32-byte seed; keep it to sign without deriving the key each time. */
export function keys(seed: Uint8Array): Uint8Array {
  return keypair(seed);
}
function expanded(k: Uint8Array): Uint8Array {
  var i;
  if (k.length == 96) return k;
  if (k.length != 32) throw new Error("seed must be 32 bytes");
  for (i = 0; i < 32 && keySeed[i] == k[i]; i++);
  if (i < 32 || !keyValid) {
    keypair(k, key);
    keySeed.set(k);
    keyValid = true;
  }
  return key;
}
/** "@<52>.ed25519" for a seed or an expanded key. */
export function identity(k: Uint8Array): string {
  return "@" + b32encode(expanded(k), 64, 32) + ".ed25519";
}
/**
 * Whether the unsigned text of draft (its bytes in enc.b[0..n)) is well formed, found without
 * parsing its header again: the writer knows where each field lies, and checks what the parser
 * would (the kind a name, the links canonical ids or NONE as depth and lipmaa demand, M3-M5);
 * the body is parsed (M1, M2). Sets `at` as parse() does. false: anything it cannot vouch for
 * (parse() then says what is wrong). On a board the header's parse cost as much as a page write.
 */
function vouched(ident: string, m: Draft, n: number): boolean {
  var d = m.depth,
    b = enc.b,
    o;
  if (!(typeof d == "number" && d >= 0 && d <= 9007199254740991 && d % 1 == 0)) return false;
  if ((m.prev == "NONE") != !d || (m.lipmaa == "NONE") != (lipmaa(d) == null)) return false;
  s = b;
  end = n;
  try {
    at.author = 8;
    at.kind = pos = 13 + ident.length;
    name("kind");
    at.kindEnd = pos;
    if (pos - at.kind != m.kind.length) return false;
    o = pos + 6; // "\nprev "
    if (!vouchedLink(m.prev, o)) return false;
    at.prev = m.prev == "NONE" ? -1 : o + 1;
    at.depth = d;
    o += m.prev.length + 7 + decimal(d).length + 8; // "\ndepth ", "\nlipmaa "
    if (!vouchedLink(m.lipmaa, o)) return false;
    at.lipmaa = m.lipmaa == "NONE" ? -1 : o + 1;
    pos = at.body = o + m.lipmaa.length + 2;
    line = 7;
    entries(b);
    at.unsigned = pos;
    need(pos == end, "text after the body");
    return true;
  } catch (x) {
    if (typeof x != "string") throw x;
    return false;
  }
}
/** Whether the link text v (NONE, or %<52 canonical base32>.sha256) is what lies at enc.b[o..). */
function vouchedLink(v: string, o: number): boolean {
  if (v == "NONE") return true;
  return (
    v.length == 60 &&
    v.charAt(0) == "%" &&
    v.substr(53) == ".sha256" &&
    b32decode(s, o + 1, 52, scratch) == 32
  );
}
/** Why the unsigned text of draft by ident (its bytes in enc.b[0..n)) is refused, or "" (then `at` is set as parse() sets it). */
export function draftRefusal(ident: string, draft: Draft, n: number): string {
  return vouched(ident, draft, n) ? "" : parse(enc.b, 0, n, true);
}
/**
 * The whole signed message text for a draft {kind, prev, depth, lipmaa, body}.
 * It leaves the text's bytes in enc and `at` set as parse() would leave it
 * for them: a caller can store the message without parsing it again. author:
 * k's identity, where the caller keeps it (on a board, making it costs as much
 * as a tenth of the rest).
 */
export function sign(k: Uint8Array, draft: Draft, author?: string): string {
  var ek = expanded(k),
    ident = author || identity(ek),
    t = unsigned(ident, draft),
    n = encode(t),
    r = draftRefusal(ident, draft, n);
  if (r) throw new Error("draft: " + r);
  signBytes(ek, enc.b, 0, n, sig);
  t += "signature " + b32encode(sig, 0, 64) + ".sig.ed25519";
  encode(t);
  at.sig = at.unsigned + 10; // the one field the unsigned parse leaves unset
  return t;
}
/** Why the message in b[p .. p+n) is refused, or "" when it parses (M1-M5) and its signature over the unsigned text (M7) verifies. */
export function refusalBytes(b: Uint8Array, p: number, n: number): string {
  var r = parse(b, p, n);
  if (r) return r;
  return verifySignature(author, 0, b, p, at.unsigned, signature, 0)
    ? ""
    : "signature does not verify";
}
/** Why a message text is refused, or "" when it is valid. */
export function refusal(text: string): string {
  if (typeof text != "string") return "not a string";
  var n = encode(text);
  return refusalBytes(enc.b, 0, n);
}
/** true when the text parses and its signature verifies; never throws. */
export function verify(text: string): boolean {
  try {
    return refusal(text) == "";
  } catch (e) {
    return false;
  }
}
/** "%<52>.sha256" of b[p .. p+n). */
export function idBytes(b: Uint8Array, p: number, n: number, sigil?: string): string {
  sha256(b, p, n, digest, 0);
  return (sigil || "%") + b32encode(digest, 0, 32) + ".sha256";
}
/** The message id of a text: over the whole message text (M8). */
export function id(text: string): string {
  var n = encode(text);
  return idBytes(enc.b, 0, n);
}
/** The blob id of some bytes. */
export function blobId(b: Uint8Array): string {
  return idBytes(b, 0, b.length, "&");
}
