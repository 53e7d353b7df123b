/**
 * Every chart in bench-results/: a Vega-Lite spec compiled to Vega and rendered to an SVG string
 * headless (no browser, no canvas). A system keeps one colour in every chart (raft-kv blue, etcd
 * orange), so two charts read side by side; within a system, the kind of operation is the dash.
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/** Fixed colours per system; anything else falls back to the palette after them. */
export const SYSTEM_COLOURS: Record<string, string> = {
  "raft-kv": "#1f77b4",
  etcd: "#ff7f0e",
};
const FALLBACK = ["#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf", "#bcbd22"];

/** The colour scale for a set of system names: fixed ones first, the rest from the palette. */
function colourScale(systems: string[]): { domain: string[]; range: string[] } {
  const domain = [...new Set(systems)];
  let next = 0;
  const range = domain.map((s) => SYSTEM_COLOURS[s] ?? FALLBACK[next++ % FALLBACK.length]);
  return { domain, range };
}

export interface Series {
  /** Which system the numbers are of: sets the colour. */
  system: string;
  /** What was measured (e.g. "writes", "linearizable reads"): sets the dash and the point shape. */
  variant?: string;
  points: Array<[number, number]>;
}

export interface LineChartOptions {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  logY?: boolean;
  width?: number;
  height?: number;
  /** The colour legend's title (default "system"). */
  colourTitle?: string;
}

const CONFIG = {
  font: "sans-serif",
  title: { fontSize: 15, anchor: "start" as const, subtitleColor: "#555" },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#e6e6e6" },
  legend: {
    labelFontSize: 11,
    titleFontSize: 12,
    orient: "bottom" as const,
    direction: "horizontal" as const,
    labelLimit: 400,
    symbolStrokeWidth: 2,
    symbolSize: 120,
  },
  background: "white",
};

/** Renders a Vega-Lite spec to a standalone SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function title(text: string, subtitle?: string) {
  return subtitle ? { text, subtitle } : { text };
}

/** Lines with points: one colour per system, one dash per variant; axes fitted to the data. */
export function lineChart(o: LineChartOptions): Promise<string> {
  const values = o.series.flatMap((s) =>
    s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x, y]) => ({
      system: s.system,
      variant: s.variant ?? "",
      series: s.variant ? `${s.system} ${s.variant}` : s.system,
      x,
      y,
    }))
  );
  const variants = [...new Set(o.series.map((s) => s.variant ?? ""))];
  // A log axis spans the data, not the next powers of ten.
  const scale = (log?: boolean) => log ? { type: "log" as const, nice: false } : { zero: false };
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: title(o.title, o.subtitle),
    width: o.width ?? 620,
    height: o.height ?? 340,
    data: { values },
    mark: { type: "line", point: { size: 45, filled: true }, strokeWidth: 2 },
    encoding: {
      x: { field: "x", type: "quantitative", title: o.xLabel, scale: scale(o.logX) },
      y: { field: "y", type: "quantitative", title: o.yLabel, scale: scale(o.logY) },
      color: {
        field: "system",
        type: "nominal",
        title: o.colourTitle ?? "system",
        scale: colourScale(values.map((v) => v.system)),
      },
      ...(variants.length > 1
        ? {
          strokeDash: { field: "variant", type: "nominal", title: "measured", sort: variants },
          shape: { field: "variant", type: "nominal", title: "measured", sort: variants },
        }
        : {}),
      detail: { field: "series", type: "nominal" },
    },
    config: CONFIG,
  };
  return renderSvg(spec);
}

export interface GroupedBar {
  /** The category on the x axis (e.g. "leader kill", "batch 64"). */
  group: string;
  /** Colour. */
  system: string;
  value: number;
  /** Optional whisker, e.g. p50 bar with a p99 whisker. */
  high?: number;
}

export interface BarChartOptions {
  title: string;
  subtitle?: string;
  yLabel: string;
  xLabel?: string;
  bars: GroupedBar[];
  logY?: boolean;
  width?: number;
  height?: number;
  /** The colour legend's title (default "system"). */
  colourTitle?: string;
}

/** Bars per group, one colour per system, side by side; an optional whisker up to `high`. */
export function barChart(o: BarChartOptions): Promise<string> {
  const values = o.bars.filter((b) => Number.isFinite(b.value));
  const groups = [...new Set(values.map((b) => b.group))];
  const systems = [...new Set(values.map((b) => b.system))];
  const colour = {
    field: "system",
    type: "nominal" as const,
    title: o.colourTitle ?? "system",
    scale: colourScale(systems),
    ...(systems.length === 1 ? { legend: null } : {}),
  };
  const longLabels = groups.some((g) => g.length > 14);
  const x = {
    field: "group",
    type: "nominal" as const,
    title: o.xLabel ?? null,
    sort: groups,
    axis: { labelAngle: longLabels ? -25 : 0, labelLimit: 600 },
  };
  // On a log axis a bar cannot start at zero: it starts at the bottom of a domain fitted to the data.
  const floor = 10 ** Math.floor(Math.log10(Math.max(1e-9, Math.min(...values.map((b) => b.value))) / 2));
  // Room above the tallest bar or whisker for its label.
  const top = 1.4 * Math.max(...values.map((b) => Math.max(b.value, b.high ?? 0)));
  const y = {
    field: "value",
    type: "quantitative" as const,
    title: o.yLabel,
    scale: o.logY ? { type: "log" as const, domain: [floor, top], nice: false } : { domainMax: top },
  };
  const y2 = o.logY ? { y2: { datum: floor } } : {};
  const xOffset = { field: "system", type: "nominal" as const, sort: systems };
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: title(o.title, o.subtitle),
    width: o.width ?? Math.max(320, groups.length * systems.length * 60),
    height: o.height ?? 320,
    data: { values },
    layer: [
      { mark: { type: "bar" }, encoding: { x, y, ...y2, xOffset, color: colour } },
      {
        mark: { type: "text", dy: -6, fontSize: 10 },
        encoding: { x, xOffset, y, text: { field: "value", type: "quantitative", format: ",.3~r" } },
      },
      ...(values.some((b) => b.high !== undefined)
        ? [{
          transform: [{ filter: "isValid(datum.high)" }],
          mark: { type: "rule" as const, color: "#333" },
          encoding: { x, xOffset, y, y2: { field: "high" } },
        }]
        : []),
    ],
    config: CONFIG,
  };
  return renderSvg(spec);
}
