// The firmware as a board keeps it in Storage: tokenised the way Espruino
// tokenises code itself (E.setFlags({pretokenise:1}); src/jslex.c,
// _jslNewTokenisedStringFromLexer): each reserved word and multi-character
// operator one byte, strings and small integers as raw bytes, no whitespace.
// Espruino lexes a function's text again at every call, from flash for code in
// Storage, so the firmware takes less of a Pico's Storage (39 KB to 34.5 KB) and
// runs a little faster. The bytes are the LEX_TYPES of src/jslex.h, an order
// Espruino keeps fixed for the tools that do this (its Web IDE, its app loader).
import * as acorn from "acorn";

/** From LEX_EQUAL (138): the operators, LEX_ARROW_FUNCTION, then the reserved words. */
const TOKENS = [
  ...["==", "===", "!=", "!==", "<=", "<<", "<<=", ">=", ">>", ">>>", ">>=", ">>>="],
  ...["+=", "-=", "++", "--", "*=", "/=", "%=", "&=", "&&", "|=", "||", "^=", "=>"],
  ...["if", "else", "do", "while", "for", "break", "continue", "function", "return", "var"],
  ...["let", "const", "this", "throw", "try", "catch", "finally", "true", "false", "null"],
  ...["undefined", "new", "in", "instanceof", "switch", "case", "default", "delete", "typeof"],
  ...["void", "debugger", "class", "extends", "super", "static", "of"],
];
export const TOKEN_BASE = 138;
const TOKEN = new Map(TOKENS.map((t, i) => [t, TOKEN_BASE + i]));
export const RAW_STRING8 = 0xd1,
  RAW_STRING16 = 0xd2,
  RAW_INT0 = 0xd3,
  RAW_INT8 = 0xd4,
  RAW_INT16 = 0xd5;
export { TOKENS };

/** ES5 source text in Espruino's tokenised form (a latin1 string: a char a byte). */
export function pretokenise(code) {
  const out = [];
  let last = "";
  for (const tk of acorn.tokenizer(code, { ecmaVersion: 5 })) {
    const text = code.slice(tk.start, tk.end),
      label = tk.type.label;
    // the token as Espruino's lexer names it: ID, INT, FLOAT, STR, REGEX, or its own text
    const kind =
      label === "name" || tk.type.keyword
        ? TOKEN.has(text)
          ? text
          : "ID"
        : label === "num"
          ? /^(\d+|0[xX][0-9a-fA-F]+)$/.test(text)
            ? "INT"
            : "FLOAT"
          : label === "string"
            ? "STR"
            : label === "regexp"
              ? "REGEX"
              : text;
    // jslPreserveSpaceBetweenTokens: where two tokens would otherwise run into one
    if (
      (/^(ID|INT|FLOAT)$/.test(last) && /^(ID|INT|FLOAT)$/.test(kind)) ||
      (last === "-" && kind === "-") ||
      (last === "+" && kind === "+") ||
      (last === "/" && kind === "REGEX") ||
      (last === "REGEX" && (kind === "/" || kind === "ID"))
    )
      out.push(" ");
    const v = tk.value;
    if (kind === "STR" && v.length > 0 && v.length < 65536 && !/[^\0-\xff]/.test(v))
      out.push(
        v.length < 256
          ? String.fromCharCode(RAW_STRING8, v.length)
          : String.fromCharCode(RAW_STRING16, v.length & 255, v.length >> 8),
        v
      );
    else if (kind === "INT" && v < 32768)
      out.push(
        v === 0
          ? String.fromCharCode(RAW_INT0)
          : v < 128
            ? String.fromCharCode(RAW_INT8, v)
            : String.fromCharCode(RAW_INT16, v & 255, v >> 8)
      );
    else if (TOKEN.has(kind)) out.push(String.fromCharCode(TOKEN.get(kind)));
    else out.push(text);
    last = kind;
  }
  return out.join("");
}

/** Raw integers in tokenised code are read from Espruino 2v25.396 on (raw strings from 2v20.48). */
export const MIN_VERSION = "2v26";

/**
 * The boot code a board keeps (.bootcde): a first statement in plain text that
 * stops an older Espruino with a message naming the version it needs (before
 * it would misread the rest), then the firmware tokenised.
 */
export function bootCode(js) {
  return (
    `if(process.version<"${MIN_VERSION}")throw new Error("pigeon: the firmware needs Espruino ${MIN_VERSION} or later; this board has "+process.version);\n` +
    pretokenise(js)
  );
}

/**
 * Tokenised code back to source text, as Espruino's lexer reads it: each token's
 * text with a space either side, raw strings and integers written out again, and
 * what stands as text (names, numbers, strings kept quoted) as it stands.
 */
export function detokenise(tok) {
  const out = [];
  for (let i = 0; i < tok.length;) {
    const c = tok.charCodeAt(i++);
    if (c === 34 || c === 39) {
      // a string left quoted (it holds characters past latin1): to its closing quote, escapes kept
      let j = i;
      while (j < tok.length && tok.charCodeAt(j) !== c) j += tok.charCodeAt(j) === 92 ? 2 : 1;
      out.push(tok.slice(i - 1, j + 1));
      i = j + 1;
    } else if (c === RAW_STRING8 || c === RAW_STRING16) {
      let n = tok.charCodeAt(i++);
      if (c === RAW_STRING16) n |= tok.charCodeAt(i++) << 8;
      out.push(` ${JSON.stringify(tok.slice(i, i + n))} `);
      i += n;
    } else if (c === RAW_INT0) out.push(" 0 ");
    else if (c === RAW_INT8) out.push(` ${(tok.charCodeAt(i++) << 24) >> 24} `);
    else if (c === RAW_INT16) {
      out.push(` ${((tok.charCodeAt(i) | (tok.charCodeAt(i + 1) << 8)) << 16) >> 16} `);
      i += 2;
    } else if (c >= TOKEN_BASE && c < TOKEN_BASE + TOKENS.length)
      out.push(` ${TOKENS[c - TOKEN_BASE]} `);
    else out.push(tok[i - 1]);
  }
  return out.join("");
}
