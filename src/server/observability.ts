/**
 * GET /healthz (the process answers), /readyz (has a leader and has caught up: safe to route
 * clients here), /status (everything an operator needs to plan the next step) and /metrics
 * (Prometheus text format).
 */
import { Hono } from "hono";
import type { NodeHolder } from "./node_holder.ts";
import { confView } from "./admin_api.ts";
import type { HttpStats } from "./http_stats.ts";
import { eventLoopStallMetricLines, eventLoopStalls } from "./event_loop_stalls.ts";
import { writeAlarmMetrics } from "./alarm_metrics.ts";

/** A follower this far behind its known commit index is not ready to serve. */
const READY_APPLY_LAG = 100;

export function observabilityApi(holder: NodeHolder, http: HttpStats, started: number): Hono {
  const app = new Hono();
  // Measure from the start, not from the first scrape.
  eventLoopStalls();

  app.get("/healthz", (c) => c.json({ status: "ok" }));

  app.get("/readyz", (c) => {
    const node = holder.node;
    let reason: string | undefined;
    if (!node) reason = "no identity yet";
    else if (node.fatalError) reason = `stopped: ${node.fatalError.message}`;
    else if (!node.leader) reason = "no leader known";
    else if (node.isQuarantined) reason = "joined with empty storage and not yet added as a learner";
    else if (node.appliedIndex + READY_APPLY_LAG < node.commitIndex) {
      reason = `catching up: applied ${node.appliedIndex} of ${node.commitIndex}`;
    }
    // Reads and deletes are still served under NOSPACE: the alarm is shown, not a reason to route away.
    const alarms = holder.diskAlarm?.raised ? { alarms: ["NOSPACE"] } : {};
    return c.json(
      reason ? { ready: false, reason, ...alarms } : { ready: true, ...alarms },
      reason ? 503 : 200,
    );
  });

  app.get("/status", (c) => {
    const node = holder.node;
    const base = {
      clusterId: holder.config.clusterId,
      uptimeSeconds: Math.round((performance.now() - started) / 1000),
      safetyMode: holder.config.safetyMode,
      peer: holder.config.advertisePeer,
      client: holder.config.advertiseClient,
      diskAlarm: holder.diskAlarm?.view(),
      memberAlarms: holder.clusterAlarms.view(),
    };
    if (!node) return c.json({ ...base, initialized: false });
    const s = node.status();
    return c.json({
      ...base,
      initialized: true,
      id: s.id,
      incarnation: node.incarnation,
      role: s.role,
      term: s.term,
      leader: s.lead,
      commit: s.commit,
      applied: s.applied,
      lastIndex: s.lastIndex,
      snapshotIndex: s.snapshotIndex,
      quarantined: node.isQuarantined,
      leadTransferee: s.leadTransferee,
      conf: confView(node),
      members: Object.fromEntries(node.members()),
      progress: s.progress,
      keys: node.keyCount,
      storage: node.storageStats(),
    });
  });

  app.get(
    "/metrics",
    (c) => c.text(metricsText(holder, http), 200, { "content-type": "text/plain; version=0.0.4" }),
  );

  return app;
}

function metricsText(holder: NodeHolder, http: HttpStats): string {
  const lines: string[] = [];
  const metric = (
    name: string,
    type: "gauge" | "counter",
    help: string,
    samples: Array<[string, number]>,
  ) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  http.write(metric);
  lines.push(...eventLoopStallMetricLines());
  writeAlarmMetrics(holder, metric);
  const node = holder.node;
  if (!node) return lines.join("\n") + "\n";
  const s = node.status();
  const m = node.metrics;
  const storage = node.storageStats();
  const transport = node.transportStats();
  metric("raftkv_term", "gauge", "Current Raft term.", [["", s.term]]);
  metric("raftkv_is_leader", "gauge", "1 if this node is the leader.", [["", s.role === "leader" ? 1 : 0]]);
  metric("raftkv_commit_index", "gauge", "Highest log index known committed.", [["", s.commit]]);
  metric("raftkv_applied_index", "gauge", "Highest log index applied to the state machine.", [[
    "",
    s.applied,
  ]]);
  metric("raftkv_snapshot_index", "gauge", "Index of the newest snapshot.", [["", s.snapshotIndex]]);
  metric("raftkv_keys", "gauge", "Keys in the state machine.", [["", node.keyCount]]);
  metric("raftkv_leader_changes_total", "counter", "Role or leader changes seen.", [["", m.leaderChanges]]);
  metric("raftkv_proposals_total", "counter", "Writes proposed on this node.", [["", m.proposals]]);
  metric("raftkv_applied_entries_total", "counter", "Entries applied.", [["", m.appliedEntries]]);
  metric("raftkv_reads_total", "counter", "Reads served.", [
    ['{consistency="linearizable"}', m.linearizableReads],
    ['{consistency="stale"}', m.staleReads],
  ]);
  metric("raftkv_read_index_rounds_total", "counter", "ReadIndex rounds (reads are batched into rounds).", [[
    "",
    m.readRounds,
  ]]);
  metric("raftkv_ready_batches_total", "counter", "Ready batches processed.", [["", m.readyBatches]]);
  metric("raftkv_snapshots_taken_total", "counter", "Snapshots taken locally.", [["", m.snapshotsTaken]]);
  metric("raftkv_snapshots_installed_total", "counter", "Snapshots installed from the leader.", [[
    "",
    m.snapshotsInstalled,
  ]]);
  metric("raftkv_wal_syncs_total", "counter", "fdatasync calls on the WAL.", [["", storage.syncs]]);
  metric("raftkv_wal_bytes", "gauge", "Bytes in WAL segments.", [["", storage.walBytes]]);
  metric("raftkv_wal_segments", "gauge", "WAL segment files.", [["", storage.segments]]);
  const peers = Object.entries(transport.peers);
  metric(
    "raftkv_peer_sent_messages_total",
    "counter",
    "Messages sent per peer.",
    peers.map(([id, p]) => [`{peer="${id}"}`, p.sentMessages]),
  );
  metric(
    "raftkv_peer_dropped_messages_total",
    "counter",
    "Messages dropped per peer (queue full, faults, unreachable).",
    peers.map(([id, p]) => [`{peer="${id}"}`, p.droppedMessages]),
  );
  metric(
    "raftkv_peer_connected",
    "gauge",
    "1 if the outbound connection to the peer is up.",
    peers.map(([id, p]) => [`{peer="${id}"}`, p.connected ? 1 : 0]),
  );
  return lines.join("\n") + "\n";
}
