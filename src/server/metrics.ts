/**
 * The server's Prometheus metrics, on prom-client: one registry per server app. Values the node already
 * keeps (indexes, counters, WAL and peer stats) are read when scraped; timings that only the node sees are
 * pushed through the probes (src/metrics/probes.ts). Names and units follow the Prometheus conventions
 * (base units, `_total` counters, `_seconds` / `_bytes` suffixes); the exposition is checked by the real
 * `promtool check metrics` in metrics_test.ts.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Probes } from "../metrics/probes.ts";
import { FastHistogram } from "../metrics/fast_histogram.ts";
import type { RaftKvNode } from "../kv/raft_kv_node.ts";
import type { NodeHolder } from "./node_holder.ts";
import { writeAlarmMetrics } from "./alarm_metrics.ts";
import { eventLoopStalls, STALL_BUCKETS_SECONDS } from "./event_loop_stalls.ts";

/** 0.25 ms .. 10 s: a loopback fdatasync is ~0.3 ms, a request stuck behind an election seconds. */
const LATENCY_BUCKETS = [
  0.00025,
  0.0005,
  0.001,
  0.002,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];
/**
 * 25 us .. 1 s, fine below 2 ms: the stages of one write on loopback are tens to hundreds of
 * microseconds each (write_stages.ts), which LATENCY_BUCKETS would put in one bucket.
 */
export const STAGE_BUCKETS = [
  0.000025,
  0.00005,
  0.0001,
  0.00015,
  0.0002,
  0.0003,
  0.0004,
  0.0005,
  0.00075,
  0.001,
  0.0015,
  0.002,
  0.003,
  0.005,
  0.0075,
  0.01,
  0.02,
  0.05,
  0.1,
  0.25,
  1,
];
const SIZE_BUCKETS = [1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
const HTTP_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);

export class ServerMetrics {
  readonly registry = new Registry();
  readonly probes: Probes;
  readonly #requests: FastHistogram<"route" | "method" | "code">;

  constructor(holder: NodeHolder) {
    const node = () => holder.node;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // prom-client's gauges of these counts end in _total, which promtool rightly rejects (a gauge); the
    // per-type gauges beside them (nodejs_active_handles etc.) carry the same numbers.
    for (
      const name of [
        "nodejs_active_handles_total",
        "nodejs_active_requests_total",
        "nodejs_active_resources_total",
      ]
    ) {
      this.registry.removeSingleMetric(name);
    }
    // The histograms observed on every write are FastHistograms (see fast_histogram.ts for why).
    this.#requests = new FastHistogram(
      "raftkv_http_request_duration_seconds",
      "HTTP request latency by route, method and status code (the _count is the request count).",
      ["route", "method", "code"],
      LATENCY_BUCKETS,
      registers,
    );
    const proposeToCommit = new FastHistogram(
      "raftkv_proposal_commit_duration_seconds",
      "From a write proposed on this node to its entry committed and applied here.",
      [],
      LATENCY_BUCKETS,
      registers,
    ).series();
    const fsync = new FastHistogram(
      "raftkv_wal_fsync_duration_seconds",
      "One WAL write plus fdatasync (group commit: one per batch of appends).",
      [],
      LATENCY_BUCKETS,
      registers,
    ).series();
    const snapshotDuration = new Histogram({
      name: "raftkv_snapshot_save_duration_seconds",
      help: "Taking a local snapshot: encoding the state machine and writing it durably.",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const snapshotSize = new Histogram({
      name: "raftkv_snapshot_size_bytes",
      help: "Size of snapshots taken locally (source=local) or installed from the leader (source=leader).",
      labelNames: ["source"],
      buckets: SIZE_BUCKETS,
      registers,
    });
    const elections = new Counter({
      name: "raftkv_elections_started_total",
      help: "Times this node became a candidate (after a successful pre-vote) and started an election.",
      registers,
    });
    const leaderChanges = new Counter({
      name: "raftkv_leader_changes_total",
      help: "Times the leader this node knows changed to another node.",
      registers,
    });
    const stages = new FastHistogram(
      "raftkv_request_stage_seconds",
      "Time spent in each stage of a request's path (see src/kv/write_stages.ts for the stages): " +
        "http_to_propose, propose_to_ready, leader_append_fsync, first_follower_ack, ready_to_commit, " +
        "commit_to_apply, apply_to_response, write_total on the leader; follower_append_to_ack on followers; " +
        "read_index, read_apply_wait, read_total for linearizable reads.",
      ["stage"],
      STAGE_BUCKETS,
      registers,
    );
    let lastLeader = 0;
    this.probes = {
      stage: (name, seconds) => stages.series(name).observe(seconds),
      fsync: (seconds) => fsync.observe(seconds),
      proposalCommitted: (seconds) => proposeToCommit.observe(seconds),
      snapshotSaved: (bytes, seconds) => {
        snapshotDuration.observe(seconds);
        snapshotSize.observe({ source: "local" }, bytes);
      },
      snapshotInstalled: (bytes) => snapshotSize.observe({ source: "leader" }, bytes),
      softState: (role, leader) => {
        if (role === "candidate") elections.inc();
        if (leader !== 0 && leader !== lastLeader) {
          leaderChanges.inc();
          lastLeader = leader;
        }
      },
    };
    if (!procReadable()) replaceProcMetrics(this.registry);
    registerNodeGauges(registers, node);
    registerAlarmMetrics(registers, holder);
    registerStallMetrics(registers);
  }

  recordRequest(route: string, method: string, code: number, seconds: number): void {
    // A client may send any method token: past the known ones, one label value, so that it cannot
    // grow the series without bound.
    const label = HTTP_METHODS.has(method) ? method : "other";
    this.#requests.series(route, label, String(code)).observe(seconds);
  }

  /** The exposition text and its content type. */
  async exposition(): Promise<{ text: string; contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

/** Gauges and counters whose values the node keeps: read at scrape time, absent while the node is not started. */
function registerNodeGauges(registers: Registry[], node: () => RaftKvNode | undefined): void {
  const gauge = (name: string, help: string, read: (n: RaftKvNode) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const n = node();
        if (n) this.set(read(n));
      },
    });
  // A counter kept by the node: copied at scrape time (prom-client counters only go up, so reset + inc).
  const counter = (name: string, help: string, read: (n: RaftKvNode) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        const n = node();
        if (!n) return;
        this.reset();
        this.inc(read(n));
      },
    });
  gauge("raftkv_term", "Current Raft term.", (n) => n.status().term);
  gauge(
    "raftkv_is_leader",
    "1 if this node is the leader, else 0.",
    (n) => n.status().role === "leader" ? 1 : 0,
  );
  gauge("raftkv_commit_index", "Highest log index known to be committed.", (n) => n.status().commit);
  gauge("raftkv_applied_index", "Highest log index applied to the state machine.", (n) => n.status().applied);
  gauge(
    "raftkv_apply_lag_entries",
    "Committed entries not yet applied here (commit index minus applied index).",
    (n) => Math.max(0, n.status().commit - n.status().applied),
  );
  gauge("raftkv_snapshot_index", "Log index of the newest snapshot.", (n) => n.status().snapshotIndex);
  gauge(
    "raftkv_last_snapshot_taken_index",
    "Log index of the last snapshot taken on this node (0: none since it started).",
    (n) => n.lastSnapshot?.index ?? 0,
  );
  gauge(
    "raftkv_last_snapshot_taken_size_bytes",
    "Size on disk of the last snapshot taken on this node.",
    (n) => n.lastSnapshot?.bytes ?? 0,
  );
  gauge(
    "raftkv_last_snapshot_taken_duration_seconds",
    "How long the last local snapshot took, encoding (in slices, writes going on) plus saving durably.",
    (n) => n.lastSnapshot ? (n.lastSnapshot.encodeMs + n.lastSnapshot.saveMs) / 1000 : 0,
  );
  gauge(
    "raftkv_snapshot_in_progress",
    "1 while a local snapshot is being encoded (in slices, writes going on) or saved, else 0.",
    (n) => n.snapshotInProgress ? 1 : 0,
  );
  gauge(
    "raftkv_snapshot_image_held_bytes",
    "Snapshot image bytes the Raft core holds in memory (0: images are read from the snapshot files when sent).",
    (n) => n.snapshotImageBytesHeld,
  );
  gauge(
    "raftkv_configuration_index",
    "Log index of the membership configuration in force.",
    (n) => n.confIndex,
  );
  gauge("raftkv_keys", "Keys in the state machine.", (n) => n.keyCount);
  gauge(
    "raftkv_kv_arena_bytes",
    "Bytes of the slabs holding the keys and values, outside the V8 heap (src/kv/value_arena.ts).",
    (n) => n.arenaStats().allocatedBytes,
  );
  gauge(
    "raftkv_kv_arena_live_bytes",
    "Bytes of the live key/value records in those slabs (the rest awaits compaction).",
    (n) => n.arenaStats().liveBytes,
  );
  gauge("raftkv_wal_size_bytes", "Bytes in WAL segment files.", (n) => n.storageStats().walBytes);
  gauge("raftkv_wal_segments", "WAL segment files.", (n) => n.storageStats().segments);
  counter(
    "raftkv_role_changes_total",
    "Role or leader changes seen (Raft soft state).",
    (n) => n.metrics.leaderChanges,
  );
  counter("raftkv_proposals_total", "Writes proposed on this node.", (n) => n.metrics.proposals);
  counter("raftkv_applied_entries_total", "Entries applied.", (n) => n.metrics.appliedEntries);
  counter(
    "raftkv_read_index_rounds_total",
    "ReadIndex rounds (linearizable reads are batched into rounds).",
    (n) => n.metrics.readRounds,
  );
  counter("raftkv_ready_batches_total", "Ready batches processed.", (n) => n.metrics.readyBatches);
  counter("raftkv_snapshots_taken_total", "Snapshots taken locally.", (n) => n.metrics.snapshotsTaken);
  counter(
    "raftkv_snapshots_installed_total",
    "Snapshots installed from the leader.",
    (n) => n.metrics.snapshotsInstalled,
  );
  counter("raftkv_wal_syncs_total", "fdatasync calls on the WAL.", (n) => n.storageStats().syncs);
  new Counter({
    name: "raftkv_reads_total",
    help: "Reads served, by consistency (linearizable or stale).",
    labelNames: ["consistency"],
    registers,
    collect() {
      const n = node();
      if (!n) return;
      this.reset();
      this.inc({ consistency: "linearizable" }, n.metrics.linearizableReads);
      this.inc({ consistency: "stale" }, n.metrics.staleReads);
    },
  });
  const perPeer = (
    kind: "counter" | "gauge",
    name: string,
    help: string,
    read: (p: ReturnType<RaftKvNode["transportStats"]>["peers"][string]) => number,
  ) => {
    const options = {
      name,
      help,
      labelNames: ["peer"] as const,
      registers,
      collect(this: Gauge<"peer"> | Counter<"peer">) {
        const n = node();
        if (!n) return;
        this.reset();
        for (const [peer, stats] of Object.entries(n.transportStats().peers)) {
          const value = read(stats);
          if (this instanceof Gauge) this.set({ peer }, value);
          else this.inc({ peer }, value);
        }
      },
    };
    return kind === "gauge" ? new Gauge(options) : new Counter(options);
  };
  perPeer("counter", "raftkv_peer_sent_messages_total", "Messages sent per peer.", (p) => p.sentMessages);
  perPeer(
    "counter",
    "raftkv_peer_dropped_messages_total",
    "Messages dropped per peer (queue full, faults, unreachable).",
    (p) => p.droppedMessages,
  );
  perPeer(
    "gauge",
    "raftkv_peer_connected",
    "1 if the outbound connection to the peer is up.",
    (p) => p.connected ? 1 : 0,
  );
}

/**
 * The alarms' metrics (alarm_metrics.ts says which apply and their values), as prom-client metrics: each
 * reads its own samples at scrape time; one that does not apply (no disk alarm configured) stays empty.
 */
function registerAlarmMetrics(registers: Registry[], holder: NodeHolder): void {
  const samplesOf = (wanted: string) => {
    const found: Array<[string, number]> = [];
    writeAlarmMetrics(holder, (name, _type, _help, samples) => {
      if (name === wanted) found.push(...samples);
    });
    return found.map(([labels, value]) => ({
      labels: Object.fromEntries([...labels.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]])),
      value,
    }));
  };
  const alarms: Array<[string, "gauge" | "counter", string, string[]]> = [
    [
      "raftkv_quarantined",
      "gauge",
      "1 while this node waits to be re-added after starting with empty storage (its data was lost).",
      [],
    ],
    [
      "raftkv_member_disk_alarms",
      "gauge",
      "On the leader: other members with the NOSPACE alarm up (writes are refused cluster-wide).",
      [],
    ],
    ["raftkv_disk_alarm", "gauge", "1 while the NOSPACE alarm is raised (writes refused).", ["alarm"]],
    ["raftkv_disk_reserve_bytes", "gauge", "Free space below which writes are refused.", []],
    ["raftkv_disk_free_bytes", "gauge", "Free space on the data directory's filesystem.", []],
    ["raftkv_writes_refused_nospace_total", "counter", "Writes refused by the NOSPACE alarm.", []],
  ];
  for (const [name, type, help, labelNames] of alarms) {
    const options = {
      name,
      help,
      labelNames,
      registers,
      collect(this: Gauge<string> | Counter<string>) {
        this.reset();
        // reset() leaves an unlabelled metric at 0: a disk alarm that is not configured has no value.
        if (labelNames.length === 0) this.remove();
        for (const { labels, value } of samplesOf(name)) {
          if (this instanceof Gauge) this.set(labels, value);
          else this.inc(labels, value);
        }
      },
    };
    if (type === "gauge") new Gauge(options);
    else new Counter(options);
  }
}

/** How long the event loop was blocked (event_loop_stalls.ts): a stall is seen, not guessed. */
function registerStallMetrics(registers: Registry[]): void {
  const monitor = eventLoopStalls();
  const stalls = new Histogram({
    name: "raftkv_event_loop_stall_seconds",
    help: "Times the event loop was blocked for 5 ms or more (timers, heartbeats and I/O waited).",
    buckets: STALL_BUCKETS_SECONDS,
    registers,
  });
  monitor.onStall((seconds) => stalls.observe(seconds));
  new Gauge({
    name: "raftkv_event_loop_stall_max_seconds",
    help: "Longest time the event loop was blocked since the process started.",
    registers,
    collect() {
      this.set(monitor.read().maxSeconds);
    },
  });
}

/** Deno opens /proc/self only with --allow-all: the server runs with less (deno.json's server task). */
function procReadable(): boolean {
  try {
    Deno.readTextFileSync("/proc/self/status");
    return true;
  } catch {
    return false;
  }
}

/**
 * Without /proc, prom-client reports memory and file descriptors as 0, silently. Drop those, and take the
 * memory figures from the runtime instead (open file descriptors have no other source: left out).
 */
function replaceProcMetrics(registry: Registry): void {
  for (
    const name of [
      "process_resident_memory_bytes",
      "process_virtual_memory_bytes",
      "process_heap_bytes",
      "process_open_fds",
      "process_max_fds",
    ]
  ) registry.removeSingleMetric(name);
  new Gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes.",
    registers: [registry],
    collect() {
      this.set(Deno.memoryUsage().rss);
    },
  });
  new Gauge({
    name: "process_heap_bytes",
    help: "Process heap size in bytes (the JavaScript heap).",
    registers: [registry],
    collect() {
      this.set(Deno.memoryUsage().heapTotal);
    },
  });
}
