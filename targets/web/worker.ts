// The card viewer's worker: reads what was opened, verifies it with the host's
// own chain rules (targets/node/chain.ts) and the core's verdicts, and works
// out each feed's readings, off the page's main thread.
//
// The core (dist/pigeon.js, global Pigeon) runs before this script in the same
// worker. A message's verdict is the core's: with `engine: "core"` the core
// checks everything; by default, where the browser has Ed25519 in WebCrypto,
// the core's parser and key/S rules (edrules.ts, as `pigeon` does before
// node:crypto) run first and WebCrypto checks only the equation, in parallel,
// a slice at a time. Files are read as `pigeon` reads them (input.ts), at
// offsets as they are needed (FileReaderSync), never whole.
import { b32encode } from "../../src/base32";
import { memoryHolder, summary, Verifier, type Checks } from "../host/chain";
import { depthRanges } from "../host/have";
import { keyAllowed, precheck } from "../host/edrules";
import {
  isImage,
  pgnMessages,
  readImage,
  readTree,
  textLines,
  type Entry,
  type Input,
  type Source,
} from "../host/bundle";
import { blockBytes, type Bytes } from "../host/bytes";
import { field } from "../host/message";
import { readings } from "../host/readings";
import type { FeedResult, Request, Result } from "./protocol";

declare const Pigeon: any;
declare const FileReaderSync: { new (): { readAsArrayBuffer(b: Blob): ArrayBuffer } };

const post = (m: unknown) => (self as unknown as Worker).postMessage(m);
const SLICE = 2000;

/** A picked file, read at offsets, a megabyte at a time (a read of a File has a cost of its own). */
function pickedBytes(file: File): Bytes {
  const reader = new FileReaderSync();
  return blockBytes(
    file.size,
    (at, n) => new Uint8Array(reader.readAsArrayBuffer(file.slice(at, at + n))),
    undefined,
    1 << 20
  );
}

/** The input from the picked files: one file (a card image or a messages.pgn) or a directory's files. */
function readPicked(req: Request): Input {
  if (req.files.length === 1 && !req.files[0].path.includes("/")) {
    const { path, file } = req.files[0],
      bytes = pickedBytes(file);
    if (isImage(bytes.read(0, 512), bytes.size)) return readImage(bytes, path);
    return { messages: pgnMessages(textLines(bytes), path), blobs: [], losses: [] };
  }
  // a directory: paths are "<dir>/<path inside it>"
  const top = req.files[0].path.includes("/")
    ? req.files[0].path.slice(0, req.files[0].path.indexOf("/"))
    : "";
  const inside = new Map<string, File>();
  for (const { path, file } of req.files) inside.set(top ? path.slice(top.length + 1) : path, file);
  return readTree<Entry>({
    list(dir) {
      const seen = new Map<string, Entry>(),
        pre = dir ? dir.path + "/" : "";
      for (const p of inside.keys())
        if (p.startsWith(pre)) {
          const rest = p.slice(pre.length),
            i = rest.indexOf("/"),
            name = i < 0 ? rest : rest.slice(0, i);
          if (!seen.has(name) || i >= 0)
            seen.set(name, { name, path: pre + name, kind: i >= 0 ? "dir" : "file" });
        }
      return { entries: [...seen.values()] };
    },
    open: (e) => pickedBytes(inside.get(e.path)!),
    show: (p) => (top ? top + "/" : "") + p,
  });
}

/** Whether this browser verifies Ed25519 in WebCrypto. */
async function hasWebEd25519(): Promise<boolean> {
  try {
    await crypto.subtle.importKey("raw", new Uint8Array(32).fill(1), { name: "Ed25519" }, false, [
      "verify",
    ]);
    return true;
  } catch {
    return false;
  }
}

type Verdict = { why: string; id: string };
const enc = new TextEncoder();
const allowed = new Map<string, boolean>(),
  keys = new Map<string, Promise<CryptoKey>>();
const hex = (a: Uint8Array) => Array.from(a, (x) => (x < 16 ? "0" : "") + x.toString(16)).join("");
function keyOk(a: Uint8Array): boolean {
  const h = hex(a);
  let ok = allowed.get(h);
  if (ok === undefined) allowed.set(h, (ok = keyAllowed(a)));
  return ok;
}
function cryptoKey(a: Uint8Array): Promise<CryptoKey> {
  const h = hex(a);
  let k = keys.get(h);
  if (!k)
    keys.set(
      h,
      (k = crypto.subtle.importKey("raw", a as BufferSource, { name: "Ed25519" }, false, [
        "verify",
      ]))
    );
  return k;
}
/** The core's verdicts and ids of a slice of messages, the equation and the hash done by WebCrypto. */
async function webVerdicts(texts: string[]): Promise<Map<string, Verdict>> {
  const out = new Map<string, Verdict>();
  await Promise.all(
    texts.map(async (text) => {
      const bytes = enc.encode(text),
        p = precheck(Pigeon, bytes, keyOk);
      const digest = crypto.subtle.digest("SHA-256", bytes as BufferSource);
      const why =
        typeof p === "string"
          ? p
          : (await crypto.subtle.verify(
                "Ed25519",
                await cryptoKey(p.key),
                p.sig as BufferSource,
                p.unsigned as BufferSource
              ))
            ? ""
            : "signature does not verify";
      out.set(text, { why, id: "%" + b32encode(new Uint8Array(await digest), 0, 32) + ".sha256" });
    })
  );
  return out;
}
/** The same from the core alone. */
function coreVerdicts(texts: string[]): Map<string, Verdict> {
  const out = new Map<string, Verdict>();
  for (const text of texts) {
    const bytes = enc.encode(text);
    out.set(text, {
      why: Pigeon.refusalBytes(bytes, 0, bytes.length),
      id: Pigeon.idBytes(bytes, 0, bytes.length),
    });
  }
  return out;
}

async function run(req: Request): Promise<Result> {
  const t0 = performance.now();
  const input = readPicked(req);
  const messages: Source[] = [...input.messages];
  const tRead = performance.now();
  const engine = req.engine === "core" || !(await hasWebEd25519()) ? "core" : "webcrypto";
  let verdicts = new Map<string, Verdict>();
  const checks: Checks = {
    refusal: (_b, text) => verdicts.get(text)!.why,
    id: (_b, text) => verdicts.get(text)!.id,
    lipmaa: (d) => Pigeon.lipmaa(d),
    blobId: (b) => Pigeon.blobId(b),
  };
  const holder = memoryHolder(true),
    v = new Verifier(checks, holder);
  post({ type: "progress", done: 0, total: messages.length, engine });
  // the next slice's signatures are being checked while the chain rules take this one
  const verdictsOf = (i: number) => {
    const texts = messages.slice(i, i + SLICE).map((m) => m.text);
    return engine === "core" ? Promise.resolve(coreVerdicts(texts)) : webVerdicts(texts);
  };
  let ahead = verdictsOf(0);
  for (let i = 0; i < messages.length; i += SLICE) {
    verdicts = await ahead;
    if (i + SLICE < messages.length) ahead = verdictsOf(i + SLICE);
    for (const m of messages.slice(i, i + SLICE)) v.message(m);
    post({
      type: "progress",
      done: Math.min(messages.length, i + SLICE),
      total: messages.length,
      engine,
    });
  }
  v.blobs(input.blobs);
  v.report.losses.push(...(input.losses ?? [])); // whole now that every message was read
  const tVerify = performance.now();

  const feeds: FeedResult[] = [];
  const authors = new Set<string>([
    ...holder.feeds.keys(),
    ...[...v.byAuthor.keys()].filter(Boolean),
  ]);
  for (const author of [...authors].sort()) {
    const f = holder.feeds.get(author),
      counts = v.byAuthor.get(author) ?? { accepted: 0, refused: 0 };
    const r: FeedResult = {
      author,
      ranges: f ? depthRanges([...f.ids.keys()].map((d): [number, number] => [d, d])) : [],
      accepted: counts.accepted,
      refused: counts.refused,
      refusals: v.report.refusals.filter((x) => x.author === author),
      forks: (f?.forks ?? []).map((x) => ({ depth: x.depth, id: Pigeon.id(x.text), text: x.text })),
      keys: [],
      depth: [],
      time: [],
      key: [],
      value: [],
      first: null,
      last: null,
    };
    const keyIndex = new Map<string, number>();
    if (f)
      [...f.texts]
        .sort((a, b) => a[0] - b[0])
        .forEach(([depth, text]) => {
          if (field(text, "kind") !== "reading") return;
          for (const [t, k, val] of readings(text)) {
            let ki = keyIndex.get(k);
            if (ki === undefined) keyIndex.set(k, (ki = r.keys.push(k) - 1));
            r.depth.push(depth);
            r.time.push(t);
            r.key.push(ki);
            r.value.push(val);
            if (isFinite(t)) {
              if (r.first === null || t < r.first) r.first = t;
              if (r.last === null || t > r.last) r.last = t;
            }
          }
        });
    feeds.push(r);
  }
  return {
    type: "done",
    engine,
    summary: summary(v.report),
    unattributed: v.report.refusals.filter((x) => x.author === null || !authors.has(x.author)),
    blobs: v.report.blobs,
    feeds,
    ms: { read: tRead - t0, verify: tVerify - tRead, total: performance.now() - t0 },
  };
}

self.onmessage = (e: MessageEvent<Request>) => {
  run(e.data).then(post, (err) =>
    post({ type: "error", message: err instanceof Error ? err.message : String(err) })
  );
};
