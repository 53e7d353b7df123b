/**
 * GET /healthz (the process answers), /readyz (has a leader and has caught up: safe to route
 * clients here), /status (everything an operator needs to plan the next step) and /metrics
 * (Prometheus text format, metrics.ts).
 */
import { Hono } from "hono";
import type { NodeHolder } from "./node_holder.ts";
import { confView } from "./admin_api.ts";
import type { ServerMetrics } from "./metrics.ts";
import { eventLoopStalls } from "./event_loop_stalls.ts";

/** A follower this far behind its known commit index is not ready to serve. */
const READY_APPLY_LAG = 100;

export function observabilityApi(holder: NodeHolder, metrics: ServerMetrics, started: number): Hono {
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

  app.get("/metrics", async (c) => {
    const { text, contentType } = await metrics.exposition();
    return c.text(text, 200, { "content-type": contentType });
  });

  return app;
}
