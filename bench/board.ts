// Where a reading's instructions go on an emulated board (npm run emu --
// --profile; not shipped): the logger firmware plus one reading done the way
// src/ownfeed.ts append() does it, in steps, with peek8(n) between them for the
// probe plugin to count. The steps' sum is checked against the firmware's own
// reading by the caller, which also splits each step by firmware function
// (interpreter, FatFs and SPI, the kernels, native hashes).
import { append as cardAppend, record } from "../src/log";
import { signBytes as edSign } from "../src/ed25519";
import { idBytes } from "../src/index";
import { lipmaa } from "../src/lipmaa";
import { appended, lipmaaId, readingBody } from "../src/ownfeed";
import { at, draftRefusal, unsigned } from "../src/message";
import { b32encode } from "../src/base32";
import { enc, encode } from "../src/utf8";
import { start, state, step } from "../targets/espruino/firmware";

declare var peek8: any, E: any, getTime: any;

/** The steps, in order: peek8(10 + i) ends step i (sign() in src/message.ts is message text to encode). */
export var STEPS = [
  "sampling",
  "body",
  "lipmaa id",
  "message text",
  "draft check",
  "sign",
  "signature text",
  "encode",
  "record",
  "page write",
  "id",
];

var sig = new Uint8Array(64);
/** One reading, as append() in src/ownfeed.ts does it, marked step by step. */
export function reading() {
  var feed = state.feed!,
    c = state.config,
    d,
    l,
    lip,
    t,
    n,
    len,
    k = state.keys!;
  peek8(9);
  var row = [E.getTemperature()];
  peek8(10);
  var body = readingBody(getTime(), state.boot, c.interval, ["temp"], [row]);
  peek8(11);
  d = feed.log.next;
  l = lipmaa(d);
  lip = l == null ? "NONE" : lipmaaId(feed, l, d); // kept in RAM, or read from the card once after a boot
  peek8(12);
  var who = feed.log.author; // the key's identity, checked when the feed was opened
  var draft = {
    kind: "reading",
    prev: d ? feed.last : "NONE",
    depth: d,
    lipmaa: lip,
    body: body,
  };
  t = unsigned(who, draft);
  peek8(13);
  n = encode(t);
  if (draftRefusal(who, draft, n)) throw new Error("draft");
  peek8(14);
  edSign(k, enc.b, 0, n, sig);
  peek8(15);
  t = t + "signature " + b32encode(sig, 0, 64) + ".sig.ed25519";
  peek8(16);
  n = encode(t);
  at.sig = at.unsigned + 10;
  peek8(17);
  len = record(enc.b, 0);
  peek8(18);
  cardAppend(feed.log, len);
  peek8(19);
  appended(feed, d, idBytes(enc.b, 0, n));
  peek8(20);
  return t;
}
export { start, state, step };
