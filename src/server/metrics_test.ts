/**
 * /metrics of a real server: the exposition is valid for Prometheus' own `promtool check metrics` (built
 * from the Prometheus Go module, src/server/promtool.ts), and carries the metrics an operator needs, with
 * the right types. Without Go (so without promtool) the promtool part says SKIPPED; the rest still runs.
 */
import assert from "node:assert/strict";
import { cachedPromtool, ensurePromtool } from "./promtool.ts";
import { goUnavailable } from "../localkube/build.ts";
import { startTestServer } from "./test_server.ts";
import { parseStageHistograms } from "../../experiments/bench/stage_breakdown.ts";

async function promtoolPath(): Promise<string | undefined> {
  const cached = await cachedPromtool();
  if (cached) return cached;
  const why = await goUnavailable();
  if (why) {
    console.error(`!!! SKIPPED promtool check metrics: ${why}`);
    return undefined;
  }
  return await ensurePromtool((line) => console.error(line));
}

/** `# TYPE name type` lines. */
function types(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
}

function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

Deno.test("GET /metrics: valid for promtool, with latency histograms and the node's gauges", async () => {
  const server = await startTestServer(["--snapshot-entries", "5"]);
  try {
    for (let i = 0; i < 12; i++) {
      const put = await fetch(`${server.url}/kv/k${i}`, {
        method: "PUT",
        body: JSON.stringify({ value: "v" }),
      });
      assert.equal(put.status, 200, await put.text());
    }
    await (await fetch(`${server.url}/kv/k1`)).body?.cancel();
    await (await fetch(`${server.url}/kv/missing`)).body?.cancel();
    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const t = types(text);
    for (
      const [name, type] of [
        ["raftkv_http_request_duration_seconds", "histogram"],
        ["raftkv_proposal_commit_duration_seconds", "histogram"],
        ["raftkv_wal_fsync_duration_seconds", "histogram"],
        ["raftkv_snapshot_save_duration_seconds", "histogram"],
        ["raftkv_snapshot_size_bytes", "histogram"],
        ["raftkv_request_stage_seconds", "histogram"],
        ["raftkv_apply_lag_entries", "gauge"],
        ["raftkv_configuration_index", "gauge"],
        ["raftkv_elections_started_total", "counter"],
        ["raftkv_leader_changes_total", "counter"],
        ["raftkv_term", "gauge"],
        ["process_cpu_seconds_total", "counter"],
        ["process_resident_memory_bytes", "gauge"],
      ]
    ) assert.equal(t.get(name), type, `${name} should be a ${type}`);
    // Latency by route and status, with _count and _sum.
    const putCount = 'raftkv_http_request_duration_seconds_count{route="/kv/:key",method="PUT",code="200"}';
    assert.equal(sample(text, putCount), 12);
    assert.equal(
      sample(text, 'raftkv_http_request_duration_seconds_count{route="/kv/:key",method="GET",code="404"}'),
      1,
    );
    assert.ok(sample(text, "raftkv_proposal_commit_duration_seconds_count")! >= 12);
    assert.ok(sample(text, "raftkv_wal_fsync_duration_seconds_count")! >= 12);
    assert.ok(sample(text, "raftkv_snapshot_save_duration_seconds_count")! >= 1, "snapshots every 5 entries");
    // The last snapshot taken: index, size and duration; and no image kept in memory by the core.
    const lastIndex = sample(text, "raftkv_last_snapshot_taken_index")!;
    assert.ok(
      lastIndex >= 5 && lastIndex <= sample(text, "raftkv_applied_index")!,
      `last snapshot at ${lastIndex}`,
    );
    assert.ok(sample(text, "raftkv_last_snapshot_taken_size_bytes")! > 0);
    assert.ok(sample(text, "raftkv_last_snapshot_taken_duration_seconds")! > 0);
    assert.equal(sample(text, "raftkv_snapshot_image_held_bytes"), 0);
    assert.ok(sample(text, "raftkv_kv_arena_live_bytes")! > 0, "the arena holds the keys written");
    assert.ok(sample(text, "raftkv_kv_arena_bytes")! >= sample(text, "raftkv_kv_arena_live_bytes")!);
    assert.ok([0, 1].includes(sample(text, "raftkv_snapshot_in_progress")!));
    assert.ok(sample(text, "raftkv_leader_changes_total")! >= 1, "it became the leader");
    // Every write passed every stage of a one-node cluster's path, once; the read its ReadIndex.
    const stages = parseStageHistograms(text);
    for (
      const stage of [
        "http_to_propose",
        "propose_to_ready",
        "leader_append_fsync",
        "ready_to_commit",
        "commit_to_apply",
        "apply_to_response",
        "write_total",
      ]
    ) assert.equal(stages.get(stage)?.count, 12, `stage ${stage}: ${JSON.stringify(stages.get(stage))}`);
    // The critical path's stages are consecutive intervals: for each write they add up to write_total.
    const path = [
      "http_to_propose",
      "propose_to_ready",
      "ready_to_commit",
      "commit_to_apply",
      "apply_to_response",
    ];
    const pathSum = path.reduce((sum, stage) => sum + stages.get(stage)!.sum, 0);
    const total = stages.get("write_total")!.sum;
    assert.ok(Math.abs(pathSum - total) < 1e-7, `stages add up to ${pathSum} s, write_total is ${total} s`);
    assert.equal(stages.get("read_total")?.count, 2);
    assert.ok(!stages.has("first_follower_ack"), "a one-node cluster has no followers");
    assert.ok(sample(text, "raftkv_configuration_index")! >= 1);
    // With the server task's permissions (no /proc), memory still comes from the runtime, never a fake 0.
    assert.ok(sample(text, "process_resident_memory_bytes")! > 1e6, "resident memory is measured");

    const promtool = await promtoolPath();
    if (promtool) {
      const check = new Deno.Command(promtool, {
        args: ["check", "metrics"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      })
        .spawn();
      const writer = check.stdin.getWriter();
      await writer.write(new TextEncoder().encode(text));
      await writer.close();
      const out = await check.output();
      const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `promtool check metrics found problems:\n${said}`);
      assert.equal(said.trim(), "", `promtool check metrics lints:\n${said}`);
    }
  } finally {
    await server.stop();
  }
});
