// The collector's tool: `pigeon <command>`.
import { writeFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { formatHave, mergeHave } from "../host/have";
import { progress } from "./progress";
import { readHave, readInput } from "./files";
import { feedsToExport, exportBundle } from "./export";
import { importInto } from "./import";
import { Store } from "./store";
import { svgPlot } from "./plot";
import { body, field } from "../host/message";
import { CSV_HEADER, csvRows, isNumeric, readings, unquote } from "../host/readings";
import { summary, verifyInput, type Report } from "../host/chain";
import { nodeChecks } from "./checks";
import { listLoggers, openLine, pullInto } from "./pull";

const HELP = `pigeon: Pigeon cards, bundles and feeds, offline

usage: pigeon <command> [options]

commands:
  verify <path> [--json]   check every message and blob of a bundle directory, a messages.pgn,
                           a card directory or a FAT16 card image; exit 0 when all verified,
                           1 when anything was refused, 2 on usage or I/O errors
  import <path>            verify and keep what is valid in the store; nothing held is lost,
                           a fork is kept as evidence; importing twice changes nothing
  pull [--port P] [--latest N] [--set-clock] [--baud B] [--json]
                           what the store lacks of a logger's feed, over its console: P is a serial
                           port (/dev/ttyACM0, COM3), tcp://host:port or ble:<address or name>;
                           verified and kept as an import of its card; a pull cut off resumes.
                           Reports the logger's clock against this computer's (kept in the store);
                           --set-clock sets it. Without --port: the loggers this computer can see
  feeds                    the feeds in the store: author, depths held (gaps show), last time, forks,
                           and a pulled logger's clock against this computer's
  log [@id]                the messages of one feed (or all), in depth order
  csv [@id] [--key K]      readings as CSV: feed,depth,time,key,value
  export <dir> [--for @peer] [--since HAVE-FILE] [--latest N] [--all]
                           a bundle (messages.pgn, blobs, 8.3 layout) of the own feed and every
                           followed feed (--all: every feed held), only what the peer lacks: what
                           @peer's bundles said it holds, or its have-file; it carries HAVE.TXT.
                           --latest N: each feed's newest N messages and their certificate path
                           (lipmaa links), checkable without the history between
  have [FILE]              what this store holds, as a have-file for a peer's --since
  identity                 this store's identity (made on first use; its seed stays in the store)
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
    for (const f of r.refusals) process.stdout.write(`${f.file}${f.line ? ":" + f.line : ""}: ${f.author ?? ""}${f.depth !== null ? " depth " + f.depth : ""}: ${f.reason}\n`);
    for (const l of r.losses) {
      const depths = l.depths ? ` depths ${l.depths[0]}..${l.depths[1] ?? "(the end)"}` : "";
      process.stdout.write(`${l.file}${l.page !== null ? " page " + l.page : ""}: lost${depths}: ${l.reason}\n`);
    }
    process.stdout.write(`messages: ${r.messages.accepted} accepted, ${r.messages.refused} refused; blobs: ${r.blobs.accepted} accepted, ${r.blobs.refused} refused${r.losses.length ? `; ${r.losses.length} losses (not read)` : ""}\n`);
  }
}
/** verify's and import's exit status: 1 when anything was refused or could not be read. */
const verdict = (r: Report) => (r.messages.refused || r.blobs.refused || r.losses.length ? 1 : 0);
/** Output gathered into writes of about 64 KB: a write per line would be slow for a million lines. */
function lines(stream: NodeJS.WriteStream) {
  let buf: string[] = [], size = 0;
  const flush = () => (stream.write(buf.join("")), (buf = []), (size = 0));
  return {
    write(t: string) {
      buf.push(t);
      if ((size += t.length) >= 1 << 16) flush();
    },
    end: flush,
  };
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
    for (const l of s.losses) process.stderr.write(`pigeon: ${l.file}${l.page !== null ? " page " + l.page : ""}: ${l.reason}\n`);
    return s;
  };
  if (cmd === "verify") {
    const json = args.includes("--json"), paths = args.filter((a) => a !== "--json");
    if (paths.length !== 1) {
      process.stderr.write("usage: pigeon verify <path> [--json]\n");
      return 2;
    }
    const r = verifyInput(await readInput(paths[0]), nodeChecks);
    printReport(r, json);
    return verdict(r);
  }
  if (cmd === "import") {
    const s = store(), json = args.includes("--json"), paths = args.filter((a) => a !== "--json");
    if (paths.length !== 1) {
      process.stderr.write("usage: pigeon import <path> [--json] [--store DIR]\n");
      return 2;
    }
    const input = await readInput(paths[0]), bar = progress("importing", "messages"), read = input.read;
    let done: ReturnType<typeof importInto>;
    try {
      done = importInto(s, input, (n) => bar.update(n, read?.total ? read.bytes / read.total : undefined));
    } finally {
      bar.end(); // the error of a store that fails (exit 2) goes on its own line
    }
    const { report: r, badHave } = done;
    if (badHave) process.stderr.write(`pigeon: ${badHave.message} (what the peer holds is not remembered)\n`);
    printReport(r, json);
    return verdict(r);
  }
  if (cmd === "pull") {
    const port = option(args, "--port"), latestArg = option(args, "--latest"), baudArg = option(args, "--baud"), json = args.includes("--json");
    const latest = latestArg === undefined ? undefined : Number(latestArg), baud = baudArg === undefined ? 115200 : Number(baudArg);
    const s = port === undefined ? void option(args, "--store") : store(); // listing the loggers needs no store
    if ((latest !== undefined && !(Number.isInteger(latest) && latest > 0)) || !(Number.isInteger(baud) && baud > 0) || args.some((a) => a !== "--json" && a !== "--set-clock")) {
      process.stderr.write("usage: pigeon pull [--port P] [--latest N] [--set-clock] [--baud B] [--json] [--store DIR]\n");
      return 2;
    }
    if (port === undefined) {
      const seen = await listLoggers({ ble: !process.env.PIGEON_NO_BLE });
      if (json) process.stdout.write(JSON.stringify(seen) + "\n");
      for (const x of json ? [] : seen) {
        const l = x.logger, who = !l ? "" : "error" in l ? `: no logger answered (${l.error})` : `: logger ${l.identity}, depths ${l.first}..${l.next - 1}, clock ${(l.offsetMs / 1000).toFixed(1)} s off`;
        process.stdout.write(`${x.port}  ${x.what}${who}\n`);
      }
      if (!seen.length && !json) process.stdout.write("no serial ports or Bluetooth LE loggers seen\n");
      return 0;
    }
    const line = await openLine(port, baud), bar = progress("pulling", "messages"), t0 = Date.now();
    let done: Awaited<ReturnType<typeof pullInto>>;
    try {
      done = await pullInto(s!, line, { latest, setClock: args.includes("--set-clock"), progress: (n, of) => bar.update(n, n / Math.max(1, of)) });
    } catch (e) {
      bar.end();
      process.stderr.write(`pigeon: ${port}: ${(e as Error).message}; what arrived is kept: pull again to go on from there\n`);
      return 1;
    } finally {
      await line.close();
    }
    bar.end();
    const { pulled: p, report: r } = done, secs = (Date.now() - t0) / 1000;
    const ahead = (ms: number) => `${Math.abs(ms / 1000).toFixed(3)} s ${ms >= 0 ? "ahead of" : "behind"} this computer's`;
    if (json) process.stdout.write(JSON.stringify({ ...summary(r), logger: p.identity, depths: [p.first, p.next - 1], clock: p.clock, ...(p.clockAfter ? { clockAfter: p.clockAfter } : {}), pulled: p.messages, bytes: p.bytes, seconds: secs, retried: p.retried }) + "\n");
    else {
      printReport(r, false);
      process.stdout.write(`logger ${p.identity} on ${port}: holds depths ${p.first}..${p.next - 1}\n`);
      process.stdout.write(`clock: ${ahead(p.clock.offsetMs)}${p.clockAfter ? `; set, now ${ahead(p.clockAfter.offsetMs)}` : ""} (kept in the store)\n`);
      process.stdout.write(`pulled ${p.messages} messages in ${secs.toFixed(1)} s (${p.messages ? Math.round(p.bytes / p.messages) : 0} bytes a message over the line)${p.retried ? `, ${p.retried} answers asked for again` : ""}\n`);
    }
    return verdict(r);
  }
  if (cmd === "feeds") {
    const s = store(), forks = s.forks();
    for (const author of s.authors()) {
      const ranges = s.ranges(author), top = ranges.length ? ranges[ranges.length - 1][1] : -1;
      const last = top >= 0 ? s.text(author, top) : undefined;
      const tv = last && body(last).find(([k]) => k === "t")?.[1], t = tv ? Number(unquote(tv)) : NaN;
      const nForks = forks.filter((f) => field(f, "author") === author).length;
      const depths = ranges.map(([a, b]) => (a === b ? `${a}` : `${a}..${b}`)).join(",");
      const clock = s.clocks(author).pop(), off = clock && (clock.setTo ?? clock.offsetMs); // the last pull's word on the logger's clock
      process.stdout.write(`${author} depths ${depths || "none"} last ${isNaN(t) ? "-" : new Date(t * 1000).toISOString()} forks ${nForks}${clock ? ` clock ${off! >= 0 ? "+" : ""}${(off! / 1000).toFixed(1)}s at ${new Date(clock.hostMs).toISOString()}` : ""}\n`);
    }
    return 0;
  }
  if (cmd === "log" || cmd === "csv") {
    const s = store(), key = option(args, "--key"), who = args.find((a) => a.startsWith("@"));
    const feeds = s.authors().filter((a) => !who || a === who);
    if (who && !feeds.length) {
      process.stderr.write(`pigeon: no feed ${who} in the store\n`);
      return 2;
    }
    const out = lines(process.stdout);
    if (cmd === "csv") out.write(CSV_HEADER);
    for (const author of feeds) s.each(author, (text, depth) => out.write(cmd === "log" ? text + "\n\n" : csvRows(author, depth, text, key)));
    out.end();
    return 0;
  }
  if (cmd === "identity") {
    process.stdout.write(store().identity() + "\n");
    return 0;
  }
  if (cmd === "have") {
    const s = store(), text = formatHave(s.identity(), s.holdings());
    if (args[0]) writeFileSync(args[0], text);
    else process.stdout.write(text);
    return 0;
  }
  if (cmd === "follow" || cmd === "unfollow" || cmd === "block") {
    const s = store(), who = args[0];
    if (!who || !/^@[0-9A-Z]{52}\.ed25519$/.test(who)) {
      process.stderr.write(`usage: pigeon ${cmd} @<52 base32>.ed25519\n`);
      return 2;
    }
    const follows = s.list("FOLLOWS.TXT"), blocks = s.list("BLOCKS.TXT");
    if (cmd === "follow") (follows.add(who), blocks.delete(who));
    if (cmd === "unfollow") follows.delete(who);
    if (cmd === "block") (blocks.add(who), follows.delete(who));
    s.setList("FOLLOWS.TXT", follows);
    s.setList("BLOCKS.TXT", blocks);
    return 0;
  }
  if (cmd === "plot") {
    const s = store(), key = option(args, "--key"), out = option(args, "--out"), who = args.find((a) => a.startsWith("@"));
    if (!key || !out) {
      process.stderr.write("usage: pigeon plot [@id] --key K --out FILE.svg\n");
      return 2;
    }
    const series: { author: string; points: [number, number][] }[] = [];
    for (const author of s.authors().filter((a) => !who || a === who)) {
      const points: [number, number][] = [];
      s.each(author, (text) => {
        if (field(text, "kind") === "reading") for (const [t, k, v] of readings(text)) if (k === key && isNumeric(v)) points.push([t, Number(v)]);
      });
      if (points.length) series.push({ author, points });
    }
    if (!series.length) {
      process.stderr.write(`pigeon: no numeric readings of ${key} in the store\n`);
      return 1;
    }
    writeFileSync(out, svgPlot(key, series));
    process.stdout.write(`${out}: ${series.reduce((n, x) => n + x.points.length, 0)} points of ${key}\n`);
    return 0;
  }
  if (cmd === "export") {
    const s = store(), peer = option(args, "--for"), since = option(args, "--since"), latestArg = option(args, "--latest"), all = args.includes("--all"), dir = args.filter((a) => a !== "--all")[0];
    const latest = latestArg === undefined ? undefined : Number(latestArg);
    if (!dir || (peer !== undefined && !/^@[0-9A-Z]{52}\.ed25519$/.test(peer)) || (latest !== undefined && !(Number.isInteger(latest) && latest > 0))) {
      process.stderr.write("usage: pigeon export <dir> [--for @peer] [--since HAVE-FILE] [--latest N] [--all] [--store DIR]\n");
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
    process.stdout.write(`exported ${r.messages} messages of ${r.feeds} feeds and ${r.blobs} blobs to ${dir}${left && !all ? `; ${left} feeds held but not followed stay (pigeon follow @id, or --all)` : ""}\n`);
    return 0;
  }
  process.stderr.write(`pigeon: unknown command ${cmd}\n${HELP}`);
  return 2;
}

// A small young generation: an import makes much short-lived garbage and keeps little, and
// V8's default (16 MB semi-spaces) would hold about 40 MB more for no gain in speed.
setFlagsFromString("--max-semi-space-size=2");
// Output to a pipe is written at once, as to a file: a million CSV rows are not queued in memory,
// and none is lost at exit. (Node's own streams do this for files and terminals; for pipes it
// needs the handle's setBlocking.)
for (const s of [process.stdout, process.stderr]) (s as unknown as { _handle?: { setBlocking?: (b: boolean) => void } })._handle?.setBlocking?.(true);
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`pigeon: ${e instanceof Error ? e.message : e}\n`);
    process.exit(2);
  },
);
