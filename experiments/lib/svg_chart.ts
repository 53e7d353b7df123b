/**
 * Small dependency-free SVG charts for the benchmarks: a line chart (optionally log-scaled) and a bar
 * chart, each a standalone SVG string with a title, labelled axes with ticks, and a legend.
 */

export interface Series {
  name: string;
  points: Array<[x: number, y: number]>;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  logY?: boolean;
  width?: number;
  height?: number;
}

export interface Bar {
  label: string;
  value: number;
  /** Bars of one group share a colour and a legend entry. */
  group?: string;
}

export interface BarChartOptions {
  title: string;
  yLabel: string;
  bars: Bar[];
  width?: number;
  height?: number;
}

const PALETTE = ["#2f6fb5", "#d9622b", "#3b8f5a", "#8e44ad", "#c0392b", "#16a2b8", "#b7950b", "#555555"];
const MARGIN = { top: 48, right: 24, bottom: 64, left: 78 };
const FONT = `font-family="system-ui, sans-serif"`;

export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 760;
  const height = options.height ?? 440;
  const usable = (v: number, log?: boolean) => Number.isFinite(v) && (!log || v > 0);
  const series = options.series.map((s) => ({
    name: s.name,
    points: s.points.filter(([x, y]) => usable(x, options.logX) && usable(y, options.logY)).sort((a, b) =>
      a[0] - b[0]
    ),
  }));
  const xs = series.flatMap((s) => s.points.map(([x]) => x));
  const ys = series.flatMap((s) => s.points.map(([, y]) => y));
  const plot = plotArea(width, height, series.length > 0 ? legendWidth(series.map((s) => s.name)) : 0);
  const xAxis = makeAxis(xs, options.logX ?? false, plot.left, plot.right, false);
  const yAxis = makeAxis(ys, options.logY ?? false, plot.bottom, plot.top, true);
  const parts = [
    frame(width, height, options.title),
    axes(plot, xAxis, yAxis, options.xLabel, options.yLabel),
  ];
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const coords = s.points.map(([x, y]) => `${fmt(xAxis.scale(x))},${fmt(yAxis.scale(y))}`);
    if (coords.length > 1) {
      parts.push(`<polyline points="${coords.join(" ")}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    for (const [x, y] of s.points) {
      parts.push(
        `<circle cx="${fmt(xAxis.scale(x))}" cy="${fmt(yAxis.scale(y))}" r="3.5" fill="${color}">` +
          `<title>${escapeXml(`${s.name}: (${formatNumber(x)}, ${formatNumber(y)})`)}</title></circle>`,
      );
    }
  });
  if (xs.length === 0) parts.push(noData(plot));
  parts.push(legend(plot, series.map((s, i) => ({ name: s.name, color: PALETTE[i % PALETTE.length] }))));
  return svg(width, height, parts);
}

export function barChart(options: BarChartOptions): string {
  const bars = options.bars.filter((b) => Number.isFinite(b.value));
  const groups = [...new Set(bars.map((b) => b.group).filter((g): g is string => g !== undefined))];
  const colorOf = (b: Bar) => PALETTE[(b.group === undefined ? 0 : groups.indexOf(b.group)) % PALETTE.length];
  const rotate = bars.length > 8 || bars.some((b) => b.label.length > 12);
  const width = options.width ??
    Math.max(520, 110 + bars.length * 56 + (groups.length > 0 ? legendWidth(groups) : 0));
  const height = options.height ?? (rotate ? 480 : 420);
  const plot = plotArea(width, height, groups.length > 0 ? legendWidth(groups) : 0, rotate ? 110 : 0);
  const yAxis = makeAxis([0, ...bars.map((b) => b.value)], false, plot.bottom, plot.top, true);
  const parts = [frame(width, height, options.title), axes(plot, undefined, yAxis, "", options.yLabel)];
  const slot = (plot.right - plot.left) / Math.max(bars.length, 1);
  const barWidth = Math.min(48, slot * 0.7);
  bars.forEach((b, i) => {
    const cx = plot.left + slot * (i + 0.5);
    const y = yAxis.scale(Math.max(b.value, 0));
    const base = yAxis.scale(0);
    parts.push(
      `<rect x="${fmt(cx - barWidth / 2)}" y="${fmt(Math.min(y, base))}" width="${fmt(barWidth)}" ` +
        `height="${fmt(Math.abs(base - y))}" fill="${colorOf(b)}"><title>${
          escapeXml(`${b.label}${b.group ? ` (${b.group})` : ""}: ${formatNumber(b.value)}`)
        }</title></rect>`,
      `<text x="${fmt(cx)}" y="${
        fmt(Math.min(y, base) - 4)
      }" text-anchor="middle" font-size="11" fill="#333">${escapeXml(formatNumber(b.value))}</text>`,
      rotate
        ? `<text transform="translate(${fmt(cx + 4)},${
          fmt(plot.bottom + 10)
        }) rotate(-40)" text-anchor="end" ` +
          `font-size="11" fill="#333">${escapeXml(b.label)}</text>`
        : `<text x="${fmt(cx)}" y="${
          fmt(plot.bottom + 18)
        }" text-anchor="middle" font-size="11" fill="#333">${escapeXml(b.label)}</text>`,
    );
  });
  if (bars.length === 0) parts.push(noData(plot));
  parts.push(legend(plot, groups.map((g, i) => ({ name: g, color: PALETTE[i % PALETTE.length] }))));
  return svg(width, height, parts);
}

interface Plot {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

interface Axis {
  scale: (v: number) => number;
  ticks: number[];
}

function plotArea(width: number, height: number, legendSpace: number, extraBottom = 0): Plot {
  return {
    left: MARGIN.left,
    right: width - MARGIN.right - legendSpace,
    top: MARGIN.top,
    bottom: height - MARGIN.bottom - extraBottom,
  };
}

function legendWidth(names: string[]): number {
  return Math.min(260, 34 + 7 * Math.max(...names.map((n) => n.length)));
}

/** Maps data values onto pixels [from, to] with "nice" ticks (1, 2, 5 x 10^k, or powers of 10 when log). */
function makeAxis(values: number[], log: boolean, from: number, to: number, vertical: boolean): Axis {
  let lo = values.length > 0 ? Math.min(...values) : log ? 1 : 0;
  let hi = values.length > 0 ? Math.max(...values) : log ? 10 : 1;
  if (log) {
    lo = 10 ** Math.floor(Math.log10(lo));
    hi = 10 ** Math.ceil(Math.log10(hi));
    if (lo === hi) hi = lo * 10;
    const ticks: number[] = [];
    const decades = Math.log10(hi / lo);
    for (let p = Math.log10(lo); p <= Math.log10(hi) + 1e-9; p++) {
      const decade = 10 ** p;
      ticks.push(decade);
      if (decades <= 2 && p < Math.log10(hi) - 1e-9) ticks.push(decade * 2, decade * 5);
    }
    const span = Math.log10(hi) - Math.log10(lo);
    return {
      scale: (v) => from + (Math.log10(v) - Math.log10(lo)) / span * (to - from),
      ticks: ticks.sort((a, b) => a - b),
    };
  }
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  if (vertical && lo > 0 && lo < hi * 0.5) lo = 0;
  const step = niceStep((hi - lo) / 5);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let v = lo; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return { scale: (v) => from + (v - lo) / (hi - lo) * (to - from), ticks };
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

function frame(width: number, height: number, title: string): string {
  return `<rect width="${width}" height="${height}" fill="white"/>` +
    `<text x="${width / 2}" y="28" text-anchor="middle" font-size="16" font-weight="bold" fill="#222">${
      escapeXml(title)
    }</text>`;
}

function axes(plot: Plot, x: Axis | undefined, y: Axis, xLabel: string, yLabel: string): string {
  const parts = [
    `<line x1="${plot.left}" y1="${plot.bottom}" x2="${plot.right}" y2="${plot.bottom}" stroke="#333"/>`,
    `<line x1="${plot.left}" y1="${plot.top}" x2="${plot.left}" y2="${plot.bottom}" stroke="#333"/>`,
  ];
  for (const t of y.ticks) {
    const py = fmt(y.scale(t));
    parts.push(
      `<line x1="${plot.left}" y1="${py}" x2="${plot.right}" y2="${py}" stroke="#e5e5e5"/>`,
      `<line x1="${plot.left - 5}" y1="${py}" x2="${plot.left}" y2="${py}" stroke="#333"/>`,
      `<text class="tick" x="${
        plot.left - 8
      }" y="${py}" dy="4" text-anchor="end" font-size="11" fill="#333">${escapeXml(formatNumber(t))}</text>`,
    );
  }
  for (const t of x?.ticks ?? []) {
    const px = fmt(x!.scale(t));
    parts.push(
      `<line x1="${px}" y1="${plot.bottom}" x2="${px}" y2="${plot.bottom + 5}" stroke="#333"/>`,
      `<text class="tick" x="${px}" y="${plot.bottom + 18}" text-anchor="middle" font-size="11" fill="#333">${
        escapeXml(formatNumber(t))
      }</text>`,
    );
  }
  parts.push(
    `<text x="${(plot.left + plot.right) / 2}" y="${
      plot.bottom + 44
    }" text-anchor="middle" font-size="13" fill="#222">${escapeXml(xLabel)}</text>`,
    `<text transform="translate(18,${
      (plot.top + plot.bottom) / 2
    }) rotate(-90)" text-anchor="middle" font-size="13" ` +
      `fill="#222">${escapeXml(yLabel)}</text>`,
  );
  return parts.join("");
}

function legend(plot: Plot, entries: Array<{ name: string; color: string }>): string {
  return entries.map((e, i) => {
    const y = plot.top + 8 + i * 20;
    return `<rect x="${plot.right + 12}" y="${y - 9}" width="14" height="10" fill="${e.color}"/>` +
      `<text x="${plot.right + 32}" y="${y}" font-size="12" fill="#222">${escapeXml(e.name)}</text>`;
  }).join("");
}

function noData(plot: Plot): string {
  return `<text x="${(plot.left + plot.right) / 2}" y="${
    (plot.top + plot.bottom) / 2
  }" text-anchor="middle" ` +
    `font-size="14" fill="#999">no data</text>`;
}

function svg(width: number, height: number, parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" ${FONT}>${parts.join("")}</svg>\n`;
}

/** 1234567 -> "1.23M", 0.00012 -> "0.00012", 2500 -> "2.5k". */
export function formatNumber(v: number): string {
  const abs = Math.abs(v);
  if (abs >= 1e9) return `${trim(v / 1e9)}G`;
  if (abs >= 1e6) return `${trim(v / 1e6)}M`;
  if (abs >= 1e4) return `${trim(v / 1e3)}k`;
  return trim(v);
}

function trim(v: number): string {
  return String(Number(v.toPrecision(3)));
}

function fmt(v: number): string {
  return String(Math.round(v * 10) / 10);
}

function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!,
  );
}
