// Debian tools the tests need. Installs the missing ones with apt-get when
// running as root; otherwise names exactly what to install.
import { execSync, spawnSync } from "node:child_process";

export const TOOLS = {
  duk: "duktape",
  "fsck.fat": "dosfstools",
  "mkfs.fat": "dosfstools", // the emulated boards' cards (emu/), formatted as a user would
  gcc: "gcc", // the emulator's probe plugin (emu/probe/probe.c), where the emulator toolkit is
  mdir: "mtools",
  mcopy: "mtools",
  file: "file",
  chromium: "chromium", // the card viewer's tests (headless, driven by playwright-core)
  // the native kernels: the blob's compiler, the ARM Linux harness's, and qemu-arm to run it
  "arm-none-eabi-gcc": "gcc-arm-none-eabi",
  "arm-linux-gnueabihf-gcc": "gcc-arm-linux-gnueabihf",
  "qemu-arm": "qemu-user",
};

function has(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

/** Makes sure each named command exists; returns the ones still missing. */
export function ensure(cmds = Object.keys(TOOLS)) {
  const missing = cmds.filter((c) => !has(c));
  if (!missing.length) return [];
  const pkgs = [...new Set(missing.map((c) => TOOLS[c]))];
  if (process.getuid && process.getuid() === 0 && has("apt-get")) {
    console.log(`installing ${pkgs.join(" ")} (apt-get) for ${missing.join(", ")}`);
    execSync("apt-get update -qq", { stdio: "inherit" });
    execSync(`DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkgs.join(" ")}`, {
      stdio: "inherit",
    });
  }
  const still = cmds.filter((c) => !has(c));
  if (still.length)
    console.log(
      `missing ${still.join(", ")}: install with  sudo apt-get install ${[...new Set(still.map((c) => TOOLS[c]))].join(" ")}`
    );
  return still;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(ensure().length ? 1 : 0);
