// The collector's tool: `pigeon <command>`.
import { writeFileSync } from "node:fs";
import { formatHave, formatRanges, mergeHave } from "../host/have";
import { checkReceipts, readReceipt, receiptDepths, type Receipt } from "../host/receipt";
import { progress } from "./progress";
import { readHave, readInput } from "./files";
import { feedsToExport, exportBundle } from "./export";
import { importInto } from "./import";
import { Store } from "./store";
import { svgPlot } from "./plot";
import { body, field } from "../host/message";
import {
  CSV_HEADER,
  csvRows,
  isNumeric,
  lpLine,
  readings,
  TimeRows,
  unquote,
  wideHeader,
  wideRow,
} from "../host/readings";
import { summary, verifyInput, type Report } from "../host/chain";
import { nodeChecks } from "./checks";
import { blobFile, post } from "./post";
import { Pigeon } from "./core";
import { listLoggers, openLine, pullInto } from "./pull";

const HELP = `pigeon: Pigeon cards, bundles and feeds, offline

usage: pigeon <command> [options]

commands:
  verify <path> [--json]   check every message and blob of a bundle directory, a messages.pgn,
                           a card directory or a FAT16 card image; exit 0 when all verified,
                           1 when anything was refused, 2 on usage or I/O errors
  import <path> [--receipt] [--cores N]  verify and keep what is valid in the store; nothing held
                           is lost, a fork is kept as evidence; importing twice changes nothing.
                           --receipt: sign a receipt per feed taken onto the own feed; --cores:
                           the threads that check signatures (default: every core)
  pull [--port P] [--latest N] [--set-clock] [--baud B] [--json]
                           what the store lacks of a logger's feed, over its console: P is a serial
                           port (/dev/ttyACM0, COM3), tcp://localhost:port or ble:<address or name>;
                           verified and kept as an import of its card; a pull cut off resumes.
                           Reports the logger's clock against this computer's (kept in the store);
                           --set-clock sets it. Without --port: the loggers this computer can see
  feeds [@id]              the feeds in the store: author, depths held (gaps show), last time, forks;
                           a pulled logger's clock against this computer's; with @id,
                           also the receipts held about that feed
  log [@id]                the messages of one feed (or all), in depth order
  csv [@id] [--key K] [--wide]  readings as CSV: feed,depth,time,key,value; --wide: a row per
                           feed and time, a column per key (feed,time,temp,...), for spreadsheets
  lines [@id] [--key K]    InfluxDB line protocol: a line per feed, kind and time, the kind as
                           measurement, the feed as tag "feed", values as fields (decimal numbers
                           as floats, the rest strings), the time in nanoseconds
  export <dir> [--for @peer] [--since HAVE-FILE] [--latest N] [--all]
                           a bundle (messages.pgn, blobs, 8.3 layout) of the own feed and every
                           followed feed (--all: every feed held), only what the peer lacks: what
                           @peer's bundles said it holds, or its have-file; it carries HAVE.TXT.
                           --latest N: each feed's newest N messages and their certificate path
                           (lipmaa links), checkable without the history between
  have [FILE]              what this store holds, as a have-file for a peer's --since
  identity                 this store's identity (made on first use; its seed stays in the store)
  post KIND key=value ... [--file K=PATH] [--strict]
                           sign a message onto the store's own feed: values are strings ("..." as
                           they are), ids and NONE as themselves; --file keeps a blob and puts its
                           id under K. A value with ":" or a depth of 8 digits is written with a
                           warning (the first Pigeon client cannot read it), refused with --strict
  blob add FILE | blob get &id   keep a blob (at most 360,000 bytes; prints its id) | write one to stdout
  follow|unfollow|block @id  which feeds this store follows, and refuses (import and export)
  plot [@id] --key K --out FILE.svg   a numeric reading over time, as SVG
  help                     this text

options: --store DIR (or PIGEON_STORE; default ./pigeon-store)
`;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
}
/** A report as verify and import print it: refusals and losses, one a line, then the counts. */
function printReport(r: Report, json: boolean) {
  if (json) process.stdout.write(JSON.stringify(summary(r)) + "\n");
  else {
    for (const f of r.refusals)
      process.stdout.write(
        `${f.file}${f.line ? ":" + f.line : ""}: ${f.author ?? ""}${f.depth !== null ? " depth " + f.depth : ""}: ${f.reason}\n`
      );
    for (const l of r.losses) {
      const depths = l.depths ? ` depths ${l.depths[0]}..${l.depths[1] ?? "(the end)"}` : "";
      process.stdout.write(
        `${l.file}${l.page !== null ? " page " + l.page : ""}: lost${depths}: ${l.reason}\n`
      );
    }
    process.stdout.write(
      `messages: ${r.messages.accepted} accepted, ${r.messages.refused} refused; blobs: ${r.blobs.accepted} accepted, ${r.blobs.refused} refused${r.losses.length ? `; ${r.losses.length} losses (not read)` : ""}\n`
    );
  }
}
/** verify's and import's exit status: 1 when anything was refused or could not be read. */
const verdict = (r: Report) => (r.messages.refused || r.blobs.refused || r.losses.length ? 1 : 0);
/** Output gathered into writes of about 64 KB: a write per line would be slow for a million lines. */
function writes(stream: NodeJS.WriteStream) {
  let buf: string[] = [],
    size = 0;
  const flush = () => (stream.write(buf.join("")), (buf = []), (size = 0));
  return {
    write(t: string) {
      buf.push(t);
      if ((size += t.length) >= 1 << 16) flush();
    },
    end: flush,
  };
}

/**
 * The receipts the store holds about a feed (every feed held is read), by
 * writer, each checked against the store's own copy of the feed (R2, R3):
 * who took which depths when, and from whom.
 */
function printReceipts(s: Store, feed: string) {
  const by = new Map<string, Receipt[]>(),
    date = (t: number) => new Date(t * 1000).toISOString();
  let n = 0;
  for (const writer of s.authors())
    s.each(writer, (text, depth) => {
      if (!text.includes("\nkind receipt\n") || !text.includes(`\nfeed:${feed}\n`)) return;
      const r = readReceipt(text);
      if (typeof r === "string")
        return void process.stdout.write(`  ${writer} #${depth}: not a receipt: ${r}\n`);
      if (!by.has(writer)) by.set(writer, []);
      by.get(writer)!.push(r!);
      n++;
    });
  process.stdout.write(`receipts about it: ${n} by ${by.size} stores\n`);
  for (const [writer, receipts] of by) {
    for (const r of receipts)
      process.stdout.write(
        `  ${writer} #${r.at} ${date(r.t)} depths ${formatRanges(receiptDepths(r))} from ${r.from ?? "-"}\n`
      );
    const c = checkReceipts(receipts, s.ranges(feed), (d) => s.idAt(feed, d));
    for (const p of c.problems) process.stdout.write(`  ${writer}: ${p}\n`);
    if (writer === s.identity() && c.unnamed.length)
      process.stdout.write(`  held without a receipt of this store: ${formatRanges(c.unnamed)}\n`);
  }
}
/** What fn makes, or undefined when the format refuses it (said on stderr); a file that cannot be read throws (exit 2). */
function refused<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if ((e as { code?: string }).code) throw e;
    process.stderr.write(`pigeon: refused, nothing written: ${(e as Error).message}\n`);
  }
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "help" || cmd === "--help" || cmd === "-h") {
    process.stdout.write(HELP);
    return cmd ? 0 : 2;
  }
  const args = [...rest];
  const store = () => {
    const s = new Store(option(args, "--store") ?? process.env.PIGEON_STORE ?? "pigeon-store");
    for (const l of s.losses)
      process.stderr.write(
        `pigeon: ${l.file}${l.page !== null ? " page " + l.page : ""}: ${l.reason}\n`
      );
    return s;
  };
  if (cmd === "verify") {
    const json = args.includes("--json"),
      paths = args.filter((a) => a !== "--json");
    if (paths.length !== 1) {
      process.stderr.write("usage: pigeon verify <path> [--json]\n");
      return 2;
    }
    const r = verifyInput(await readInput(paths[0]), nodeChecks);
    printReport(r, json);
    return verdict(r);
  }
  if (cmd === "import") {
    const s = store(),
      json = args.includes("--json"),
      receipt = args.includes("--receipt"),
      coresArg = option(args, "--cores"),
      paths = args.filter((a) => a !== "--json" && a !== "--receipt");
    const cores = coresArg === undefined ? undefined : Number(coresArg);
    if (paths.length !== 1 || (cores !== undefined && !(Number.isInteger(cores) && cores > 0))) {
      process.stderr.write(
        "usage: pigeon import <path> [--json] [--receipt] [--cores N] [--store DIR]\n"
      );
      return 2;
    }
    const input = await readInput(paths[0]),
      bar = progress("importing", "messages"),
      read = input.read;
    let done: ReturnType<typeof importInto>;
    try {
      done = importInto(s, input, {
        onProgress: (n) => bar.update(n, read?.total ? read.bytes / read.total : undefined),
        receipt: receipt ? { t: Date.now() / 1000 } : undefined,
        cores,
      });
    } finally {
      bar.end(); // the error of a store that fails (exit 2) goes on its own line
    }
    const { report: r, badHave } = done;
    if (badHave)
      process.stderr.write(`pigeon: ${badHave.message} (what the peer holds is not remembered)\n`);
    printReport(r, json);
    if (receipt && !json)
      process.stdout.write(`receipts: ${done.receipts.length} signed onto ${s.identity()}\n`);
    return verdict(r);
  }
  if (cmd === "pull") {
    const port = option(args, "--port"),
      latestArg = option(args, "--latest"),
      baudArg = option(args, "--baud"),
      json = args.includes("--json");
    const latest = latestArg === undefined ? undefined : Number(latestArg),
      baud = baudArg === undefined ? 115200 : Number(baudArg);
    const s = port === undefined ? void option(args, "--store") : store(); // listing the loggers needs no store
    if (
      (latest !== undefined && !(Number.isInteger(latest) && latest > 0)) ||
      !(Number.isInteger(baud) && baud > 0) ||
      args.some((a) => a !== "--json" && a !== "--set-clock")
    ) {
      process.stderr.write(
        "usage: pigeon pull [--port P] [--latest N] [--set-clock] [--baud B] [--json] [--store DIR]\n"
      );
      return 2;
    }
    if (port === undefined) {
      const seen = await listLoggers({ ble: !process.env.PIGEON_NO_BLE });
      if (json) process.stdout.write(JSON.stringify(seen) + "\n");
      for (const x of json ? [] : seen) {
        const l = x.logger,
          who = !l
            ? ""
            : "error" in l
              ? `: no logger answered (${l.error})`
              : `: logger ${l.identity}, depths ${l.first}..${l.next - 1}, clock ${(l.offsetMs / 1000).toFixed(1)} s off`;
        process.stdout.write(`${x.port}  ${x.what}${who}\n`);
      }
      if (!seen.length && !json)
        process.stdout.write("no serial ports or Bluetooth LE loggers seen\n");
      return 0;
    }
    const line = await openLine(port, baud),
      bar = progress("pulling", "messages"),
      t0 = Date.now();
    let done: Awaited<ReturnType<typeof pullInto>>;
    try {
      done = await pullInto(s!, line, {
        latest,
        setClock: args.includes("--set-clock"),
        progress: (n, of) => bar.update(n, n / Math.max(1, of)),
      });
    } catch (e) {
      bar.end();
      process.stderr.write(
        `pigeon: ${port}: ${(e as Error).message}; what arrived is kept: pull again to go on from there\n`
      );
      return 1;
    } finally {
      await line.close();
    }
    bar.end();
    const { pulled: p, report: r } = done,
      secs = (Date.now() - t0) / 1000;
    const ahead = (ms: number) =>
      `${Math.abs(ms / 1000).toFixed(3)} s ${ms >= 0 ? "ahead of" : "behind"} this computer's`;
    if (json)
      process.stdout.write(
        JSON.stringify({
          ...summary(r),
          logger: p.identity,
          depths: [p.first, p.next - 1],
          clock: p.clock,
          ...(p.clockAfter ? { clockAfter: p.clockAfter } : {}),
          pulled: p.messages,
          bytes: p.bytes,
          seconds: secs,
          retried: p.retried,
        }) + "\n"
      );
    else {
      printReport(r, false);
      process.stdout.write(
        `logger ${p.identity} on ${port}: holds depths ${p.first}..${p.next - 1}\n`
      );
      process.stdout.write(
        `clock: ${ahead(p.clock.offsetMs)}${p.clockAfter ? `; set, now ${ahead(p.clockAfter.offsetMs)}` : ""} (kept in the store)\n`
      );
      process.stdout.write(
        `pulled ${p.messages} messages in ${secs.toFixed(1)} s (${p.messages ? Math.round(p.bytes / p.messages) : 0} bytes a message over the line)${p.retried ? `, ${p.retried} answers asked for again` : ""}\n`
      );
    }
    return verdict(r);
  }
  if (cmd === "feeds") {
    const s = store(),
      forks = s.forks(),
      who = args.find((a) => a.startsWith("@"));
    if (who && !s.known(who)) {
      process.stderr.write(`pigeon: no feed ${who} in the store\n`);
      return 2;
    }
    for (const author of s.authors().filter((a) => !who || a === who)) {
      const ranges = s.ranges(author),
        top = ranges.length ? ranges[ranges.length - 1][1] : -1;
      const last = top >= 0 ? s.text(author, top) : undefined;
      const tv = last && body(last).find(([k]) => k === "t")?.[1],
        t = tv ? Number(unquote(tv)) : NaN;
      const nForks = forks.filter((f) => field(f, "author") === author).length;
      const clock = s.clocks(author).pop(),
        off = clock && (clock.setTo ?? clock.offsetMs); // the last pull's word on the logger's clock
      process.stdout.write(
        `${author} depths ${formatRanges(ranges) || "none"} last ${isNaN(t) ? "-" : new Date(t * 1000).toISOString()} forks ${nForks}${clock ? ` clock ${off! >= 0 ? "+" : ""}${(off! / 1000).toFixed(1)}s at ${new Date(clock.hostMs).toISOString()}` : ""}\n`
      );
    }
    if (who) printReceipts(s, who);
    return 0;
  }
  if (cmd === "log" || cmd === "csv" || cmd === "lines") {
    const s = store(),
      key = option(args, "--key"),
      wide = args.includes("--wide"),
      who = args.find((a) => a.startsWith("@"));
    const feeds = s.authors().filter((a) => !who || a === who);
    if (who && !feeds.length) {
      process.stderr.write(`pigeon: no feed ${who} in the store\n`);
      return 2;
    }
    const out = writes(process.stdout),
      isReading = (text: string) => field(text, "kind") === "reading";
    if (cmd === "log")
      for (const author of feeds) s.each(author, (text) => out.write(text + "\n\n"));
    else if (cmd === "lines") {
      // a series per feed and kind: its readings at one time make one point
      const rows = new TimeRows((series, t, values) =>
        out.write(
          lpLine(
            series.slice(series.indexOf(" ") + 1),
            series.slice(0, series.indexOf(" ")),
            t,
            values
          )
        )
      );
      for (const author of feeds)
        s.each(author, (text) => rows.add(author + " " + field(text, "kind"), text, key));
      rows.end();
    } else if (wide) {
      // the columns first: every key of the readings, in the order met (a pass that keeps only the keys)
      const column = new Map<string, number>();
      for (const author of feeds)
        s.each(author, (text) => {
          if (isReading(text))
            for (const [, k] of readings(text))
              if ((!key || k === key) && !column.has(k)) column.set(k, column.size);
        });
      out.write(wideHeader([...column.keys()]));
      const rows = new TimeRows((feed, t, values) => out.write(wideRow(feed, t, values, column)));
      for (const author of feeds)
        s.each(author, (text) => isReading(text) && rows.add(author, text, key));
      rows.end();
    } else {
      out.write(CSV_HEADER);
      for (const author of feeds)
        s.each(author, (text, depth) => out.write(csvRows(author, depth, text, key)));
    }
    out.end();
    return 0;
  }
  if (cmd === "identity") {
    process.stdout.write(store().identity() + "\n");
    return 0;
  }
  if (cmd === "post") {
    const s = store(),
      strict = args.includes("--strict"),
      [kind, ...entries] = args.filter((a) => a !== "--strict");
    if (!kind || kind === "--file") {
      process.stderr.write(
        "usage: pigeon post KIND key=value ... [--file K=PATH] [--strict] [--store DIR]\n"
      );
      return 2;
    }
    const done = refused(() => post(s, kind, entries, strict));
    if (!done) return 1;
    for (const w of done.warnings) process.stderr.write(`pigeon: warning: ${w}\n`);
    process.stdout.write(Pigeon.id(done.text) + "\n");
    return 0;
  }
  if (cmd === "blob") {
    const s = store(),
      [sub, arg] = args;
    if (
      (sub !== "add" && sub !== "get") ||
      !arg ||
      (sub === "get" && !/^&[0-9A-Z]{52}\.sha256$/.test(arg))
    ) {
      process.stderr.write(
        "usage: pigeon blob add FILE | pigeon blob get &<52 base32>.sha256 [--store DIR]\n"
      );
      return 2;
    }
    if (sub === "add") {
      const bytes = refused(() => blobFile(arg));
      if (!bytes) return 1;
      const id = Pigeon.blobId(bytes);
      s.putBlob(id, bytes);
      process.stdout.write(id + "\n");
      return 0;
    }
    const bytes = s.blob(arg);
    if (!bytes) {
      process.stderr.write(`pigeon: no blob ${arg} in the store\n`);
      return 1;
    }
    process.stdout.write(bytes);
    return 0;
  }
  if (cmd === "have") {
    const s = store(),
      text = formatHave(s.identity(), s.holdings());
    if (args[0]) writeFileSync(args[0], text);
    else process.stdout.write(text);
    return 0;
  }
  if (cmd === "follow" || cmd === "unfollow" || cmd === "block") {
    const s = store(),
      who = args[0];
    if (!who || !/^@[0-9A-Z]{52}\.ed25519$/.test(who)) {
      process.stderr.write(`usage: pigeon ${cmd} @<52 base32>.ed25519\n`);
      return 2;
    }
    const follows = s.list("FOLLOWS.TXT"),
      blocks = s.list("BLOCKS.TXT");
    if (cmd === "follow") (follows.add(who), blocks.delete(who));
    if (cmd === "unfollow") follows.delete(who);
    if (cmd === "block") (blocks.add(who), follows.delete(who));
    s.setList("FOLLOWS.TXT", follows);
    s.setList("BLOCKS.TXT", blocks);
    return 0;
  }
  if (cmd === "plot") {
    const s = store(),
      key = option(args, "--key"),
      out = option(args, "--out"),
      who = args.find((a) => a.startsWith("@"));
    if (!key || !out) {
      process.stderr.write("usage: pigeon plot [@id] --key K --out FILE.svg\n");
      return 2;
    }
    const series: { author: string; points: [number, number][] }[] = [];
    for (const author of s.authors().filter((a) => !who || a === who)) {
      const points: [number, number][] = [];
      s.each(author, (text) => {
        if (field(text, "kind") === "reading")
          for (const [t, k, v] of readings(text))
            if (k === key && isNumeric(v)) points.push([t, Number(v)]);
      });
      if (points.length) series.push({ author, points });
    }
    if (!series.length) {
      process.stderr.write(`pigeon: no numeric readings of ${key} in the store\n`);
      return 1;
    }
    writeFileSync(out, svgPlot(key, series));
    process.stdout.write(
      `${out}: ${series.reduce((n, x) => n + x.points.length, 0)} points of ${key}\n`
    );
    return 0;
  }
  if (cmd === "export") {
    const s = store(),
      peer = option(args, "--for"),
      since = option(args, "--since"),
      latestArg = option(args, "--latest"),
      all = args.includes("--all"),
      dir = args.filter((a) => a !== "--all")[0];
    const latest = latestArg === undefined ? undefined : Number(latestArg);
    if (
      !dir ||
      (peer !== undefined && !/^@[0-9A-Z]{52}\.ed25519$/.test(peer)) ||
      (latest !== undefined && !(Number.isInteger(latest) && latest > 0))
    ) {
      process.stderr.write(
        "usage: pigeon export <dir> [--for @peer] [--since HAVE-FILE] [--latest N] [--all] [--store DIR]\n"
      );
      return 2;
    }
    // what the peer holds: what it told this store in its bundles, and the have-file given
    let held = peer ? s.peer(peer) : undefined;
    if (since) {
      const have = readHave(since);
      held = held ? mergeHave(held, have.held) : have.held;
    }
    const feeds = feedsToExport(s, all);
    const bar = progress("exporting", "messages");
    const r = exportBundle(s, dir, feeds, held, latest, (n, f) => bar.update(n, f));
    bar.end();
    const left = s.authors().length - feeds.length;
    process.stdout.write(
      `exported ${r.messages} messages of ${r.feeds} feeds and ${r.blobs} blobs to ${dir}${left && !all ? `; ${left} feeds held but not followed stay (pigeon follow @id, or --all)` : ""}\n`
    );
    return 0;
  }
  process.stderr.write(`pigeon: unknown command ${cmd}\n${HELP}`);
  return 2;
}

// Output to a pipe is written at once, as to a file: a million CSV rows are not queued in memory,
// and none is lost at exit. (Node's own streams do this for files and terminals; for pipes it
// needs the handle's setBlocking.)
for (const s of [process.stdout, process.stderr])
  (s as unknown as { _handle?: { setBlocking?: (b: boolean) => void } })._handle?.setBlocking?.(
    true
  );
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`pigeon: ${e instanceof Error ? e.message : e}\n`);
    process.exit(2);
  }
);
