// The logger's step: sensor values become one signed message of kind
// "reading" (spec/card.md, "Reading messages"), appended to the own feed's log.
import { append as appendRecord, each, File, find, Log, record } from "./log";
import { certificatePath, linkedFrom, lipmaa } from "./lipmaa";
import { Draft, id, idBytes, identity, sign } from "./message";
import { enc } from "./utf8";

/** A value in wire form: numbers to at most 3 decimals, strings as they are. */
function wire(v: number | string) {
  return '"' + (typeof v == "number" ? "" + Math.round(v * 1000) / 1000 : v) + '"';
}

/**
 * The body of a reading message: t, boot, then each sensor's value; with
 * several readings (rows), also dt, and keys name.i for reading i.
 */
export function readingBody(
  t: number,
  boot: number,
  dt: number,
  names: string[],
  rows: (number | string)[][]
): string[][] {
  var body = [
      ["t", wire(Math.floor(t))],
      ["boot", wire(boot)],
    ],
    i,
    j;
  if (rows.length > 1) body.push(["dt", wire(dt)]);
  for (i = 0; i < rows.length; i++)
    for (j = 0; j < names.length; j++)
      body.push([rows.length > 1 ? names[j] + "." + i : names[j], wire(rows[i][j])]);
  return body;
}

/** The own feed: its log, a reader on it, the key, the id of the last message and the ids later ones link to. */
export interface OwnFeed {
  log: Log;
  reader: File;
  keys: Uint8Array;
  last: string; // id of the newest message, "" before the first
  // The ids a later message will name by its lipmaa link: depth, the last depth that links it, id.
  // Links never cross, so a few are live at a time (at most 14 below depth 3,000,000); kept, they
  // spare each append a look-up on the card. Lost with a reboot: read from the card once when missed.
  linked: (number | string)[];
}

/** The id of the message at depth d of the own feed ("" when it is not there). */
function idAt(feed: OwnFeed, d: number): string {
  var t = find(feed.log, feed.reader, d);
  return t == undefined ? "" : id(t);
}

/** Keeps the id of the message at depth d when a message after depth after links to it. */
function keep(feed: OwnFeed, d: number, ident: string, after: number) {
  var by = linkedFrom(d);
  if (by.length && by[by.length - 1] > after) feed.linked.push(d, by[by.length - 1], ident);
}

/** The id the message at depth d names by its lipmaa link l: kept, or read from the card (once, after a reboot). */
export function lipmaaId(feed: OwnFeed, l: number, d: number): string {
  var k = feed.linked,
    i,
    t;
  for (i = 0; i < k.length; i += 3) if (k[i] == l) return k[i + 2] as string;
  if ((t = idAt(feed, l))) keep(feed, l, t, d);
  return t;
}

/** The code of the error openFeed() throws for a log of another key. */
export var OTHER_AUTHOR = "OTHER_AUTHOR";

/**
 * Opens the own feed over its log: finds the newest message's id. The log
 * keeps its author once (spec/card.md), the author every message it rebuilds
 * names: a log of another key (one whose id begins the same) is refused.
 */
export function openFeed(log: Log, reader: File, keys: Uint8Array): OwnFeed {
  var feed = { log: log, reader: reader, keys: keys, last: "", linked: [] },
    e;
  if (log.author != identity(keys)) {
    e = new Error(log.path + " is the log of " + log.author + ", not of this key");
    (e as any).code = OTHER_AUTHOR;
    throw e;
  }
  if (log.next) feed.last = idAt(feed, log.next - 1);
  return feed;
}

/** The code of the error append() throws for a message the format refuses. */
export var REFUSED = "REFUSED";

/**
 * Signs and appends the next message with this body (at the log's next
 * depth); returns its text, once it is on the card. The message is stored
 * from what sign() leaves (its bytes and their parse): parsed once, not again.
 */
export function append(feed: OwnFeed, kind: string, body: string[][]): string {
  var d = feed.log.next,
    l = lipmaa(d),
    t;
  var draft: Draft = {
    kind: kind,
    prev: d ? feed.last : "NONE",
    depth: d,
    lipmaa: l == null ? "NONE" : lipmaaId(feed, l, d),
    body: body,
  };
  try {
    t = sign(feed.keys, draft, feed.log.author); // openFeed() checked it is the key's
  } catch (x) {
    // a value the format cannot hold (a user sensor's string, say): this message can never be stored
    var e = new Error("a reading the message format refuses: " + (x as Error).message);
    (e as any).code = REFUSED;
    throw e;
  }
  appendRecord(feed.log, record(enc.b, 0));
  appended(feed, d, idBytes(enc.b, 0, enc.n));
  return t;
}

/** After the message at depth d (of id ident) is on the card: it is the last, and the ids no later message links to go. */
export function appended(feed: OwnFeed, d: number, ident: string) {
  var k = feed.linked,
    i;
  feed.last = ident;
  for (i = k.length - 3; i >= 0; i -= 3) if ((k[i + 1] as number) <= d) k.splice(i, 3);
  keep(feed, d, ident, d); // this one stays when a later message will link to it
}

/**
 * The newest n messages of the own feed after their certificate path down to
 * depth 0, in ascending depth, each given to put (as `pigeon export --latest n`
 * writes them): a collector checks this week's readings without the history.
 */
export function latest(feed: OwnFeed, n: number, put: (text: string) => void) {
  var top = feed.log.next - 1,
    from = Math.max(feed.log.first, top - n + 1),
    path,
    i;
  if (top < 0) return;
  path = certificatePath(from, feed.log.first);
  for (i = path.length - 1; i > 0; i--) put(find(feed.log, feed.reader, path[i])!);
  each(
    feed.log,
    feed.reader,
    function (t, d) {
      if (d >= from) put(t);
    },
    undefined,
    from
  );
}
