// npm start: a simulated logger signs a day of 10-minute readings with the
// device bundle (run as the boards run it: an ES5 script in a bare context),
// writes them as a bundle to out/bundle/messages.pgn, and the host side then
// verifies every message and its chain of prev/lipmaa links.
// (The FAT16 card image and the Espruino shim come with the card store.)
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import vm from "node:vm";

const require = createRequire(import.meta.url);
const root = new URL("..", import.meta.url).pathname;
const BUNDLE = root + "dist/pigeon.js";
const READINGS = Number(process.env.READINGS || 144);

// ---- the board: the bundle in a context with ES5 built-ins only ----
const board = vm.createContext({});
vm.runInContext(readFileSync(BUNDLE, "utf8"), board);
board.seedBytes = Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 255);
board.readings = READINGS;
const t0 = performance.now();
const pgn = vm.runInContext(
  `(function () {
    var keys = Pigeon.keys(new Uint8Array(seedBytes)), ids = [], out = [], t = 1764000000;
    for (var depth = 0; depth < readings; depth++) {
      var l = Pigeon.lipmaa(depth);
      var temp = (18 + 4 * Math.sin(depth / 24) + ((depth * 7919) % 13) / 20).toFixed(2);
      var text = Pigeon.sign(keys, {
        kind: depth ? "reading" : "logger_boot",
        prev: depth ? ids[depth - 1] : "NONE",
        depth: depth,
        lipmaa: l === null ? "NONE" : ids[l],
        body: [["t", '"' + (t + 600 * depth) + '"'], ["temp_c", '"' + temp + '"']]
      });
      ids.push(Pigeon.id(text));
      out.push(text);
    }
    return out.join("\\n\\n") + "\\n";
  })()`,
  board,
);
const signMs = performance.now() - t0;
mkdirSync(root + "out/bundle", { recursive: true });
writeFileSync(root + "out/bundle/messages.pgn", pgn);

// ---- the host: read the bundle back and check every message and link ----
const Pigeon = require(BUNDLE);
const texts = readFileSync(root + "out/bundle/messages.pgn", "utf8").split(/(?<=\.sig\.ed25519)\n\n?/).filter(Boolean);
const ids = [];
let refused = 0;
for (const [depth, text] of texts.entries()) {
  const why = Pigeon.refusal(text) || link(text, depth);
  if (why) {
    refused++;
    console.log(`depth ${depth}: refused: ${why}`);
  }
  ids.push(Pigeon.id(text));
}
function link(text, depth) {
  const head = Object.fromEntries(text.split("\n", 5).map((l) => l.split(" ")));
  const l = Pigeon.lipmaa(depth);
  if (Number(head.depth) !== depth) return `depth ${head.depth} out of order`;
  if (head.prev !== (depth ? ids[depth - 1] : "NONE")) return "prev does not name the message before";
  if (head.lipmaa !== (l === null ? "NONE" : ids[l])) return "lipmaa does not name depth " + l;
  return "";
}
const first = texts[0].match(/^author (\S+)/)[1];
console.log(`feed        ${first}`);
console.log(`messages    ${texts.length} signed in ${signMs.toFixed(0)} ms by the ES5 bundle, ${texts.length - refused} verified by the host, ${refused} refused`);
console.log(`bundle      out/bundle/messages.pgn, ${pgn.length} bytes (${(pgn.length / texts.length).toFixed(0)} per reading)`);
process.exit(refused ? 1 : 0);
