import assert from "node:assert/strict";
import { checkHistory } from "./checker.ts";
import { HistoryBuilder } from "./history_builder.ts";
import { kvModel } from "./kv_model.ts";
import type { ReportData } from "./report_data.ts";
import { renderReportHtml } from "./report_html.ts";

function embeddedData(html: string): ReportData {
  const m = /<script>const DATA = (.*);<\/script>/.exec(html);
  assert.ok(m, "the page embeds its data");
  return JSON.parse(m[1]);
}

Deno.test("the HTML report is self-contained and carries the evidence", async () => {
  const h = new HistoryBuilder();
  h.put("x", "a", [0, 10]);
  h.put("x", "b", [20, 30]);
  const stale = h.get("x", "a", [40, 50]);
  h.put("y", "</script><b>", [0, 10]);
  h.get("y", "</script><b>", [20, 30]);
  h.put("z", "q", [0, Infinity]);
  const result = await checkHistory(h.build(), { model: kvModel, workers: 0 });
  const html = renderReportHtml(result, kvModel, {
    title: "t<1>",
    headline: "a line",
    annotations: [{ time: 15, text: "isolate leader" }],
  });

  assert.match(html, /^<!doctype html>/);
  assert.doesNotMatch(
    html,
    /<script src|<link |https?:\/\/(?!www\.w3\.org\/2000\/svg)/,
    "no network references",
  );
  assert.equal(html.match(/<\/script>/g)?.length, 2, "values cannot close the script element");
  assert.match(html, /<title>not linearizable: t&lt;1&gt;<\/title>/);

  const data = embeddedData(html);
  assert.equal(data.verdict, "not linearizable");
  const x = data.partitions.find((p) => p.key === "x")!;
  assert.equal(data.partitions[0].key, "x", "failing keys come first");
  assert.equal(x.breakingId, stale.id);
  assert.match(
    x.explanation!,
    /the value is "b"\. Next, get\["x"\]\(\) -> "a" \(client 2\) had to take effect/,
  );
  assert.deepEqual(x.ops.map((o) => [o.order, o.before, o.after]), [
    [0, "(absent)", '"a"'],
    [1, '"a"', '"b"'],
    [
      -1,
      undefined,
      undefined,
    ],
  ]);
  const z = data.partitions.find((p) => p.key === "z")!;
  assert.equal(z.ops[0].ret, null, "unknown outcome: no return");
  assert.deepEqual(data.annotations, [{ time: 15, text: "isolate leader" }]);
  assert.deepEqual(data.rows.map((r) => [r.key, r.verdict]), [["x", "not linearizable"], [
    "y",
    "linearizable",
  ], [
    "z",
    "linearizable",
  ]]);
});

Deno.test("a big failing key is drawn as a window around the break, with a focus on its neighbours", async () => {
  const h = new HistoryBuilder();
  for (let i = 0; i < 1000; i++) h.put("k", `v${i}`, [i * 10, i * 10 + 5]);
  const stale = h.get("k", "v10", [10_010, 10_020]);
  for (let i = 0; i < 200; i++) h.put("k", `w${i}`, [20_000 + i * 10, 20_000 + i * 10 + 5]);
  const result = await checkHistory(h.build(), { model: kvModel, workers: 0 });
  const data = embeddedData(renderReportHtml(result, kvModel, { title: "big", headline: "" }));
  const k = data.partitions[0];
  assert.equal(k.totalOps, 1201);
  assert.ok(k.ops.length <= 400 && k.ops.some((o) => o.id === stale.id), "the window holds the break");
  assert.ok(k.focus && k.focus.includes(stale.id) && k.focus.length < 20, `focus of ${k.focus?.length} ops`);
});
