// The collector's tool: `pigeon <command>`. So far: verify.
import { readInput } from "./reader";
import { verify } from "./verify";

const HELP = `pigeon: Pigeon cards, bundles and feeds, offline

usage: pigeon <command> [options]

commands:
  verify <path> [--json]   check every message and blob of a bundle directory, a messages.pgn,
                           a card directory or a FAT16 card image; exit 0 when all verified,
                           1 when anything was refused, 2 on usage or I/O errors
  help                     this text
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "help" || cmd === "--help" || cmd === "-h") {
    process.stdout.write(HELP);
    return cmd ? 0 : 2;
  }
  if (cmd === "verify") {
    const json = rest.includes("--json"), paths = rest.filter((a) => a !== "--json");
    if (paths.length !== 1) {
      process.stderr.write("usage: pigeon verify <path> [--json]\n");
      return 2;
    }
    const input = await readInput(paths[0]);
    const r = verify(input);
    if (json) process.stdout.write(JSON.stringify({ messages: r.messages, blobs: r.blobs, refusals: r.refusals.map(({ author, depth, reason }) => ({ author, depth, reason })) }) + "\n");
    else {
      for (const f of r.refusals) process.stdout.write(`${f.file}${f.line ? ":" + f.line : ""}: ${f.author ?? ""}${f.depth !== null ? " depth " + f.depth : ""}: ${f.reason}\n`);
      process.stdout.write(`messages: ${r.messages.accepted} accepted, ${r.messages.refused} refused; blobs: ${r.blobs.accepted} accepted, ${r.blobs.refused} refused\n`);
    }
    return r.messages.refused || r.blobs.refused ? 1 : 0;
  }
  process.stderr.write(`pigeon: unknown command ${cmd}\n${HELP}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`pigeon: ${e instanceof Error ? e.message : e}\n`);
    process.exit(2);
  },
);
