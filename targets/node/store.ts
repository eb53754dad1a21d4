// The collector's store: a directory in the card's own format (one log per
// feed, blobs under B/), kept with the device's store code over the host's
// files. Forks are kept as evidence in FORKS.PGN; the store's own seed in
// SECRET.KEY (a store is the collector's, not a card: the board's seed stays
// in its flash); follows and blocks in FOLLOWS.TXT and BLOCKS.TXT; what peers
// said they hold under P/.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { appendMessage, blobPath, createLog, each, find, openLog, type File, type Log } from "../../src/card";
import { encode, enc } from "../../src/utf8";
import { NodeDisk } from "./nodedisk";
import type { Holder } from "./verify";
import { b32encode } from "../../src/base32";
import { b32decodeInto, idOf } from "./fastverify";
import { Pigeon } from "./core";
import { formatHave, mergeHave, parseHave, type Holdings } from "./gossip";

const PAGES = 1 << 18; // a log file's room: about 780,000 messages (sparse on the host's disk)

export class Store implements Holder {
  readonly disk: NodeDisk;
  private logs = new Map<string, Log>();
  // ids of the messages appended in this run, 32 bytes each in chunks of 1024: prev and lipmaa
  // links are checked against them without reading the log back (a million ids: 32 MB)
  private ids = new Map<string, { start: number; n: number; chunks: Buffer[] }>();
  private readers = new Map<string, File>(); // one reading handle per log, kept open
  private blocked?: Set<string>;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.disk = new NodeDisk(dir);
    for (const name of readdirSync(dir)) if (/^[0-9A-Z]{1,8}\.LOG$/.test(name)) {
      const log = openLog(this.disk, name);
      this.logs.set(log.author, log);
    }
  }
  /** This store's identity, made (with its seed) on first use. */
  identity(): string {
    const f = join(this.dir, "SECRET.KEY");
    if (existsSync(join(this.dir, "PIGEON.CFG"))) throw new Error(`${this.dir} is a logger's card (it has PIGEON.CFG): a secret key is never written to a card`);
    if (!existsSync(f)) writeFileSync(f, randomBytes(32), { mode: 0o600, flag: "wx" });
    return Pigeon.identity(new Uint8Array(readFileSync(f)));
  }
  /** The identities listed in FOLLOWS.TXT or BLOCKS.TXT. */
  list(name: "FOLLOWS.TXT" | "BLOCKS.TXT"): Set<string> {
    const f = join(this.dir, name);
    return new Set(existsSync(f) ? readFileSync(f, "utf8").split("\n").filter(Boolean) : []);
  }
  setList(name: "FOLLOWS.TXT" | "BLOCKS.TXT", ids: Set<string>) {
    this.replace(name, [...ids].map((x) => x + "\n").join(""));
  }
  /** Why messages of this author are not taken at all: blocked by this store. */
  refuses(author: string): string | undefined {
    if (!this.blocked) this.blocked = this.list("BLOCKS.TXT");
    return this.blocked.has(author) ? `${author} is blocked by this store` : undefined;
  }
  /** What this store holds: per feed, its first and last depth. */
  holdings(): Holdings {
    const h: Holdings = new Map();
    for (const log of this.logs.values()) if (log.next > log.first) h.set(log.author, { first: log.first, last: log.next - 1 });
    return h;
  }
  /** What a peer is known to hold, from the have-files of its bundles this store imported. */
  peer(who: string): Holdings | undefined {
    const f = join(this.dir, this.peerPath(who));
    if (!existsSync(f)) return undefined;
    const have = parseHave(readFileSync(f, "utf8"), f);
    return have.who === who ? have.held : undefined;
  }
  rememberPeer(who: string, held: Holdings) {
    const before = this.peer(who);
    this.replace(this.peerPath(who), formatHave(who, before ? mergeHave(before, held) : held));
  }
  private peerPath = (who: string) => "P/" + who.slice(1, 9) + ".HAV";
  /** Writes a small file whole or not at all: a power cut leaves the old one. */
  private replace(name: string, text: string) {
    const f = join(this.dir, name);
    mkdirSync(join(f, ".."), { recursive: true });
    writeFileSync(f + ".NEW", text);
    renameSync(f + ".NEW", f);
  }
  /** Every feed held: author, the log, and where it starts. */
  feeds(): Log[] {
    return [...this.logs.values()];
  }
  log(author: string): Log | undefined {
    return this.logs.get(author);
  }
  next(author: string) {
    return this.logs.get(author)?.next;
  }
  start(author: string) {
    return this.logs.get(author)?.first ?? 0;
  }
  idAt(author: string, depth: number) {
    const run = this.ids.get(author);
    if (run && depth >= run.start && depth < run.start + run.n) {
      const i = depth - run.start;
      return "%" + b32encode(run.chunks[i >> 10], 32 * (i & 1023), 32) + ".sha256";
    }
    const t = this.text(author, depth);
    return t === undefined ? undefined : idOf(Buffer.from(t, "utf8"));
  }
  accept(author: string, depth: number, id: string, text: string) {
    let log = this.logs.get(author);
    if (!log) {
      const path = this.pathFor(author);
      createLog(this.disk, path, author, PAGES, (Math.random() * 4294967296) >>> 0, depth);
      this.logs.set(author, (log = openLog(this.disk, path)));
    }
    const n = encode(text); // before reading enc.b: encoding may replace the buffer
    const why = appendMessage(log, enc.b, n);
    if (why) throw new Error(`${log.path}: ${why}`);
    let run = this.ids.get(author);
    if (!run || depth !== run.start + run.n) this.ids.set(author, (run = { start: depth, n: 0, chunks: [] }));
    if (!(run.n & 1023)) run.chunks.push(Buffer.allocUnsafeSlow(32 * 1024));
    b32decodeInto(id.slice(1, 53), run.chunks[run.n >> 10], 32 * (run.n++ & 1023));
  }
  fork(_author: string, _depth: number, text: string) {
    appendFileSync(join(this.dir, "FORKS.PGN"), text + "\n\n");
  }
  forks(): string[] {
    const f = join(this.dir, "FORKS.PGN");
    return existsSync(f) ? readFileSync(f, "utf8").split("\n\n").filter(Boolean) : [];
  }
  putBlob(id: string, bytes: Buffer) {
    const path = join(this.dir, blobPath(id.slice(1, 53)));
    if (existsSync(path)) return;
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, bytes);
  }
  /** The text of the message held at depth, if any. */
  text(author: string, depth: number): string | undefined {
    const log = this.logs.get(author);
    return log && depth < log.next ? find(log, this.reader(log), depth) : undefined;
  }
  /** Each message of a feed in depth order, without holding them all. */
  each(author: string, fn: (text: string, depth: number) => void) {
    const log = this.logs.get(author);
    if (log) each(log, this.reader(log), fn);
  }
  private reader(log: Log): File {
    let r = this.readers.get(log.path);
    if (!r) this.readers.set(log.path, (r = this.disk.openFile(log.path, "r")!));
    return r;
  }
  /** An 8.3 name for a new feed's log: the key's first 8 characters, or 7 and a digit if those are taken. */
  private pathFor(author: string): string {
    const taken = new Set([...this.logs.values()].map((l) => l.path));
    const k = author.slice(1, 9);
    if (!taken.has(k + ".LOG")) return k + ".LOG";
    for (let i = 0; i < 10; i++) if (!taken.has(k.slice(0, 7) + i + ".LOG")) return k.slice(0, 7) + i + ".LOG";
    throw new Error(`no free log name for ${author}`);
  }
}
