// npm test: installs the Debian tools the tests use, checks the format, type-checks the core and the host,
// builds dist/, then runs vitest.
import { execSync } from "node:child_process";
import { ensure } from "./debian.mjs";

ensure();
const run = (cmd) => execSync(cmd, { stdio: "inherit" });
run("npx prettier --check --log-level warn ."); // the code keeps its one format (npm run format)
run("npx tsc -p tsconfig.json");
run("npx tsc -p tsconfig.host.json");
run("node scripts/build.mjs");
run(`npx vitest run ${process.argv.slice(2).join(" ")}`);
