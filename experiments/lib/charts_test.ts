import assert from "node:assert/strict";
import { barChart, lineChart, SYSTEM_COLOURS } from "./charts.ts";

Deno.test("lineChart: one colour per system, a dash per variant, log axes fitted to the data", async () => {
  const svg = await lineChart({
    title: "Throughput",
    xLabel: "concurrent clients",
    yLabel: "operations per second",
    logX: true,
    series: [
      { system: "raft-kv", variant: "writes", points: [[1, 900], [8, 3300], [256, 14000]] },
      { system: "etcd", variant: "writes", points: [[1, 830], [8, 2600], [256, 9300]] },
      { system: "etcd", variant: "reads", points: [[1, 1380], [8, 4500], [256, 8700]] },
    ],
  });
  assert.match(svg, /^<svg/);
  for (
    const text of ["Throughput", "concurrent clients", "operations per second", "raft-kv", "etcd", "reads"]
  ) {
    assert.ok(svg.includes(text), `the SVG shows "${text}"`);
  }
  assert.ok(svg.includes(SYSTEM_COLOURS["raft-kv"]) && svg.includes(SYSTEM_COLOURS.etcd));
  // The log x axis ends at the data (256), not at the next power of ten.
  assert.ok(svg.includes(">200<") && !svg.includes(">1,000<"), "x axis fitted to 1..256");
});

Deno.test("barChart: the same system keeps its colour; a log axis does not lose its bars", async () => {
  const svg = await barChart({
    title: "Failover",
    yLabel: "ms",
    logY: true,
    bars: [
      { group: "new leader", system: "etcd", value: 1200, high: 1500 },
      { group: "new leader", system: "raft-kv", value: 300, high: 500 },
    ],
  });
  assert.ok(
    svg.includes(`fill="${SYSTEM_COLOURS.etcd}"`) && svg.includes(`fill="${SYSTEM_COLOURS["raft-kv"]}"`),
  );
  assert.ok(svg.includes(">1,200<") && svg.includes(">300<"), "each bar is labelled with its value");
  assert.doesNotMatch(svg, /NaN/);
});
