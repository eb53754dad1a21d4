// The collector's tool: `pigeon <command>`.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { blobPath } from "../../src/card";
import { readInput } from "./reader";
import { Store } from "./store";
import { svgPlot } from "./plot";
import { body, CSV_HEADER, csvRows, field, isNumeric, readings, unquote } from "./readings";
import { Pigeon } from "./core";
import { blobRefs, summary, verify, type Report } from "./verify";

const HELP = `pigeon: Pigeon cards, bundles and feeds, offline

usage: pigeon <command> [options]

commands:
  verify <path> [--json]   check every message and blob of a bundle directory, a messages.pgn,
                           a card directory or a FAT16 card image; exit 0 when all verified,
                           1 when anything was refused, 2 on usage or I/O errors
  import <path>            verify and keep what is valid in the store; nothing held is lost,
                           a fork is kept as evidence; importing twice changes nothing
  feeds                    the feeds in the store: author, depths, last time, forks
  log [@id]                the messages of one feed (or all), in depth order
  csv [@id] [--key K]      readings as CSV: feed,depth,time,key,value
  export <dir>             a bundle (messages.pgn and blobs, 8.3 layout) of every feed held
  identity                 this store's identity (made on first use; its seed stays in the store)
  follow|unfollow|block @id  which feeds this store follows, and refuses
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
function printReport(r: Report, json: boolean) {
  if (json) process.stdout.write(JSON.stringify(summary(r)) + "\n");
  else {
    for (const f of r.refusals) process.stdout.write(`${f.file}${f.line ? ":" + f.line : ""}: ${f.author ?? ""}${f.depth !== null ? " depth " + f.depth : ""}: ${f.reason}\n`);
    process.stdout.write(`messages: ${r.messages.accepted} accepted, ${r.messages.refused} refused; blobs: ${r.blobs.accepted} accepted, ${r.blobs.refused} refused\n`);
  }
}
async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "help" || cmd === "--help" || cmd === "-h") {
    process.stdout.write(HELP);
    return cmd ? 0 : 2;
  }
  const args = [...rest];
  const store = () => new Store(option(args, "--store") ?? process.env.PIGEON_STORE ?? "pigeon-store");
  if (cmd === "verify") {
    const json = args.includes("--json"), paths = args.filter((a) => a !== "--json");
    if (paths.length !== 1) {
      process.stderr.write("usage: pigeon verify <path> [--json]\n");
      return 2;
    }
    const r = verify(await readInput(paths[0]));
    printReport(r, json);
    return r.messages.refused || r.blobs.refused ? 1 : 0;
  }
  if (cmd === "import") {
    const s = store(), json = args.includes("--json"), paths = args.filter((a) => a !== "--json");
    if (paths.length !== 1) {
      process.stderr.write("usage: pigeon import <path> [--store DIR]\n");
      return 2;
    }
    const r = verify(await readInput(paths[0]), s, (id, bytes) => s.putBlob(id, bytes));
    printReport(r, json);
    return r.messages.refused || r.blobs.refused ? 1 : 0;
  }
  if (cmd === "feeds") {
    const s = store(), forks = s.forks();
    for (const log of s.feeds()) {
      const m = s.messages(log.author), last = m[m.length - 1];
      const tv = last && body(last.text).find(([k]) => k === "t")?.[1], t = tv ? Number(unquote(tv)) : NaN;
      const nForks = forks.filter((f) => field(f, "author") === log.author).length;
      process.stdout.write(`${log.author} depths ${m.length ? m[0].depth + ".." + last.depth : "none"} last ${isNaN(t) ? "-" : new Date(t * 1000).toISOString()} forks ${nForks}\n`);
    }
    return 0;
  }
  if (cmd === "log" || cmd === "csv") {
    const s = store(), key = option(args, "--key"), who = args.find((a) => a.startsWith("@"));
    const feeds = s.feeds().filter((l) => !who || l.author === who);
    if (who && !feeds.length) {
      process.stderr.write(`pigeon: no feed ${who} in the store\n`);
      return 2;
    }
    if (cmd === "csv") process.stdout.write(CSV_HEADER);
    for (const log of feeds)
      for (const { depth, text } of s.messages(log.author)) process.stdout.write(cmd === "log" ? text + "\n\n" : csvRows(log.author, depth, text, key));
    return 0;
  }
  if (cmd === "identity") {
    const s = store(), f = join(s.dir, "SECRET.KEY");
    if (!existsSync(f)) {
      const { randomBytes } = await import("node:crypto");
      writeFileSync(f, randomBytes(32), { mode: 0o600 });
    }
    process.stdout.write(Pigeon.identity(new Uint8Array(readFileSync(f))) + "\n");
    return 0;
  }
  if (cmd === "follow" || cmd === "unfollow" || cmd === "block") {
    const s = store(), who = args[0];
    if (!who || !/^@[0-9A-Z]{52}\.ed25519$/.test(who)) {
      process.stderr.write(`usage: pigeon ${cmd} @<52 base32>.ed25519\n`);
      return 2;
    }
    const read = (n: string) => new Set(existsSync(join(s.dir, n)) ? readFileSync(join(s.dir, n), "utf8").split("\n").filter(Boolean) : []);
    const follows = read("FOLLOWS.TXT"), blocks = read("BLOCKS.TXT");
    if (cmd === "follow") (follows.add(who), blocks.delete(who));
    if (cmd === "unfollow") follows.delete(who);
    if (cmd === "block") (blocks.add(who), follows.delete(who));
    writeFileSync(join(s.dir, "FOLLOWS.TXT"), [...follows].map((x) => x + "\n").join(""));
    writeFileSync(join(s.dir, "BLOCKS.TXT"), [...blocks].map((x) => x + "\n").join(""));
    return 0;
  }
  if (cmd === "plot") {
    const s = store(), key = option(args, "--key"), out = option(args, "--out"), who = args.find((a) => a.startsWith("@"));
    if (!key || !out) {
      process.stderr.write("usage: pigeon plot [@id] --key K --out FILE.svg\n");
      return 2;
    }
    const series: { author: string; points: [number, number][] }[] = [];
    for (const log of s.feeds().filter((l) => !who || l.author === who)) {
      const points: [number, number][] = [];
      for (const { text } of s.messages(log.author))
        if (field(text, "kind") === "reading") for (const [t, k, v] of readings(text)) if (k === key && isNumeric(v)) points.push([t, Number(v)]);
      if (points.length) series.push({ author: log.author, points });
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
    const s = store(), dir = args[0];
    if (!dir) {
      process.stderr.write("usage: pigeon export <dir> [--store DIR]\n");
      return 2;
    }
    mkdirSync(dir, { recursive: true });
    const texts: string[] = [], blobs = new Set<string>();
    for (const log of s.feeds()) for (const { text } of s.messages(log.author)) {
      texts.push(text);
      for (const b of blobRefs(text)) blobs.add(b);
    }
    writeFileSync(join(dir, "messages.pgn"), texts.length ? texts.join("\n\n") + "\n" : "");
    for (const b of blobs) {
      const from = join(s.dir, blobPath(b.slice(1, 53))), to = join(dir, blobPath(b.slice(1, 53)).slice(2));
      if (!existsSync(from)) continue;
      mkdirSync(join(to, ".."), { recursive: true });
      writeFileSync(to, readFileSync(from));
    }
    process.stdout.write(`exported ${texts.length} messages and ${blobs.size} blobs to ${dir}\n`);
    return 0;
  }
  process.stderr.write(`pigeon: unknown command ${cmd}\n${HELP}`);
  return 2;
}

main(process.argv.slice(2)).then(
  // exit once stdout has taken everything: a pipe that is full queues writes, and exit would drop them
  (code) => process.stdout.write("", () => process.exit(code)),
  (e) => {
    process.stderr.write(`pigeon: ${e instanceof Error ? e.message : e}\n`);
    process.exit(2);
  },
);
