/**
 * The live tab: a running cluster as its nodes report it (GET /api/live): the ring with
 * messages flying, a card per member, the configuration, the leader's view of its followers,
 * ReadIndex rounds, the planner's step and history, and the sampled message log.
 */
import { ago, byId, fill, h } from "./dom.ts";
import { Ring, type RingNode } from "./ring.ts";
import { describeConf, ids, memberCard } from "./members.ts";
import { buildControls, nodeActions } from "./controls.ts";
import type { ClusterSnapshot, MemberView, MessageBatch, TracedMessage } from "../view_types.ts";

const PIPELINE = [
  "AddLearners",
  "CatchUp",
  "EnterJoint",
  "TransferLeader",
  "CommitNew",
  "LeaveJoint",
  "RemoveMembers",
];
const MESSAGE_LOG_LENGTH = 40;
const ROUNDS_KEPT = 8;

interface ReadRound {
  context: string;
  /** Who asked: the node whose reads wait on it. */
  origin: number;
  leader?: number;
  startedAt: number;
  acks: Set<number>;
  readIndex?: number;
  doneAt?: number;
}

export class LiveView {
  #ring: Ring;
  #snapshot: ClusterSnapshot | undefined;
  #log: Array<TracedMessage & { node: number }> = [];
  #rounds = new Map<string, ReadRound>();
  #received = 0;
  #skipped = 0;
  #source: EventSource | undefined;
  /** Per-node buttons, kept across redraws: a click whose press and release straddle a redraw still lands. */
  #actions = new Map<string, HTMLElement>();

  constructor(private readonly local: boolean) {
    this.#ring = new Ring(byId("live-ring"));
    if (local) buildControls();
    else byId("controls-panel").hidden = true;
  }

  start(): void {
    this.#source = new EventSource("/api/live");
    this.#source.addEventListener("cluster", (e) => this.#onCluster(JSON.parse((e as MessageEvent).data)));
    this.#source.addEventListener("messages", (e) => this.#onMessages(JSON.parse((e as MessageEvent).data)));
    this.#source.onerror = () =>
      byId("live-connection").textContent = "reconnecting to the view's server ...";
    this.#source.onopen = () => byId("live-connection").textContent = "";
  }

  stop(): void {
    this.#source?.close();
    this.#source = undefined;
  }

  /** For the browser test and curious users: the ring in use. */
  get ring(): Ring {
    return this.#ring;
  }

  get messagesReceived(): number {
    return this.#received;
  }

  #onCluster(snap: ClusterSnapshot): void {
    this.#snapshot = snap;
    const leader = snap.members.find((m) => m.id === snap.leader);
    const conf = (leader ?? bestInformed(snap.members))?.status?.conf;
    const allIds = snap.members.map((m) => m.id);
    this.#ring.setNodes(snap.members.map((m): RingNode => {
      const faults = m.trace?.faults;
      const cutFrom = faults?.isolated ? allIds.filter((id) => id !== m.id) : faults?.partitioned;
      const learner = conf?.learners.includes(m.id) ?? false;
      return {
        id: m.id,
        role: m.status?.role ?? (m.process === "paused" ? "paused" : "down"),
        term: m.status?.term ?? m.trace?.term,
        vote: m.trace?.vote,
        down: !m.status,
        learner,
        cutFrom,
        note: m.status
          ? [m.status.role, learner ? "learner" : "", m.status.quarantined ? "quarantined" : ""].filter(
            Boolean,
          ).join(" · ")
          : m.process && m.process !== "running"
          ? m.process
          : "not answering",
      };
    }));
    this.#renderSummary(snap);
    fill(
      byId("live-members"),
      snap.members.map((m) =>
        memberCard({
          id: m.id,
          role: m.status?.role ?? (m.process === "paused" ? "paused" : "down"),
          down: !m.status,
          term: m.status?.term ?? m.trace?.term,
          vote: m.trace?.vote,
          lead: m.status?.leader,
          commit: m.status?.commit,
          applied: m.status?.applied,
          lastIndex: m.status?.lastIndex,
          quarantined: m.status?.quarantined,
          diskAlarm: m.status?.diskAlarm?.raised,
          conf: m.status?.conf,
          logTail: m.trace?.logTail,
          details: memberDetails(m, snap.at),
          actions: this.local ? this.#actionsOf(m.id, m.process) : undefined,
        })
      ),
    );
    this.#renderConfig(snap, conf);
    this.#renderProgress(leader);
    this.#renderPlanner(snap);
    this.#renderReads();
  }

  #actionsOf(id: number, process: string | undefined): HTMLElement {
    const key = `${id}:${process === "paused"}`;
    let el = this.#actions.get(key);
    if (!el) this.#actions.set(key, el = nodeActions(id, process));
    return el;
  }

  #renderSummary(snap: ClusterSnapshot): void {
    const leader = snap.members.find((m) => m.id === snap.leader);
    const split = snap.leaders.length > 1;
    const diverged = committedDivergence(snap.members);
    fill(
      byId("live-summary"),
      snap.error ? h("div", { class: "error" }, snap.error) : null,
      h(
        "div",
        {},
        h(
          "span",
          { id: "leader", "data-leader": snap.leader ?? "", "data-term": leader?.status?.term ?? "" },
          snap.leader ? `leader n${snap.leader}, term ${leader?.status?.term}` : "no leader",
        ),
        ` · ${snap.members.length} members · ${snap.clusterId ?? ""} · mode `,
        h("b", { class: snap.safetyMode === "safe" ? "" : "unsafe" }, snap.safetyMode ?? "?"),
        snap.faultInjection ? " · fault injection on" : "",
      ),
      split
        ? h(
          "div",
          { class: "split-brain", id: "split-brain" },
          `${snap.leaders.length} nodes believe they lead: `,
          snap.leaders.map((l) => `n${l.id} (term ${l.term})`).join(", "),
          snap.safetyMode === "safe"
            ? " — the older term's leader has not heard of the newer one yet"
            : " — in an unsafe mode two leaders can commit at once",
        )
        : null,
      diverged
        ? h(
          "div",
          { class: "split-brain", id: "divergence" },
          `committed logs disagree at index ${diverged.index}: `,
          diverged.sides.map((side) => `${side.ids.map((id) => `n${id}`).join(",")} have term ${side.term}`)
            .join("; "),
          " — State Machine Safety is broken",
        )
        : null,
    );
  }

  #renderConfig(snap: ClusterSnapshot, conf: NonNullable<MemberView["status"]>["conf"]): void {
    const differing = snap.members.filter((m) =>
      m.status?.conf && conf &&
      (m.status.conf.index !== conf.index || ids(m.status.conf.voters) !== ids(conf.voters))
    );
    fill(
      byId("live-config"),
      h("h3", {}, "Configuration"),
      conf
        ? h(
          "div",
          { id: "config-line" },
          conf.joint ? h("span", { class: "badge joint" }, "JOINT") : null,
          h("div", {}, "voters ", h("b", {}, ids(conf.voters))),
          conf.joint ? h("div", {}, "outgoing voters (C_old) ", h("b", {}, ids(conf.votersOutgoing))) : null,
          h(
            "div",
            {},
            "learners ",
            ids(conf.learners),
            conf.learnersNext.length ? ` (next ${ids(conf.learnersNext)})` : "",
          ),
          h("div", {}, `configuration index ${conf.index}`),
        )
        : h("div", {}, "no member answers"),
      differing.length
        ? h(
          "div",
          { class: "warn" },
          "members that see another configuration: ",
          differing.map((m) => `n${m.id}: ${describeConf(m.status!.conf!)}`).join("; "),
        )
        : null,
    );
  }

  #renderProgress(leader: MemberView | undefined): void {
    const progress = leader?.status?.progress;
    const last = leader?.status?.lastIndex ?? 0;
    fill(
      byId("live-progress"),
      h("h3", {}, leader ? `Leader n${leader.id}'s view of its followers` : "Replication"),
      progress
        ? h(
          "table",
          { id: "progress-table" },
          h(
            "tr",
            {},
            ["node", "state", "match", "next", "in flight", "lag", "active"].map((c) => h("th", {}, c)),
          ),
          Object.entries(progress).filter(([id]) => Number(id) !== leader!.id).map(([id, p]) =>
            h(
              "tr",
              { "data-follower": id },
              h("td", {}, `n${id}${p.learner ? " (learner)" : ""}`),
              h("td", {}, p.state),
              h("td", {}, p.match),
              h("td", {}, p.next),
              h("td", {}, p.inflight),
              h("td", { class: last - p.match > 64 ? "warn" : "" }, last - p.match),
              h("td", {}, p.recentActive ? "yes" : "no"),
            )
          ),
        )
        : h("div", {}, "no leader answers"),
    );
  }

  #renderPlanner(snap: ClusterSnapshot): void {
    const p = snap.planner;
    const history = snap.history;
    fill(
      byId("live-planner"),
      h("h3", {}, "Planner"),
      p
        ? h(
          "div",
          {},
          h(
            "div",
            { class: "pipeline" },
            PIPELINE.map((phase) => h("span", { class: phase === p.phase ? "step current" : "step" }, phase)),
          ),
          h(
            "div",
            { id: "planner-step" },
            h("b", {}, p.phase),
            `: ${p.message}`,
            ` · desired ${p.desiredReplicas}`,
            p.adding.length ? ` · adding ${p.adding.map((m) => `n${m.id}`).join(",")}` : "",
            p.removing.length ? ` · removing ${p.removing.map((m) => `n${m.id}`).join(",")}` : "",
            p.settled ? " · settled" : "",
            p.supervisorUp ? "" : " · supervisor not answering",
          ),
        )
        : h("div", {}, "no planner state"),
      history?.steps.length
        ? h(
          "table",
          { class: "history" },
          h("tr", {}, ["step", "began", "took", "what it said"].map((c) => h("th", {}, c))),
          history.steps.slice(-14).reverse().map((step) =>
            h(
              "tr",
              {},
              h("td", {}, step.phase),
              h("td", {}, new Date(step.startedAt).toLocaleTimeString()),
              h("td", {}, step.durationMs === undefined ? "now" : ago(step.durationMs)),
              h("td", {}, step.messages.at(-1) ?? ""),
            )
          ),
        )
        : null,
      history?.events.length
        ? h(
          "details",
          {},
          h("summary", {}, `process events (${history.events.length})`),
          h(
            "ul",
            {},
            history.events.slice(-12).reverse().map((e) =>
              h("li", {}, `${new Date(e.at).toLocaleTimeString()} ${e.text}`)
            ),
          ),
        )
        : null,
    );
  }

  #onMessages(batch: MessageBatch): void {
    this.#received += batch.messages.length;
    this.#skipped += batch.skipped;
    const first = batch.messages[0]?.at ?? 0;
    for (const m of batch.messages) {
      this.#ring.fly({ ...m, delayMs: Math.min(300, Math.max(0, m.at - first)) });
      this.#trackRead(m);
      this.#log.push({ ...m, node: batch.node });
    }
    // Keep enough that the log is not empty once plain heartbeats are hidden.
    if (this.#log.length > 2000) this.#log = this.#log.slice(-1000);
    this.#renderMessages();
  }

  /** ReadIndex rounds as the messages show them: ask, heartbeat with the context, acks, answer. */
  #trackRead(m: TracedMessage): void {
    if (!m.context) return;
    // Contexts are "<node id>.<random>:<sequence>" (the node whose reads wait on the round).
    const origin = Number(/^(\d+)/.exec(m.context)?.[1]) || m.from;
    let round = this.#rounds.get(m.context);
    if (!round) {
      round = { context: m.context, origin, startedAt: m.at, acks: new Set() };
      this.#rounds.set(m.context, round);
      if (this.#rounds.size > 50) this.#rounds.delete(this.#rounds.keys().next().value!);
    }
    if (m.type === "heartbeat") round.leader = m.from;
    if (m.type === "heartbeatResp") round.acks.add(m.from);
    if (m.type === "readIndexResp") {
      round.readIndex = m.index;
      round.doneAt = m.at;
    }
    if (m.type === "heartbeatResp" && round.origin === round.leader && round.doneAt === undefined) {
      round.doneAt = m.at; // a leader's own round ends with a quorum of acks; the first one will do here
    }
  }

  #renderReads(): void {
    const snap = this.#snapshot;
    const waiting = (snap?.members ?? []).filter((m) => m.trace?.readRound);
    const rounds = [...this.#rounds.values()].slice(-ROUNDS_KEPT).reverse();
    fill(
      byId("live-reads"),
      h("h3", {}, "ReadIndex rounds"),
      h(
        "div",
        {},
        (snap?.members ?? []).map((m) => `n${m.id}: ${m.trace?.readRounds ?? "?"}`).join(" · "),
        " rounds so far",
      ),
      waiting.map((m) =>
        h(
          "div",
          { class: "warn" },
          `n${m.id} waits on ${m.trace!.readRound!.context} with ${m.trace!.readRound!.waiting} reads for ${
            ago(m.trace!.readRound!.ageMs)
          }`,
        )
      ),
      rounds.length
        ? h(
          "table",
          { id: "read-rounds" },
          h("tr", {}, ["round", "leader", "acks", "read index", "took"].map((c) => h("th", {}, c))),
          rounds.map((r) =>
            h(
              "tr",
              {},
              h("td", { title: r.context }, `n${r.origin} #${r.context.split(":").at(-1)}`),
              h("td", {}, r.leader ? `n${r.leader}` : "?"),
              h("td", {}, [...r.acks].map((a) => `n${a}`).join(",")),
              h("td", {}, r.readIndex ?? ""),
              h("td", {}, r.doneAt !== undefined ? `${r.doneAt - r.startedAt} ms` : "…"),
            )
          ),
        )
        : h("div", { class: "hint" }, "no read seen yet: read a key (linearizable) to start one"),
    );
  }

  #renderMessages(): void {
    const hideRoutine = (document.getElementById("hide-heartbeats") as HTMLInputElement | null)?.checked;
    const shown = this.#log.filter((m) => !hideRoutine || !(m.type.startsWith("heartbeat") && !m.context))
      .slice(-MESSAGE_LOG_LENGTH).reverse();
    byId("message-counts").textContent =
      `${this.#received} messages sampled, ${this.#skipped} skipped by sampling`;
    fill(
      byId("message-log"),
      shown.map((m) =>
        h(
          "tr",
          { class: m.dropped ? "dropped" : "" },
          h("td", {}, new Date(m.at).toISOString().slice(17, 23)),
          h("td", {}, `${m.from}→${m.to}`),
          h("td", { class: `type-${m.type}` }, m.type),
          h("td", {}, `t${m.term}`),
          h("td", {}, describeMessage(m)),
        )
      ),
    );
  }
}

function describeMessage(m: TracedMessage): string {
  const parts: string[] = [];
  if (m.index !== undefined) parts.push(`index ${m.index}`);
  if (m.logTerm !== undefined) parts.push(`logTerm ${m.logTerm}`);
  if (m.entries) parts.push(`${m.entries} entries`);
  if (m.commit !== undefined) parts.push(`commit ${m.commit}`);
  if (m.reject) parts.push("REJECT");
  if (m.context) parts.push(`ctx ${m.context}`);
  if (m.dropped) parts.push("dropped by a fault");
  if (m.delayMs) parts.push(`delayed ${m.delayMs} ms`);
  return parts.join(", ");
}

function memberDetails(m: MemberView, now: number): string {
  const parts = [
    m.name ?? `slot ${m.slot}`,
    m.process ?? "",
    m.pid ? `pid ${m.pid}` : "",
    m.restarts ? `${m.restarts} restart${m.restarts === 1 ? "" : "s"}` : "",
  ];
  if (!m.status) parts.push("does not answer /status");
  const f = m.trace?.faults;
  if (f?.isolated) parts.push("faults: isolated");
  if (f?.partitioned.length) parts.push(`faults: cut from ${f.partitioned.map((p) => `n${p}`).join(",")}`);
  if (f?.delay.length) {
    parts.push(`faults: delay ${f.delay.map((d) => `${d.ms} ms to n${d.peer}`).join(", ")}`);
  }
  if (f?.drop.length) {
    parts.push(`faults: drop ${f.drop.map((d) => `${d.probability} to n${d.peer}`).join(", ")}`);
  }
  if (m.traceAt && now - m.traceAt > 2000) parts.push(`trace ${ago(now - m.traceAt)} old`);
  return parts.filter(Boolean).join(" · ");
}

/**
 * The lowest index that two members hold as committed (at or below their commit index, in the
 * log tails they report) with different terms: Raft promises that never happens.
 */
export function committedDivergence(
  members: MemberView[],
): { index: number; sides: Array<{ term: number; ids: number[] }> } | undefined {
  const byIndex = new Map<number, Map<number, number[]>>();
  for (const m of members) {
    const commit = m.status?.commit ?? 0;
    for (const e of m.trace?.logTail ?? []) {
      if (e.index > commit) continue;
      const terms = byIndex.get(e.index) ?? new Map<number, number[]>();
      terms.set(e.term, [...(terms.get(e.term) ?? []), m.id]);
      byIndex.set(e.index, terms);
    }
  }
  const index = [...byIndex.keys()].sort((a, b) => a - b).find((i) => byIndex.get(i)!.size > 1);
  if (index === undefined) return undefined;
  return { index, sides: [...byIndex.get(index)!].map(([term, ids]) => ({ term, ids })) };
}

/** With no leader, the member with the highest configuration index says the most. */
function bestInformed(members: MemberView[]): MemberView | undefined {
  return members.filter((m) => m.status?.conf).sort((a, b) =>
    b.status!.conf!.index - a.status!.conf!.index
  )[0];
}
