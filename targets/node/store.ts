// The collector's store: a directory in the card's own format, kept with the
// device's store code over the host's files. spec/store.md gives its layout:
// logs per feed (runs and loose messages), blobs under B/, forks in FORKS.PGN,
// follows and blocks, what peers hold under P/, and the store's own seed.
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import {
  appendMessage,
  blobPath,
  createLog,
  each,
  find,
  LOG_FULL,
  mayHoldRecords,
  NO_HEADER,
  openLog,
  TOO_LARGE,
  type File,
  type Log,
} from "../../src/log";
import { encode, enc } from "../../src/utf8";
import { useSha256 } from "../../src/engine";
import { NodeDisk } from "./nodedisk";
import type { Holder } from "../host/chain";
import { type Loss, splitPgn } from "../host/bundle";
import { b32decode, b32encode } from "../../src/base32";
import { idOf } from "./checks";
import { Pigeon } from "./core";
import { depthRanges, formatHave, mergeHave, parseHave, type Holdings } from "../host/have";

// The store seals every sector it writes with SHA-256 (spec/card.md): node:crypto's, not the core's JavaScript one
useSha256((b) => {
  const h = createHash("sha256").update(b).digest();
  return h.buffer.slice(h.byteOffset, h.byteOffset + 32);
});

const PAGES = 1 << 18; // a feed's first log: about 780,000 messages (sparse on the host's disk)
const RUN_PAGES = 1 << 12; // a later run's log: about 12,000 messages; a full one goes on in a new log
const FULL = "its log has no room for it"; // full, or a version 1 log and a record larger than its pages

/**
 * What the store holds of one feed. A feed may have gaps (spec/pigeon.md, F6):
 * it is held as runs, logs of consecutive depths in ascending order of their
 * first depth, and loose messages, which a certificate path brought and no run
 * holds yet. The first run is the card-format log in the store's top directory;
 * the others, and the loose messages' log, are under R/<that log's name>/.
 */
interface StoredFeed {
  author: string;
  runs: Log[];
  loose: Map<number, string>;
  looseLog?: Log;
  dir: string; // R/<name>
}

/** The ids of messages at consecutive depths from start, 32 bytes each, in chunks of up to 1024. */
class Ids {
  n = 0;
  private chunks: Buffer[] = [];
  constructor(
    readonly start: number,
    readonly size = Infinity
  ) {}
  at(depth: number): string | undefined {
    const i = depth - this.start;
    return i >= 0 && i < this.n
      ? "%" + b32encode(this.chunks[i >> 10], 32 * (i & 1023), 32) + ".sha256"
      : undefined;
  }
  push(id: string) {
    if (!(this.n & 1023)) this.chunks.push(Buffer.allocUnsafeSlow(32 * Math.min(1024, this.size)));
    b32decode(
      Buffer.from(id, "latin1"),
      1,
      52,
      this.chunks[this.n >> 10].subarray(32 * (this.n++ & 1023))
    );
  }
}
const STOP = new Error("read far enough"); // thrown to end each() early

/**
 * A log's reading handle that reads 64 KB at a time: the card's code reads a
 * sector at a time, and on the host each read would be a system call. What it
 * holds is dropped (forget) before the log is written.
 */
class ReadAhead implements File {
  private buf = "";
  private at = 0;
  private pos = 0;
  constructor(private f: File) {}
  seek(n: number) {
    this.pos = n;
  }
  read(n: number) {
    if (this.pos < this.at || this.pos + n > this.at + this.buf.length) {
      this.f.seek((this.at = this.pos));
      this.buf = this.f.read(Math.max(n, 1 << 13)) ?? "";
    }
    const out = this.buf.substr(this.pos - this.at, n);
    this.pos += out.length;
    return out || undefined;
  }
  write() {
    return 0;
  }
  close() {
    this.f.close();
  }
  forget() {
    this.buf = "";
  }
}

export class Store implements Holder {
  readonly disk: NodeDisk;
  private feedsBy = new Map<string, StoredFeed>();
  // ids of the messages appended in this run: prev and lipmaa links are checked against them
  // without reading the log back (a million ids: 32 MB)
  private ids = new Map<string, Ids>();
  // per feed, the ids of the last stretch of a log read back: a message held already is known by
  // its id (a gossip import of known data), and the stretch doubles while reading goes on in order,
  // up to 4096 ids, and to about a million ids (32 MB) for all feeds together
  private readBack = new Map<string, Ids>();
  private readers = new Map<string, ReadAhead>(); // one reading handle per log, kept open
  private blocked?: Set<string>;
  private forkIds?: Set<string>; // the ids of the forks' messages kept in FORKS.PGN

  /** What the store cannot read of its own logs: a log that cannot be opened is left as it is (never made again when it may hold records), the others are read. */
  readonly losses: Loss[] = [];

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.disk = new NodeDisk(dir);
    const lose = (path: string, reason: string, page: number | null = null) =>
      this.losses.push({ file: join(dir, path), page, depths: null, reason });
    const open = (path: string): Log | undefined => {
      try {
        const log = openLog(this.disk, path);
        if (log.broken) lose(path, log.broken.replace(path + ": ", ""));
        return log;
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (!code) throw e;
        lose(path, `cannot be read: ${(e as Error).message.replace(path + ": ", "")}`);
        // a log whose making was cut short holds nothing and may be made again (spec/card.md); any other is kept as it is
        if (code !== NO_HEADER || mayHoldRecords(this.disk, path, statSync(join(dir, path)).size))
          this.disk.keep.add(path);
      }
    };
    for (const name of readdirSync(dir))
      if (/^[0-9A-Z]{1,8}\.LOG$/.test(name)) {
        const log = open(name);
        if (!log) continue;
        const feed: StoredFeed = {
          author: log.author,
          runs: [log],
          loose: new Map(),
          dir: "R/" + name.slice(0, -4),
        };
        if (existsSync(join(dir, feed.dir)))
          for (const n of readdirSync(join(dir, feed.dir))) {
            const path = feed.dir + "/" + n,
              run = n === "LOOSE.LOG" || /^[0-9]{1,8}\.LOG$/.test(n) ? open(path) : undefined;
            if (!run) continue;
            if (n === "LOOSE.LOG") {
              feed.looseLog = run;
              each(
                run,
                this.reader(run),
                (text, depth) => feed.loose.set(depth, text),
                (page, why) => lose(path, why, page)
              );
            } else feed.runs.push(run);
          }
        feed.runs.sort((a, b) => a.first - b.first);
        this.feedsBy.set(log.author, feed);
      }
  }
  /** This store's identity, made (with its seed) on first use. */
  identity(): string {
    return Pigeon.identity(this.seed());
  }
  private seed(): Uint8Array {
    const f = join(this.dir, "SECRET.KEY");
    if (existsSync(join(this.dir, "PIGEON.CFG")))
      throw new Error(
        `${this.dir} is a logger's card (it has PIGEON.CFG): a secret key is never written to a card`
      );
    if (!existsSync(f)) writeFileSync(f, randomBytes(32), { mode: 0o600, flag: "wx" });
    return new Uint8Array(readFileSync(f));
  }
  /** The depth of the own feed's next message: one past the highest held. */
  next(): number {
    const ranges = this.ranges(this.identity());
    return ranges.length ? ranges[ranges.length - 1][1] + 1 : 0;
  }
  /**
   * Signs the next message of the store's own feed (body entries in wire
   * form) and appends it, as a logger appends a reading (src/ownfeed.ts):
   * returns its text once it is on the log. The blobs it names are kept
   * first. A draft the format refuses throws the core's reason ("draft: line
   * N: ...") and nothing is written.
   */
  post(kind: string, body: string[][], blobs: Uint8Array[] = []): string {
    const me = this.identity(),
      d = this.next(),
      l = Pigeon.lipmaa(d);
    // M6: prev and lipmaa name the messages held at depth - 1 and lipmaa(depth)
    const link = (at: number | null) => {
      if (at === null) return "NONE";
      const id = this.idAt(me, at);
      if (!id)
        throw new Error(
          `the own feed ${me} lacks depth ${at}, which message ${d} must link to: import it first`
        );
      return id;
    };
    const text = Pigeon.sign(this.seed(), {
      kind,
      prev: d ? link(d - 1) : "NONE",
      depth: d,
      lipmaa: link(l),
      body,
    }) as string;
    for (const b of blobs) this.putBlob(Pigeon.blobId(b), b); // before the message that names them
    const why = this.accept(me, d, idOf(Buffer.from(text, "utf8")), text);
    if (why) throw new Error(`the own feed's log cannot take message ${d}: ${why}`);
    return text;
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
    // the lowest range: a peer sent what lies above it gets every depth it lacks
    for (const author of this.feedsBy.keys()) {
      const r = this.ranges(author)[0];
      if (r) h.set(author, { first: r[0], last: r[1] });
    }
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
  /**
   * Notes a logger's clock as a pull found it (and, after --set-clock, as it
   * left it): a line of CLOCKS.TXT, so that its readings' times can be judged
   * later. Appended: a power cut can cost only the last line, which has no LF
   * then and is not read (a note after it begins on a line of its own).
   */
  noteClock(
    logger: string,
    seen: { hostMs: number; offsetMs: number },
    after?: { offsetMs: number }
  ) {
    const f = join(this.dir, "CLOCKS.TXT"),
      cut = existsSync(f) && statSync(f).size > 0 && !readFileSync(f, "latin1").endsWith("\n");
    appendFileSync(
      f,
      `${cut ? "\n" : ""}${logger} ${seen.hostMs} ${seen.offsetMs}${after ? ` set ${after.offsetMs}` : ""}\n`
    );
  }
  /** The clock notes of a logger, oldest first: when (host ms since 1970), the offset seen (board minus host, ms), and the offset left when it was set. */
  clocks(logger: string): { hostMs: number; offsetMs: number; setTo?: number }[] {
    const f = join(this.dir, "CLOCKS.TXT");
    if (!existsSync(f)) return [];
    const out: { hostMs: number; offsetMs: number; setTo?: number }[] = [];
    for (const l of readFileSync(f, "latin1").split("\n").slice(0, -1)) {
      const m = /^(@\S+) (\d+) (-?\d+)(?: set (-?\d+))?$/.exec(l); // the last piece is "" or a line a power cut broke off
      if (m && m[1] === logger)
        out.push({
          hostMs: Number(m[2]),
          offsetMs: Number(m[3]),
          ...(m[4] !== undefined ? { setTo: Number(m[4]) } : {}),
        });
    }
    return out;
  }
  /** The authors of the feeds held. */
  authors(): string[] {
    return [...this.feedsBy.keys()];
  }
  /** Whether any message of the feed is held (a log made for it may have stayed empty). */
  known(author: string) {
    const f = this.feedsBy.get(author);
    return !!f && (f.loose.size > 0 || f.runs.some((r) => r.next > r.first));
  }
  /** The depths held of a feed, as ascending ranges first..last. */
  ranges(author: string): [number, number][] {
    const f = this.feedsBy.get(author);
    if (!f) return [];
    return depthRanges([
      ...f.runs.filter((r) => r.next > r.first).map((r): [number, number] => [r.first, r.next - 1]),
      ...[...f.loose.keys()].map((d): [number, number] => [d, d]),
    ]);
  }
  holds(author: string, depth: number) {
    const f = this.feedsBy.get(author);
    return !!f && (f.loose.has(depth) || f.runs.some((r) => depth >= r.first && depth < r.next));
  }
  idAt(author: string, depth: number) {
    const id = this.ids.get(author)?.at(depth) ?? this.readBack.get(author)?.at(depth);
    if (id) return id;
    const f = this.feedsBy.get(author),
      run = f?.runs.find((r) => depth >= r.first && depth < r.next);
    if (!run) {
      const t = f?.loose.get(depth);
      return t === undefined ? undefined : idOf(Buffer.from(t, "utf8"));
    }
    const last = this.readBack.get(author),
      most = Math.max(16, Math.min(4096, Math.floor((1 << 20) / this.feedsBy.size)));
    const size = last && depth === last.start + last.n ? Math.min(most, 2 * last.size) : 16;
    const ids = new Ids(depth, size);
    try {
      each(
        run,
        this.reader(run),
        (text, d) => {
          if (d < depth) return;
          if (d !== ids.start + ids.n || ids.n === size) throw STOP;
          ids.push(idOf(Buffer.from(text, "utf8")));
        },
        undefined,
        depth
      );
    } catch (e) {
      if (e !== STOP) throw e;
    }
    this.readBack.set(author, ids);
    return ids.at(depth);
  }
  prevAt(author: string, depth: number) {
    return this.link(author, depth, "prev");
  }
  lipmaaAt(author: string, depth: number) {
    return this.link(author, depth, "lipmaa");
  }
  private link(author: string, depth: number, name: "prev" | "lipmaa") {
    const t = this.text(author, depth);
    return t === undefined ? undefined : new RegExp(`\n${name} (\\S+)\n`).exec(t)![1];
  }
  /**
   * Takes a message the chain rules accepted: onto the run it extends, or
   * with a loose message before it into a new run, or else loose. A run that
   * reaches a loose message takes it in too. Returns "" when it is held, or
   * why the logs cannot take it (nothing of it is then held); throws when
   * writing fails.
   */
  accept(author: string, depth: number, id: string, text: string): string {
    let f = this.feedsBy.get(author);
    if (!f) {
      // the feed's first log, kept only when the message went into it
      const path = this.pathFor(author);
      createLog(this.disk, path, author, PAGES, (Math.random() * 4294967296) >>> 0, depth);
      const log = openLog(this.disk, path),
        why = this.append(log, text);
      if (why) {
        log.a.close();
        log.b.close();
        unlinkSync(join(this.dir, path));
        return why;
      }
      this.feedsBy.set(author, {
        author,
        runs: [log],
        loose: new Map(),
        dir: "R/" + path.slice(0, -4),
      });
      this.remember(author, depth, id);
      return "";
    }
    let run =
      f.runs.find((r) => r.next === depth && r.next > r.first) ??
      f.runs.find((r) => r.next === depth);
    if (!run && f.loose.has(depth - 1)) {
      run = this.newRun(f, depth - 1);
      this.append(run, f.loose.get(depth - 1)!); // held already, so a new log takes it
    }
    if (run) {
      const took = this.extend(f, run, text);
      if (typeof took === "string") return took;
      run = took;
      while (f.loose.has(run.next) && !f.runs.some((r) => r.first === run!.next)) {
        const next = this.extend(f, run, f.loose.get(run.next)!);
        if (typeof next === "string") break; // it stays loose, held as before
        run = next;
      }
    } else {
      if (!f.looseLog) {
        createLog(
          this.disk,
          f.dir + "/LOOSE.LOG",
          author,
          RUN_PAGES,
          (Math.random() * 4294967296) >>> 0,
          depth
        );
        f.looseLog = openLog(this.disk, f.dir + "/LOOSE.LOG");
      }
      f.looseLog.next = depth; // the loose log takes any depth, in any order
      const why = this.append(f.looseLog, text);
      if (why) return why;
      f.loose.set(depth, text);
    }
    this.remember(author, depth, id);
    return "";
  }
  /** Notes the id of a message appended in this run. */
  private remember(author: string, depth: number, id: string) {
    let ids = this.ids.get(author);
    if (!ids || depth !== ids.start + ids.n) this.ids.set(author, (ids = new Ids(depth)));
    ids.push(id);
  }
  /** Appends a message to a run, or when the run is full, to a new run after it: the run that took it, or why none could. */
  private extend(f: StoredFeed, run: Log, text: string): Log | string {
    const why = this.append(run, text);
    if (why !== FULL) return why || run;
    const next = this.newRun(f, run.next);
    return this.append(next, text) || next;
  }
  /** Appends a message to a log: "" when it is on the log, FULL, or why no log can take it. */
  private append(log: Log, text: string): string {
    const n = encode(text); // before reading enc.b: encoding may replace the buffer
    this.readers.get(log.path)?.forget();
    try {
      return appendMessage(log, enc.b, n);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === LOG_FULL || code === TOO_LARGE) return FULL;
      throw e;
    }
  }
  private newRun(f: StoredFeed, first: number): Log {
    const path = `${f.dir}/${f.runs.length}.LOG`;
    mkdirSync(join(this.dir, f.dir), { recursive: true });
    createLog(this.disk, path, f.author, RUN_PAGES, (Math.random() * 4294967296) >>> 0, first);
    const log = openLog(this.disk, path);
    f.runs.push(log);
    f.runs.sort((a, b) => a.first - b.first);
    return log;
  }
  /** Keeps a fork's message in FORKS.PGN, once. */
  fork(_author: string, _depth: number, text: string) {
    const id = idOf(Buffer.from(text, "utf8"));
    this.forkIds ??= new Set(this.forks().map((t) => idOf(Buffer.from(t, "utf8"))));
    if (this.forkIds.has(id)) return;
    appendFileSync(join(this.dir, "FORKS.PGN"), text + "\n\n");
    this.forkIds.add(id);
  }
  forks(): string[] {
    const f = join(this.dir, "FORKS.PGN");
    return existsSync(f) ? splitPgn(readFileSync(f, "utf8"), f).map((m) => m.text) : [];
  }
  /** Keeps a blob under B/ (its id checked by the caller), whole or not at all: a power cut leaves no part of it. */
  putBlob(id: string, bytes: Uint8Array) {
    const path = join(this.dir, blobPath(id.slice(1, 53)));
    if (existsSync(path)) return;
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path + ".NEW", bytes);
    renameSync(path + ".NEW", path);
  }
  /** A blob's bytes, or undefined when the store lacks it; throws when the bytes held do not hash to the id. */
  blob(id: string): Buffer | undefined {
    const path = join(this.dir, blobPath(id.slice(1, 53)));
    if (!existsSync(path)) return undefined;
    const bytes = readFileSync(path);
    if (Pigeon.blobId(bytes) !== id) throw new Error(`${path}: its bytes do not hash to ${id}`);
    return bytes;
  }
  /** The text of the message held at depth, if any. */
  text(author: string, depth: number): string | undefined {
    const f = this.feedsBy.get(author);
    if (!f) return undefined;
    for (const r of f.runs)
      if (depth >= r.first && depth < r.next) return find(r, this.reader(r), depth);
    return f.loose.get(depth);
  }
  /** Each message held of a feed in ascending depth, from depth from on, without holding them all. */
  each(author: string, fn: (text: string, depth: number) => void, from = 0) {
    const f = this.feedsBy.get(author);
    if (!f) return;
    let last = -1;
    const loose = [...f.loose.keys()].sort((a, b) => a - b);
    let i = 0;
    const give = (text: string, d: number) => {
      if (d > last && d >= from) (fn(text, d), (last = d));
    };
    for (const r of f.runs) {
      for (; i < loose.length && loose[i] < r.first; i++) give(f.loose.get(loose[i])!, loose[i]);
      if (r.next > Math.max(r.first, from)) each(r, this.reader(r), give);
    }
    for (; i < loose.length; i++) give(f.loose.get(loose[i])!, loose[i]);
  }
  private reader(log: Log): File {
    let r = this.readers.get(log.path);
    if (!r) this.readers.set(log.path, (r = new ReadAhead(this.disk.openFile(log.path, "r")!)));
    return r;
  }
  /** An 8.3 name for a new feed's log: the key's first 8 characters, or 7 and a digit if those are taken. */
  private pathFor(author: string): string {
    const taken = new Set([...this.feedsBy.values()].map((f) => f.runs[0].path));
    const k = author.slice(1, 9);
    if (!taken.has(k + ".LOG")) return k + ".LOG";
    for (let i = 0; i < 10; i++)
      if (!taken.has(k.slice(0, 7) + i + ".LOG")) return k.slice(0, 7) + i + ".LOG";
    throw new Error(`no free log name for ${author}`);
  }
}
