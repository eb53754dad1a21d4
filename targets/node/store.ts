// The collector's store: a directory in the card's own format (one log per
// feed, blobs under B/), kept with the device's store code over the host's
// files. Forks are kept as evidence in FORKS.PGN.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { appendMessage, blobPath, createLog, each, find, openLog, type File, type Log } from "../../src/card";
import { encode, enc } from "../../src/utf8";
import { NodeDisk } from "./nodedisk";
import type { Holder } from "./chain";
import { b32encode } from "../../src/base32";
import { b32decodeInto, idOf } from "./fastverify";

const PAGES = 1 << 18; // a log file's room: about 780,000 messages (sparse on the host's disk)

export class Store implements Holder {
  readonly disk: NodeDisk;
  private logs = new Map<string, Log>();
  // ids of the messages appended in this run, 32 bytes each: prev and lipmaa links are checked
  // against them without reading the log back, in little memory (a million ids: 32 MB)
  private ids = new Map<string, { start: number; n: number; buf: Buffer }>();
  private readers = new Map<string, File>(); // one reading handle per log, kept open

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.disk = new NodeDisk(dir);
    for (const name of readdirSync(dir)) if (/^[0-9A-Z]{1,8}\.LOG$/.test(name)) {
      const log = openLog(this.disk, name);
      this.logs.set(log.author, log);
    }
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
    if (run && depth >= run.start && depth < run.start + run.n) return "%" + b32encode(run.buf, 32 * (depth - run.start), 32) + ".sha256";
    const log = this.logs.get(author);
    if (!log || depth >= log.next) return undefined;
    const t = find(log, this.reader(log), depth);
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
    if (!run || depth !== run.start + run.n) this.ids.set(author, (run = { start: depth, n: 0, buf: Buffer.alloc(32 * 64) }));
    if (32 * (run.n + 1) > run.buf.length) run.buf = Buffer.concat([run.buf, Buffer.alloc(run.buf.length)]);
    b32decodeInto(id.slice(1, 53), run.buf, 32 * run.n++);
  }
  fork(_author: string, _depth: number, text: string) {
    appendFileSync(join(this.dir, "FORKS.PGN"), text + "\n\n");
  }
  forks(): string[] {
    const f = join(this.dir, "FORKS.PGN");
    return existsSync(f) ? readFileSync(f, "utf8").split("\n\n").filter(Boolean) : [];
  }
  putBlob(id: string, bytes: Uint8Array) {
    const path = join(this.dir, blobPath(id.slice(1, 53)));
    if (existsSync(path)) return;
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, bytes);
  }
  /** The messages of a feed, in depth order (texts as JS strings). */
  messages(author: string): { depth: number; text: string }[] {
    const log = this.logs.get(author), out: { depth: number; text: string }[] = [];
    if (log) each(log, this.reader(log), (t, depth) => out.push({ depth, text: t }));
    return out;
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
