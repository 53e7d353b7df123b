/**
 * One self-contained HTML page per checked history (inline CSS, JS and data; no network): the verdict,
 * why it breaks, and per key a timeline with one row per client and each operation as a bar from call
 * to return. The linearization found (or the longest partial one) is drawn as numbered points joined by
 * a line; the operation where it breaks is red; operations outside it are faded. Hover for values.
 */
import type { CheckResult } from "./checker.ts";
import type { Model } from "./model.ts";
import type { Annotation } from "./operation.ts";
import { buildReportData, type ReportData } from "./report_data.ts";

export function renderReportHtml(
  result: CheckResult,
  model: Model,
  options: { title: string; headline: string; annotations?: Annotation[] },
): string {
  const data = buildReportData(result, model, { ...options, annotations: options.annotations ?? [] });
  return page(data);
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** JSON inside <script>: "<" is escaped so that no value can close the script element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(
    /\u2029/g,
    "\\u2029",
  );
}

function page(data: ReportData): string {
  const verdictClass = data.verdict === "linearizable"
    ? "ok"
    : data.verdict === "not linearizable"
    ? "bad"
    : "unknown";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(data.verdict)}: ${escapeHtml(data.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header class="${verdictClass}">
  <div class="verdict">${escapeHtml(data.verdict.toUpperCase())}</div>
  <div class="title">${escapeHtml(data.title)}</div>
  <div class="headline">${escapeHtml(data.headline)}</div>
</header>
<main>
  <div id="controls">
    <label>time axis <select id="axis"><option value="order">event order</option><option value="real">real time</option></select></label>
    <span class="legend">
      <span class="sw read"></span>get/read <span class="sw write"></span>put/write <span class="sw append"></span>append
      <span class="sw cas"></span>cas <span class="sw delete"></span>delete <span class="sw faded"></span>not in the linearization
      <span class="sw broken"></span>where it breaks <span class="dot"></span>linearization point (in order)
    </span>
  </div>
  <div id="partitions"></div>
  <h2>All keys</h2>
  <table id="keys"><thead><tr><th>key</th><th>verdict</th><th>ops</th><th>ms</th></tr></thead><tbody></tbody></table>
</main>
<div id="tip"></div>
<script>const DATA = ${scriptJson(data)};</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

const CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
header { padding: 14px 24px; color: white; }
header.ok { background: #1f8a4c; } header.bad { background: #c0392b; } header.unknown { background: #b7791f; }
header .verdict { font-size: 26px; font-weight: 700; letter-spacing: .5px; }
header .title { font-family: ui-monospace, monospace; opacity: .9; }
header .headline { margin-top: 4px; font-size: 15px; }
main { padding: 12px 24px 40px; }
#controls { display: flex; gap: 24px; align-items: center; flex-wrap: wrap; margin-bottom: 10px; }
.legend { color: #444; font-size: 12px; }
.sw { display: inline-block; width: 14px; height: 10px; border-radius: 2px; margin: 0 3px 0 10px; vertical-align: middle; }
.sw.read { background: #3b8f5a; } .sw.write { background: #2f6fb5; } .sw.append { background: #2a9bb0; }
.sw.cas { background: #7d4cb0; } .sw.delete { background: #c77c1e; } .sw.faded { background: #2f6fb5; opacity: .25; }
.sw.broken { background: #e53935; outline: 2px solid #7f0000; }
.dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: #111; margin: 0 3px 0 10px; vertical-align: middle; }
section.partition { background: white; border: 1px solid #dde1e7; border-radius: 6px; margin: 14px 0; }
section.partition > summary, section.partition > .head { padding: 8px 12px; cursor: pointer; font-weight: 600; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; color: white; margin-right: 8px; }
.badge.ok { background: #1f8a4c; } .badge.bad { background: #c0392b; } .badge.unknown { background: #b7791f; }
.explain { margin: 0 12px 8px; padding: 8px 12px; background: #fdecea; border-left: 4px solid #c0392b; }
.explain.unknown { background: #fff6e0; border-color: #b7791f; }
.note { margin: 0 12px 6px; color: #666; font-size: 12px; }
.timeline { display: flex; margin: 0 12px 12px; border: 1px solid #e3e6ea; }
.lanes { flex: none; background: #fafbfc; border-right: 1px solid #e3e6ea; }
.lanes div { height: 22px; line-height: 22px; padding: 0 8px; font-size: 12px; color: #555; white-space: nowrap; }
.scroll { overflow-x: auto; flex: 1; }
svg text { font: 11px ui-monospace, monospace; pointer-events: none; }
svg .bar { stroke: rgba(0,0,0,.35); stroke-width: 1; cursor: default; }
svg .bar:hover { stroke: #000; stroke-width: 2; }
svg .broken { fill: #e53935 !important; stroke: #7f0000; stroke-width: 3; }
table { border-collapse: collapse; background: white; font-size: 13px; }
td, th { border: 1px solid #dde1e7; padding: 3px 10px; text-align: left; }
td.bad { color: #c0392b; font-weight: 600; } td.unknown { color: #b7791f; font-weight: 600; }
#tip { position: fixed; display: none; max-width: 520px; background: #1d2330; color: #f4f6f8; padding: 8px 10px;
  border-radius: 5px; font: 12px/1.45 ui-monospace, monospace; pointer-events: none; z-index: 10; white-space: pre-wrap; }
a.jump { color: white; font-weight: 600; }
`;

/** The page's script: draws each key's timeline as SVG from DATA. Plain JS, no dependencies. */
const SCRIPT = `
"use strict";
const ROW = 22, PAD = 12, AXIS = 24, MIN_STEP = 18, MAX_STEP = 150;
const COLORS = { read: "#3b8f5a", write: "#2f6fb5", append: "#2a9bb0", cas: "#7d4cb0", delete: "#c77c1e" };
const SVG = "http://www.w3.org/2000/svg";
const tip = document.getElementById("tip");
const verdictClass = (v) => v === "linearizable" ? "ok" : v === "not linearizable" ? "bad" : "unknown";

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function fmtTime(t) { return t === null ? "never (outcome unknown)" : Number(t.toFixed(3)) + " ms"; }

/** x positions: by event order (every distinct time one step apart) or proportional to real time. */
function makeScale(part, mode, available) {
  const times = [];
  for (const op of part.ops) { times.push(op.call); if (op.ret !== null) times.push(op.ret); }
  const lo = Math.min(...times), hi = Math.max(...times);
  for (const a of DATA.annotations) if (a.time >= lo && a.time <= hi) times.push(a.time);
  const distinct = [...new Set(times)].sort((a, b) => a - b);
  const rank = new Map(distinct.map((t, i) => [t, i]));
  // Small keys stretch to the page width; big ones scroll.
  const STEP = Math.min(MAX_STEP, Math.max(MIN_STEP, (available - 2 * PAD) / (distinct.length + 3)));
  const width = distinct.length * STEP;
  const x = mode === "order"
    ? (t) => PAD + rank.get(t) * STEP
    : (t) => PAD + (hi === lo ? 0 : (t - lo) / (hi - lo)) * width;
  return { x, step: STEP, end: PAD + width + 3 * STEP, distinct };
}

function draw(full, container, mode, focused, lanesDiv) {
  container.textContent = "";
  // In the focus view only the ops around the break are drawn, on the rows they use.
  const keep = focused && full.focus ? new Set(full.focus) : null;
  const ops = keep ? full.ops.filter((o) => keep.has(o.id)) : full.ops;
  // The row of the op where it breaks comes first, so that it is in view at once.
  const breakLane = full.ops.find((o) => o.id === full.breakingId)?.lane;
  const used = [...new Set(ops.map((o) => o.lane))].sort((a, b) => (a === breakLane ? -1 : b === breakLane ? 1 : a - b));
  const row = new Map(used.map((lane, i) => [lane, i]));
  const part = { ...full, ops: ops.map((o) => ({ ...o, lane: row.get(o.lane) })), lanes: used.map((l) => full.lanes[l]) };
  lanesDiv.textContent = "";
  for (const name of part.lanes) { const d = document.createElement("div"); d.textContent = name; lanesDiv.appendChild(d); }
  const scale = makeScale(part, mode, container.clientWidth);
  const STEP = scale.step;
  const height = part.lanes.length * ROW + AXIS;
  const svg = el("svg", { width: scale.end + PAD, height });
  for (let i = 0; i < part.lanes.length; i++) {
    if (i % 2) el("rect", { x: 0, y: i * ROW, width: scale.end + PAD, height: ROW, fill: "#f7f8fa" }, svg);
  }
  for (const a of DATA.annotations) {
    const t = a.time;
    if (t < scale.distinct[0] || t > scale.distinct[scale.distinct.length - 1]) continue;
    const ax = scale.x(t);
    el("line", { x1: ax, x2: ax, y1: 0, y2: height - AXIS, stroke: "#b7791f", "stroke-dasharray": "4 3" }, svg);
    const label = el("text", { x: ax + 3, y: 10, fill: "#8a5a00" }, svg);
    label.textContent = a.text;
  }
  // Linearization points: in order, each inside its op's interval and after the previous one.
  const inOrder = part.ops.filter((o) => o.order >= 0).sort((a, b) => a.order - b.order);
  const lp = new Map();
  let last = -Infinity;
  for (const op of inOrder) {
    const lo = scale.x(op.call), hi = op.ret === null ? scale.end - STEP : scale.x(op.ret);
    const at = Math.min(Math.max(lo + 2, last + 3), Math.max(hi - 2, lo + 2));
    lp.set(op.id, at);
    last = at;
  }
  for (const op of part.ops) {
    const x1 = scale.x(op.call);
    const x2 = op.ret === null ? scale.end - STEP : Math.max(scale.x(op.ret), x1 + 4);
    const y = op.lane * ROW + 3;
    const broken = op.id === part.breakingId;
    const bar = el("rect", {
      x: x1, y, width: Math.max(x2 - x1, 4), height: ROW - 6, rx: 3,
      fill: COLORS[op.kind], "fill-opacity": broken ? 1 : op.order >= 0 ? 0.9 : 0.25,
      class: broken ? "bar broken" : "bar",
      "stroke-dasharray": op.ret === null ? "5 3" : "",
    }, svg);
    if (broken) bar.id = "break-" + part.key;
    bar.addEventListener("mousemove", (e) => showTip(e, op, part));
    bar.addEventListener("mouseleave", () => tip.style.display = "none");
    if (x2 - x1 > 30) {
      const text = el("text", { x: x1 + 4, y: y + 12, fill: op.order >= 0 || broken ? "white" : "#333" }, svg);
      text.textContent = op.label;
      const clip = el("clipPath", { id: "clip-" + op.id }, svg);
      el("rect", { x: x1, y, width: x2 - x1 - 3, height: ROW - 6 }, clip);
      text.setAttribute("clip-path", "url(#clip-" + op.id + ")");
    }
  }
  const points = inOrder.map((op) => lp.get(op.id) + "," + (op.lane * ROW + ROW / 2)).join(" ");
  if (inOrder.length > 1) el("polyline", { points, fill: "none", stroke: "#111", "stroke-width": 1.2, "stroke-opacity": 0.7 }, svg);
  for (const op of inOrder) {
    const cx = lp.get(op.id), cy = op.lane * ROW + ROW / 2;
    el("circle", { cx, cy, r: 3.5, fill: "#111", stroke: "white", "stroke-width": 1 }, svg);
  }
  if (part.verdict !== "linearizable" && inOrder.length > 0) {
    const stop = last + 4;
    el("line", { x1: stop, x2: stop, y1: 0, y2: height - AXIS, stroke: "#c0392b", "stroke-width": 2 }, svg);
  }
  const broken = part.ops.find((op) => op.id === part.breakingId);
  if (broken) {
    const bx = broken.ret === null ? scale.end - STEP : Math.max(scale.x(broken.ret), scale.x(broken.call) + 4);
    const by = broken.lane * ROW + 3;
    const stopped = part.verdict === "unknown";
    el("rect", { x: bx + 3, y: by, width: stopped ? 128 : 92, height: ROW - 6, rx: 3, fill: "white", stroke: "#b71c1c" }, svg);
    const mark = el("text", { x: bx + 8, y: by + 12, fill: "#b71c1c" }, svg);
    mark.textContent = stopped ? "search stopped here" : "✗ breaks here";
    mark.setAttribute("style", "font-weight:700");
  }
  // Axis: real times at a few of the event positions.
  const axisY = height - AXIS + 14;
  el("line", { x1: 0, x2: scale.end, y1: height - AXIS + 2, y2: height - AXIS + 2, stroke: "#999" }, svg);
  const every = Math.max(1, Math.ceil(scale.distinct.length / Math.max(1, scale.end / 90)));
  for (let i = 0; i < scale.distinct.length; i += every) {
    const t = scale.distinct[i], tx = scale.x(t);
    el("line", { x1: tx, x2: tx, y1: height - AXIS + 2, y2: height - AXIS + 6, stroke: "#999" }, svg);
    const label = el("text", { x: tx + 2, y: axisY, fill: "#666" }, svg);
    label.textContent = Number(t.toFixed(2)) + "ms";
  }
  container.appendChild(svg);
}

function showTip(e, op, part) {
  const lines = [op.text, "client " + op.client + ", " + op.status, "call   " + fmtTime(op.call), "return " + fmtTime(op.ret)];
  if (op.id === part.breakingId) {
    lines.push("", part.verdict === "unknown"
      ? "the search ran out of budget before placing this op"
      : "✗ the linearization breaks here: this op cannot take effect next");
  }
  if (op.order >= 0) lines.push("", "linearized #" + (op.order + 1) + " of " + part.linearized, "value before: " + op.before, "value after:  " + op.after);
  else if (op.status === "unknown") lines.push("", "not in the linearization: no effect observed (or it took effect after everything else)");
  else lines.push("", "not in the linearization: the search could not place it");
  tip.textContent = lines.join("\\n");
  tip.style.display = "block";
  tip.style.left = Math.min(e.clientX + 14, innerWidth - 540) + "px";
  tip.style.top = (e.clientY + 14) + "px";
}

function section(part, open) {
  const s = document.createElement("details");
  s.className = "partition";
  s.id = "key-" + part.key;
  s.open = open;
  const summary = document.createElement("summary");
  summary.innerHTML = '<span class="badge ' + verdictClass(part.verdict) + '"></span><span class="k"></span>';
  summary.querySelector(".badge").textContent = part.verdict;
  summary.querySelector(".k").textContent = "key " + JSON.stringify(part.key) + " · " + part.totalOps + " ops · " +
    "checked in " + part.elapsedMs.toFixed(1) + " ms";
  s.appendChild(summary);
  s.className = "partition";
  if (part.explanation) {
    const box = document.createElement("div");
    box.className = "explain " + verdictClass(part.verdict);
    box.textContent = part.explanation;
    s.appendChild(box);
  }
  const note = document.createElement("div");
  note.className = "note";
  if (part.from > 0 || part.to < part.totalOps) {
    note.textContent = "Showing operations " + (part.from + 1) + "–" + part.to + " of " + part.totalOps + " (in call order)" +
      (part.breakingId !== undefined ? ", around the break. " : ". ");
  }
  let focused = !!part.focus;
  if (part.focus) {
    const label = document.createElement("label");
    label.innerHTML = '<input type="checkbox" checked> only the ' + part.focus.length + " operations around the break";
    label.querySelector("input").addEventListener("change", (e) => { focused = e.target.checked; render(); });
    note.appendChild(label);
  }
  s.appendChild(note);
  const tl = document.createElement("div");
  tl.className = "timeline";
  const lanes = document.createElement("div");
  lanes.className = "lanes";
  const scroll = document.createElement("div");
  scroll.className = "scroll";
  tl.append(lanes, scroll);
  s.appendChild(tl);
  let drawn = false;
  const render = () => {
    draw(part, scroll, document.getElementById("axis").value, focused, lanes);
    drawn = true;
    focusBreak(part, scroll);
  };
  s.addEventListener("toggle", () => { if (s.open && !drawn) render(); });
  document.getElementById("axis").addEventListener("change", () => { if (drawn) render(); });
  document.getElementById("partitions").appendChild(s);
  if (open) render();
}

/** Scrolls a timeline so that the op where it breaks is in view. */
function focusBreak(part, scroll) {
  const bar = document.getElementById("break-" + part.key);
  if (bar) scroll.scrollLeft = Math.max(0, Number(bar.getAttribute("x")) - scroll.clientWidth * 0.6);
}

DATA.partitions.forEach((part, i) => section(part, part.verdict !== "linearizable" || i < 3));
const tbody = document.querySelector("#keys tbody");
for (const row of DATA.rows) {
  const tr = document.createElement("tr");
  for (const [value, cls] of [[row.key, ""], [row.verdict, verdictClass(row.verdict)], [row.ops, ""], [row.ms, ""]]) {
    const td = document.createElement("td");
    td.textContent = String(value);
    if (cls) td.className = cls;
    tr.appendChild(td);
  }
  tbody.appendChild(tr);
}
const first = DATA.partitions.find((p) => p.verdict !== "linearizable");
if (first) {
  const a = document.createElement("a");
  a.className = "jump";
  a.href = "#" + encodeURIComponent("key-" + first.key);
  a.textContent = first.verdict === "unknown" ? " [ jump to the undecided key ]" : " [ jump to the first error ]";
  document.querySelector("header .headline").appendChild(a);
}
`;
