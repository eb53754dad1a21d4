// npm run sim -- <scenario.json>: runs a fleet scenario (sim/fleet.ts) on
// virtual time, prints the report, and writes out/<name>.svg (replication
// over time) and out/<name>.json (every figure).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { runFleet, type Scenario } from "./fleet";
import { fleetSvg, formatReport } from "./fleet-report";

const root = join(__dirname, "..");

async function main(args: string[]) {
  if (args.length !== 1) {
    process.stderr.write(
      "usage: npm run sim -- <scenario.json>   (e.g. sim/scenarios/fleet.json)\n"
    );
    return 2;
  }
  const sc: Scenario = JSON.parse(readFileSync(args[0], "utf8")),
    name = basename(args[0]).replace(/\.json$/, "");
  const out = join(root, "out");
  mkdirSync(out, { recursive: true });
  const r = await runFleet(sc, join(out, "fleet-" + name));
  process.stdout.write(formatReport(r));
  writeFileSync(join(out, name + ".svg"), fleetSvg(r));
  const { timeline: _t, written: _w, ...figures } = r;
  writeFileSync(join(out, name + ".json"), JSON.stringify(figures, null, 1) + "\n");
  process.stdout.write(`picture out/${name}.svg, figures out/${name}.json\n`);
  const bad = r.untrue.length || Object.values(r.converged).some((c) => c.missing);
  return bad ? 1 : 0;
}
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(2);
  }
);
