// The card viewer's page: opens a card image, a bundle or card directory, or a
// messages.pgn (picked or dropped), has the worker verify it, and shows each
// feed, its readings as a table and every numeric reading key as a plot
// (uPlot: drag to zoom, wheel to zoom, shift-drag to pan, double-click to
// reset). After a load, window.pigeonSummary holds the result in the shape of
// `pigeon verify --json`.
import uPlot from "uplot";
import { pullFeed, type Pulled } from "../host/pull";
import { CSV_HEADER, csvRow, isGap, isNumeric, usualStep } from "../host/readings";
import { id } from "../../src/message";
import { chooseLine, transports } from "./connect";
import type { Failure, FeedResult, Progress, Request, Result } from "./protocol";

declare const WORKER_SOURCE_ID: string;

interface PlotInfo {
  author: string;
  key: string;
  plot: uPlot;
}
const w = window as unknown as {
  pigeonSummary?: unknown;
  pigeonState?: string;
  pigeonResult?: Result;
  pigeonPlots?: { author: string; key: string; points: number; gaps: number }[];
  pigeonTimes?: { verifiedMs: number; plottedMs: number };
  /** The last pull from a logger: who it was, what came, the clock seen. */
  pigeonPulled?: Pulled & { held: number };
  /** The time range each plot shows now (zoom and pan change it). */
  pigeonPlotRanges?: () => [number, number][];
};
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...kids: (Node | string)[]
) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs))
    k === "text" ? (e.textContent = v) : e.setAttribute(k, v);
  e.append(...kids);
  return e;
};
const iso = (t: number | null) =>
  t === null || !isFinite(t) ? "-" : new Date(t * 1000).toISOString().replace(".000Z", "Z");
const short = (a: string) => (a.length > 16 ? a.slice(0, 13) + "…" : a);
const COLORS = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#9467bd",
  "#ff7f0e",
  "#17becf",
  "#8c564b",
  "#e377c2",
];

let worker: Worker | null = null;
let plots: PlotInfo[] = [];
let result: Result | null = null;

function newWorker(): Worker {
  const src = document.getElementById(WORKER_SOURCE_ID)!.textContent!;
  return new Worker(URL.createObjectURL(new Blob([src], { type: "text/javascript" })));
}

function status(text: string, cls = "") {
  const s = $("status");
  s.textContent = text;
  s.className = cls;
}

/** Starts a load of the picked files. */
function open(files: { path: string; file: File }[]) {
  if (!files.length) return;
  const t0 = performance.now();
  w.pigeonState = "loading";
  w.pigeonSummary = undefined;
  for (const p of plots) p.plot.destroy();
  plots = [];
  $("out").replaceChildren();
  $("progress").hidden = false;
  ($("bar") as HTMLProgressElement).value = 0;
  const name =
    files.length === 1
      ? files[0].path
      : files[0].path.split("/")[0] + "/ (" + files.length + " files)";
  status(`reading ${name}…`);
  worker?.terminate();
  worker = newWorker();
  const engine = new URLSearchParams(location.search).get("engine") === "core" ? "core" : "auto";
  worker.onmessage = (e: MessageEvent<Result | Progress | Failure>) => {
    const m = e.data;
    if (m.type === "progress") {
      const bar = $("bar") as HTMLProgressElement;
      bar.max = Math.max(1, m.total);
      bar.value = m.done;
      status(
        `verifying ${name}: ${m.done.toLocaleString("en")} of ${m.total.toLocaleString("en")} messages (${m.engine === "core" ? "the core" : "WebCrypto Ed25519 after the core's rules"})`
      );
    } else if (m.type === "error") {
      $("progress").hidden = true;
      status(`${name}: ${m.message}`, "bad");
      w.pigeonState = "error";
    } else {
      const verifiedMs = performance.now() - t0;
      $("progress").hidden = true;
      show(m, name);
      requestAnimationFrame(() => {
        w.pigeonTimes = { verifiedMs, plottedMs: performance.now() - t0 };
        w.pigeonState = "done";
      });
    }
  };
  worker.onerror = (e) => {
    status(`${name}: ${e.message}`, "bad");
    w.pigeonState = "error";
  };
  const req: Request = { engine, files };
  worker.postMessage(req);
}

function show(r: Result, name: string) {
  result = w.pigeonResult = r;
  const s = r.summary,
    out = $("out");
  const losses = s.losses ?? [];
  status(
    `${name}: ${s.messages.accepted.toLocaleString("en")} messages accepted, ${s.messages.refused} refused; blobs ${s.blobs.accepted} accepted, ${s.blobs.refused} refused` +
      `${losses.length ? `; ${losses.length} losses (not read)` : ""} (${(r.ms.total / 1000).toFixed(1)} s, ${r.engine === "core" ? "verified by the core" : "the core's rules, then WebCrypto Ed25519"})`,
    s.messages.refused || s.blobs.refused || losses.length ? "warn" : "ok"
  );
  ($("csv") as HTMLButtonElement).disabled = false;
  if (losses.length)
    out.append(
      el(
        "section",
        { class: "feed losses" },
        el("h2", { text: "Not read: lost on the card or in the bundle" }),
        el(
          "ul",
          { class: "refusals" },
          ...losses.map((l) =>
            el(
              "li",
              {},
              el("code", { text: `${l.file}${l.page !== null ? " page " + l.page : ""}` }),
              ` ${l.depths ? `depths ${l.depths[0]}..${l.depths[1] ?? "(the end)"}: ` : ""}`,
              el("b", { text: l.reason })
            )
          )
        )
      )
    );
  if (r.unattributed.length)
    out.append(
      el(
        "section",
        { class: "feed" },
        el("h2", { text: "Refused, with no feed" }),
        refusalList(r.unattributed)
      )
    );
  for (const [i, f] of r.feeds.entries()) {
    const pending: (() => void)[] = [];
    out.append(feedSection(f, i, pending));
    for (const draw of pending) draw(); // once the section is in the page: plots take its width
  }
  out.append(tableSection(r.feeds));
  // what each plot holds: its points (a null between two of them is a gap in time, not a point)
  w.pigeonPlots = plots.map(({ author, key, plot }) => {
    const ys = Array.from(plot.data[1] as ArrayLike<number | null | undefined>);
    return {
      author,
      key,
      points: ys.filter((y) => y !== null && y !== undefined).length,
      gaps: ys.filter((y) => y === null).length,
    };
  });
  w.pigeonSummary = s;
}

function refusalList(list: { depth: number | null; reason: string; file: string; line: number }[]) {
  return el(
    "ul",
    { class: "refusals" },
    ...list.map((x) =>
      el(
        "li",
        {},
        el("code", { text: `${x.file}${x.line ? ":" + x.line : ""}` }),
        ` ${x.depth !== null ? "depth " + x.depth + ": " : ""}`,
        el("b", { text: x.reason })
      )
    )
  );
}

function feedSection(f: FeedResult, i: number, pending: (() => void)[]) {
  const sec = el("section", { class: "feed" });
  const dl = el("dl");
  const row = (k: string, v: Node | string) => dl.append(el("dt", { text: k }), el("dd", {}, v));
  row("author", el("code", { text: f.author }));
  row(
    "depths",
    f.ranges.length
      ? f.ranges.map(([a, b]) => (a === b ? `${a}` : `${a} .. ${b}`)).join(", ")
      : "none held"
  );
  row("readings", `${f.value.length.toLocaleString("en")}, ${iso(f.first)} .. ${iso(f.last)}`);
  row("messages", `${f.accepted.toLocaleString("en")} accepted, ${f.refused} refused`);
  row("forks", f.forks.length ? `${f.forks.length} kept as evidence` : "none");
  sec.append(el("h2", { text: `Feed ${i + 1}: ${short(f.author)}` }), dl);
  if (f.refusals.length) sec.append(el("h3", { text: "Refused" }), refusalList(f.refusals));
  if (f.forks.length)
    sec.append(
      el("h3", { text: "Forks (kept as evidence)" }),
      el(
        "ul",
        {},
        ...f.forks.map((x) =>
          el(
            "li",
            {},
            `depth ${x.depth}: `,
            el("code", { text: x.id }),
            el("details", {}, el("summary", { text: "text" }), el("pre", { text: x.text }))
          )
        )
      )
    );
  const grid = el("div", { class: "plots" });
  sec.append(grid);
  f.keys.forEach((key, ki) => {
    const pts: [number, number][] = [];
    for (let j = 0; j < f.key.length; j++)
      if (f.key[j] === ki && isNumeric(f.value[j]) && isFinite(f.time[j]))
        pts.push([f.time[j], Number(f.value[j])]);
    if (pts.length)
      pending.push(() => addPlot(grid, f.author, key, pts, COLORS[ki % COLORS.length]));
  });
  return sec;
}

/** x and y columns for uPlot, with a null between readings more than three usual steps apart: a gap stays a gap. */
function columns(pts: [number, number][]): [number[], (number | null)[]] {
  pts.sort((a, b) => a[0] - b[0]);
  const usual = usualStep(pts.map((p) => p[0])),
    xs: number[] = [],
    ys: (number | null)[] = [];
  pts.forEach(([t, v], j) => {
    if (j && isGap(pts[j - 1][0], t, usual)) (xs.push((pts[j - 1][0] + t) / 2), ys.push(null));
    xs.push(t);
    ys.push(v);
  });
  return [xs, ys];
}

function addPlot(
  grid: HTMLElement,
  author: string,
  key: string,
  pts: [number, number][],
  color: string
) {
  const box = el("div", { class: "plot", "data-author": author, "data-key": key });
  grid.append(box);
  const data = columns(pts) as uPlot.AlignedData;
  const opts: uPlot.Options = {
    title: `${key} (${pts.length.toLocaleString("en")} readings)`,
    width: Math.max(320, grid.clientWidth || 900),
    height: 260,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    scales: { x: { time: true } },
    series: [
      { label: "time (UTC)" },
      {
        label: key,
        stroke: color,
        width: 1.5,
        spanGaps: false,
        points: { show: pts.length < 200 },
      },
    ],
    cursor: { drag: { x: true, y: false }, sync: { key: author } },
    plugins: [wheelAndPan()],
  };
  plots.push({ author, key, plot: new uPlot(opts, data, box) });
}

/** Zoom with the wheel around the cursor, pan with shift-drag; zooming one plot of a feed zooms the feed's other plots. */
function wheelAndPan(): uPlot.Plugin {
  return {
    hooks: {
      ready(u) {
        const over = u.over;
        over.addEventListener(
          "wheel",
          (e) => {
            e.preventDefault();
            const { min, max } = u.scales.x as { min: number; max: number },
              at = u.posToVal(e.offsetX, "x");
            const f = e.deltaY < 0 ? 0.75 : 1 / 0.75;
            u.setScale("x", { min: at - (at - min) * f, max: at + (max - at) * f });
          },
          { passive: false }
        );
        over.addEventListener(
          "mousedown",
          (e) => {
            if (!e.shiftKey) return;
            e.stopPropagation();
            e.preventDefault();
            const x0 = e.clientX,
              { min, max } = u.scales.x as { min: number; max: number },
              perPx = (max - min) / over.clientWidth;
            const move = (m: MouseEvent) =>
              u.setScale("x", {
                min: min - (m.clientX - x0) * perPx,
                max: max - (m.clientX - x0) * perPx,
              });
            const up = () => (
              document.removeEventListener("mousemove", move),
              document.removeEventListener("mouseup", up)
            );
            document.addEventListener("mousemove", move);
            document.addEventListener("mouseup", up);
          },
          true
        );
      },
      setScale(u, key) {
        if (key !== "x") return;
        const { min, max } = u.scales.x;
        for (const p of plots)
          if (
            p.plot !== u &&
            p.author === (u.root.parentElement as HTMLElement).dataset.author &&
            (p.plot.scales.x.min !== min || p.plot.scales.x.max !== max)
          )
            p.plot.setScale("x", { min: min!, max: max! });
      },
    },
  };
}

const PAGE = 100;
function tableSection(feeds: FeedResult[]) {
  const rows: [FeedResult, number][] = [];
  for (const f of feeds) for (let j = 0; j < f.value.length; j++) rows.push([f, j]);
  const sec = el(
    "section",
    { class: "table" },
    el("h2", { text: `Readings (${rows.length.toLocaleString("en")})` })
  );
  const tbody = el("tbody"),
    info = el("span"),
    prev = el("button", { text: "‹ previous" }),
    next = el("button", { text: "next ›" });
  let page = 0;
  const draw = () => {
    const from = page * PAGE,
      to = Math.min(rows.length, from + PAGE);
    tbody.replaceChildren(
      ...rows
        .slice(from, to)
        .map(([f, j]) =>
          el(
            "tr",
            {},
            el("td", { title: f.author, text: short(f.author) }),
            el("td", { text: String(f.depth[j]) }),
            el("td", { text: iso(f.time[j]) }),
            el("td", { text: f.keys[f.key[j]] }),
            el("td", { text: f.value[j] })
          )
        )
    );
    info.textContent = rows.length
      ? ` rows ${from + 1}–${to} of ${rows.length.toLocaleString("en")} `
      : " no readings ";
    (prev as HTMLButtonElement).disabled = page === 0;
    (next as HTMLButtonElement).disabled = to >= rows.length;
  };
  prev.onclick = () => (page--, draw());
  next.onclick = () => (page++, draw());
  sec.append(
    el("div", { class: "pager" }, prev, info, next),
    el(
      "table",
      {},
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ...["feed", "depth", "time (UTC)", "key", "value"].map((h) => el("th", { text: h }))
        )
      ),
      tbody
    )
  );
  draw();
  return sec;
}

/** The readings as `pigeon csv` writes them: feeds in order of their logs' names (their authors), messages in depth order. */
function csv(r: Result): string {
  const parts = [CSV_HEADER];
  for (const f of r.feeds)
    for (let j = 0; j < f.value.length; j++)
      parts.push(csvRow(f.author, f.depth[j], f.time[j], f.keys[f.key[j]], f.value[j]));
  return parts.join("");
}

function saveCsv() {
  if (!result) return;
  const a = el("a", {
    download: "readings.csv",
    href: URL.createObjectURL(new Blob([csv(result)], { type: "text/csv" })),
  });
  document.body.append(a);
  a.click();
  a.remove();
}

// The feed pulled from a logger, kept across pulls: a pull cut off resumes from what came.
let pulledFrom = "",
  pulled: string[] = [];
/** messages.pgn of what was pulled, oldest first. */
const pulledBundle = () => pulled.filter((t) => t !== undefined).join("\n\n") + "\n";

/** Pulls what the page lacks of a logger's feed over the chosen link (spec/link.md), then opens it as a bundle. */
async function connect() {
  const button = $("connect") as HTMLButtonElement,
    bar = $("bar") as HTMLProgressElement;
  button.disabled = true;
  w.pigeonState = "pulling";
  let line;
  try {
    line = await chooseLine(($("via") as HTMLSelectElement).value);
  } catch (e) {
    status(`No logger connected: ${(e as Error).message}`, "bad");
    w.pigeonState = "error";
    button.disabled = false;
    return;
  }
  $("progress").hidden = false;
  status(`asking ${line.name} for its feed…`);
  try {
    const got = await pullFeed(line, {
      held: {
        // what came from this logger before: its first run of depths (another logger: nothing)
        ranges: (author) => {
          if (author !== pulledFrom) ((pulled = []), (pulledFrom = author));
          const first = pulled.findIndex((t) => t !== undefined);
          let last = first;
          while (last >= 0 && pulled[last + 1] !== undefined) last++;
          return first < 0 ? [] : [[first, last]];
        },
        idAt: (author, d) => (author === pulledFrom && pulled[d] ? id(pulled[d]) : undefined),
      },
      id,
      take: (text, d) => void (pulled[d] = text),
      timeoutMs: 2000,
      retries: 4,
      progress: (taken, wanted) => {
        bar.max = Math.max(1, wanted);
        bar.value = taken;
        status(
          `pulling from ${line.name}: ${taken.toLocaleString("en")} of ${wanted.toLocaleString("en")} messages`
        );
      },
    });
    w.pigeonPulled = { ...got, held: pulled.filter((t) => t !== undefined).length };
    ($("bundle") as HTMLButtonElement).disabled = !pulled.length;
    open([{ path: "messages.pgn", file: new File([pulledBundle()], "messages.pgn") }]);
    const off = got.clock.offsetMs / 1000;
    $("pulled").textContent =
      `Pulled ${got.messages.toLocaleString("en")} new messages from ${line.name} (${w.pigeonPulled.held.toLocaleString("en")} held); the logger's clock is ${Math.abs(off).toFixed(1)} s ${off < 0 ? "behind" : "ahead of"} this computer's.`;
  } catch (e) {
    $("progress").hidden = true;
    status(
      `${line.name}: ${(e as Error).message}${pulled.length ? ` (${pulled.filter((t) => t !== undefined).length} messages kept: connect again to go on)` : ""}`,
      "bad"
    );
    w.pigeonState = "error";
  } finally {
    await line.close();
    button.disabled = false;
  }
}

function saveBundle() {
  const a = el("a", {
    download: "messages.pgn",
    href: URL.createObjectURL(new Blob([pulledBundle()], { type: "text/plain" })),
  });
  document.body.append(a);
  a.click();
  a.remove();
}

/** The files of a dropped directory, named "<dir>/<path>". */
async function entryFiles(
  entry: FileSystemEntry,
  into: { path: string; file: File }[],
  prefix = ""
) {
  if (entry.isFile)
    into.push({
      path: prefix + entry.name,
      file: await new Promise<File>((ok, bad) => (entry as FileSystemFileEntry).file(ok, bad)),
    });
  else if (entry.isDirectory) {
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((ok, bad) => reader.readEntries(ok, bad));
      if (!batch.length) break;
      for (const e of batch) await entryFiles(e, into, prefix + entry.name + "/");
    }
  }
}

function init() {
  const pickFile = $("file") as HTMLInputElement,
    pickDir = $("dir") as HTMLInputElement;
  pickFile.onchange = () =>
    open([...(pickFile.files ?? [])].map((file) => ({ path: file.name, file })));
  pickDir.onchange = () =>
    open(
      [...(pickDir.files ?? [])].map((file) => ({
        path: file.webkitRelativePath || file.name,
        file,
      }))
    );
  ($("csv") as HTMLButtonElement).onclick = saveCsv;
  // Web Serial and Web Bluetooth where the browser has them (Chromium)
  const via = $("via") as HTMLSelectElement,
    names: Record<string, string> = { serial: "USB or serial", bluetooth: "Bluetooth" };
  for (const t of transports()) via.append(el("option", { value: t, text: names[t] }));
  $("link").hidden = !via.options.length;
  ($("connect") as HTMLButtonElement).onclick = connect;
  ($("bundle") as HTMLButtonElement).onclick = saveBundle;
  document.addEventListener(
    "dragover",
    (e) => (e.preventDefault(), document.body.classList.add("drag"))
  );
  document.addEventListener("dragleave", () => document.body.classList.remove("drag"));
  document.addEventListener("drop", async (e) => {
    e.preventDefault();
    document.body.classList.remove("drag");
    const items = [...(e.dataTransfer?.items ?? [])]
      .map((i) => i.webkitGetAsEntry())
      .filter((x): x is FileSystemEntry => !!x);
    const files: { path: string; file: File }[] = [];
    for (const entry of items) await entryFiles(entry, files);
    // no entries (a drag made by a script): the plain files
    if (!files.length)
      for (const file of e.dataTransfer?.files ?? []) files.push({ path: file.name, file });
    open(files);
  });
  window.addEventListener("resize", () => {
    for (const p of plots)
      p.plot.setSize({
        width: Math.max(320, (p.plot.root.parentElement!.parentElement as HTMLElement).clientWidth),
        height: 260,
      });
  });
  w.pigeonPlotRanges = () => plots.map((p) => [p.plot.scales.x.min!, p.plot.scales.x.max!]);
  w.pigeonState = "ready";
}
init();
