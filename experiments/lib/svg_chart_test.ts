import assert from "node:assert/strict";
import { barChart, formatNumber, lineChart } from "./svg_chart.ts";

/** Checks that every element is closed in order (enough to catch broken markup) and returns the tag names seen. */
function assertWellFormed(svg: string): string[] {
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" /);
  const open: string[] = [];
  const seen: string[] = [];
  for (const [, closing, name, selfClosing] of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    if (closing) {
      assert.equal(open.pop(), name, `</${name}> closes the wrong element`);
      continue;
    }
    if (!selfClosing) open.push(name);
    seen.push(name);
  }
  assert.deepEqual(open, [], "unclosed elements");
  assert.doesNotMatch(svg.replace(/&(amp|lt|gt|quot|apos);/g, ""), /&/, "unescaped &");
  return seen;
}

const tickLabels = (svg: string) => [...svg.matchAll(/<text class="tick"[^>]*>([^<]*)</g)].map((m) => m[1]);

Deno.test("lineChart: axes with ticks, one line and legend entry per series", () => {
  const svg = lineChart({
    title: "checker time <by size> & keys",
    xLabel: "operations",
    yLabel: "seconds",
    series: [
      { name: "10 keys", points: [[1e4, 0.2], [1e5, 2.5], [1e6, 30]] },
      { name: "1000 keys", points: [[1e4, 0.1], [1e5, 1], [1e6, 9]] },
    ],
    logX: true,
    logY: true,
  });
  const tags = assertWellFormed(svg);
  assert.equal(tags.filter((t) => t === "polyline").length, 2);
  assert.equal(tags.filter((t) => t === "circle").length, 6);
  assert.match(svg, /checker time &lt;by size&gt; &amp; keys/);
  assert.match(svg, />10 keys</);
  assert.match(svg, />1000 keys</);
  const labels = tickLabels(svg);
  for (const expected of ["10k", "100k", "1M", "0.1", "1", "10", "100"]) {
    assert.ok(labels.includes(expected), `tick ${expected}`);
  }
});

Deno.test("lineChart: linear ticks are round numbers covering the data", () => {
  const svg = lineChart({
    title: "t",
    xLabel: "x",
    yLabel: "y",
    series: [{ name: "s", points: [[0, 3], [7, 41]] }],
  });
  assertWellFormed(svg);
  const labels = tickLabels(svg).map(Number);
  assert.ok(labels.includes(0) && labels.includes(40) && Math.max(...labels) >= 41, labels.join(" "));
});

Deno.test("lineChart: a single point, empty series, no series and bad values do not crash", () => {
  for (
    const series of [[{ name: "one", points: [[5, 5]] as Array<[number, number]> }], [{
      name: "empty",
      points: [],
    }], []]
  ) {
    const svg = lineChart({ title: "t", xLabel: "x", yLabel: "y", series, logY: true });
    assertWellFormed(svg);
    assert.doesNotMatch(svg, /NaN|Infinity/);
    assert.ok(tickLabels(svg).length >= 2);
  }
  const svg = lineChart({
    title: "t",
    xLabel: "x",
    yLabel: "y",
    series: [{ name: "s", points: [[1, 0], [2, NaN], [3, 5]] }],
    logY: true,
  });
  assertWellFormed(svg);
  assert.equal(svg.match(/<circle/g)?.length, 1, "zero and NaN cannot be drawn on a log scale");
  assert.match(lineChart({ title: "t", xLabel: "x", yLabel: "y", series: [] }), /no data/);
});

Deno.test("barChart: one bar per entry, groups share a colour and get a legend", () => {
  const svg = barChart({
    title: "throughput",
    yLabel: "ops/s",
    bars: [
      { label: "1 client", value: 1200, group: "safe" },
      { label: "8 clients", value: 8000, group: "safe" },
      { label: "1 client", value: 1500, group: "unsafe" },
    ],
  });
  const tags = assertWellFormed(svg);
  assert.equal(tags.filter((t) => t === "rect").length, 1 + 3 + 2, "background, bars, legend swatches");
  assert.match(svg, />safe</);
  assert.match(svg, />unsafe</);
  assert.match(svg, />8000</);
  assert.ok(tickLabels(svg).includes("0"));
  assertWellFormed(barChart({ title: "empty", yLabel: "y", bars: [] }));
  assertWellFormed(barChart({ title: "one", yLabel: "y", bars: [{ label: "only", value: 0 }] }));
});

Deno.test("formatNumber keeps tick labels short", () => {
  assert.deepEqual([1234567, 25000, 2500, 0.000123, -42, 0].map(formatNumber), [
    "1.23M",
    "25k",
    "2500",
    "0.000123",
    "-42",
    "0",
  ]);
});
