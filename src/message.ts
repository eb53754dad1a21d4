// The Pigeon message format (PIGEON-FORMAT.md, spec/pigeon.md): a strict
// parser over UTF-8 bytes that says which line is wrong and why, and the
// writer that turns a draft into the unsigned text.
import { b32decode } from "./base32";
import { lipmaa } from "./lipmaa";

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
  sig: 0 // the 103 base32 characters of the signature
};
/** Author key and signature of the last parsed message. */
export var author = new Uint8Array(32), signature = new Uint8Array(64);
var scratch = new Uint8Array(32);
var keys = new Int32Array(128); // start and end of every body key so far

var s: Uint8Array, pos: number, end: number, line: number;

function fail(why: string) {
  return "line " + line + ": " + why;
}
function lit(t: string): boolean {
  var n = t.length, i;
  if (pos + n > end) return false;
  for (i = 0; i < n; i++) if (s[pos + i] != t.charCodeAt(i)) return false;
  pos += n;
  return true;
}
/** sigil + 52 canonical base32 characters + suffix, decoded into out. */
function id(sigil: number, suffix: string, out: Uint8Array): boolean {
  if (s[pos] != sigil || pos + 53 > end || b32decode(s, pos + 1, 52, out) != 32) return false;
  pos += 53;
  return lit(suffix);
}
function eol(): boolean {
  if (pos < end && s[pos] == 10) {
    pos++;
    line++;
    return true;
  }
  return false;
}
// A-Z a-z 0-9 - _ . = @ & %
function word(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 64 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 95 || c == 46 || c == 61 || c == 38 || c == 37;
}
/** A run of 1 to 90 word characters; returns the error or "". */
function name(what: string): string {
  var a = pos;
  while (pos < end && word(s[pos])) pos++;
  if (pos == a) return fail(what + ": expected 1 to 90 of A-Z a-z 0-9 - _ . = @ & %");
  if (pos - a > 90) return fail(what + " longer than 90 characters");
  return "";
}
/** NONE or a message id (%...sha256); returns the id's offset, -1 for NONE, -2 if neither. */
function link(): number {
  var a = pos + 1;
  if (lit("NONE")) return -1;
  return id(37, ".sha256", scratch) ? a : -2;
}
/** Checks the string value s[a..e) (between the quotes): 1-128 code points of valid UTF-8, no controls. */
function text(a: number, e: number): string {
  var n = 0, c, lo, hi, k;
  while (a < e) {
    c = s[a++];
    n++;
    if (c < 128) {
      if (c < 32 || c == 127) return "control character in string";
      continue;
    }
    if (c < 0xc2 || c > 0xf4) return "invalid UTF-8 in string";
    k = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
    lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
    hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    for (; k > 0; k--, lo = 0x80, hi = 0xbf) {
      c = a < e ? s[a++] : 0;
      if (c < lo || c > hi) return "invalid UTF-8 in string";
    }
  }
  return n < 1 || n > 128 ? "string of " + n + " characters, not 1 to 128" : "";
}

/**
 * Parses the message in b[p .. p+n); returns "" when it is well formed, else
 * "line N: what is wrong". With unsignedOnly, stops after the body's empty line.
 */
export function parse(b: Uint8Array, p: number, n: number, unsignedOnly?: boolean): string {
  var r, c, a, e, i, j, k, d;
  s = b;
  pos = p;
  end = p + n;
  line = 1;
  if (!lit("author ") || !id(64, ".ed25519", author)) return fail("expected author @<52 base32>.ed25519");
  at.author = p + 8;
  if (!eol()) return fail("expected end of line after author");
  if (!lit("kind ")) return fail("expected kind");
  at.kind = pos;
  if ((r = name("kind"))) return r;
  at.kindEnd = pos;
  if (!eol()) return fail("expected end of line after kind");
  if (!lit("prev ") || (at.prev = link()) < -1 || !eol()) return fail("expected prev NONE or prev %<52 base32>.sha256");
  if (!lit("depth ")) return fail("expected depth");
  a = pos;
  for (d = 0; pos < end && s[pos] >= 48 && s[pos] <= 57; pos++) d = d * 10 + (s[pos] - 48);
  if (pos == a || pos - a > 16 || d > 9007199254740991) return fail("depth must be a number from 0 to 9007199254740991");
  if (s[a] == 48 && pos - a > 1) return fail("leading zero in depth");
  at.depth = d;
  if (!eol()) return fail("expected end of line after depth");
  if ((at.prev == -1) != (d == 0)) {
    line -= 2;
    return fail(d ? "prev is NONE but depth is not 0" : "prev must be NONE at depth 0");
  }
  if (!lit("lipmaa ") || (at.lipmaa = link()) < -1 || !eol()) return fail("expected lipmaa NONE or lipmaa %<52 base32>.sha256");
  if ((at.lipmaa == -1) != (lipmaa(d) == null)) {
    line--;
    return fail("lipmaa must be " + (lipmaa(d) == null ? "NONE" : "the id of depth " + lipmaa(d)) + " at depth " + d);
  }
  if (!eol()) return fail("expected an empty line after the header");
  at.body = pos;
  for (k = 0; !eol(); k++) {
    if (k == 64) return fail("more than 64 body entries");
    a = pos;
    if ((r = name("key"))) return r;
    keys[2 * k] = a;
    keys[2 * k + 1] = pos;
    for (i = 0; i < k; i++)
      if (keys[2 * i + 1] - keys[2 * i] == pos - a) {
        for (j = 0; j < pos - a && s[keys[2 * i] + j] == s[a + j]; j++);
        if (j == pos - a) return fail("duplicate key");
      }
    if (!lit(":")) return fail("expected ':' after the key");
    c = s[pos];
    if (c == 34) {
      for (e = pos; e < end && s[e] != 10; e++);
      if (e - pos < 2 || s[e - 1] != 34) return fail("a string value must end with '\"' at the end of the line");
      if ((r = text(pos + 1, e - 1))) return fail(r);
      pos = e;
    } else if (!(c == 64 ? id(64, ".ed25519", scratch) : c == 37 || c == 38 ? id(c, ".sha256", scratch) : lit("NONE")))
      return fail('value must be "string", an id or NONE');
    if (!eol()) return fail("expected end of line after the value");
  }
  if (!k) return fail("empty body");
  at.entries = k;
  at.unsigned = pos - p;
  if (unsignedOnly) return pos == end ? "" : fail("text after the body");
  at.sig = pos + 10;
  if (!lit("signature ") || pos + 103 > end || b32decode(s, pos, 103, signature) != 64) return fail("expected signature <103 base32>.sig.ed25519");
  pos += 103;
  if (!lit(".sig.ed25519")) return fail("expected .sig.ed25519 after the signature");
  return pos == end ? "" : fail("text after the signature");
}

/** Decimal digits of a depth: exact where Espruino's number printing is not. */
function decimal(n: number): string {
  var t = "";
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
  var t = "author " + authorId + "\nkind " + m.kind + "\nprev " + m.prev + "\ndepth " + (typeof m.depth == "number" ? decimal(m.depth) : m.depth) + "\nlipmaa " + m.lipmaa + "\n\n";
  for (var i = 0; i < m.body.length; i++) t += m.body[i][0] + ":" + m.body[i][1] + "\n";
  return t + "\n";
}
