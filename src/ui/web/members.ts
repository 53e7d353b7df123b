/**
 * One card per member: role, term, vote, commit and applied index, its own configuration, the
 * tail of its log (a box per entry, coloured by term; configuration entries marked "C", entries
 * past the commit index faded), quarantine. Shared by the live view and the simulator replay.
 */
import { h, termColor } from "./dom.ts";
import type { LogTailEntry } from "../view_types.ts";

export interface ConfView {
  voters: number[];
  votersOutgoing: number[];
  learners: number[];
  learnersNext?: number[];
  joint: boolean;
  index?: number;
}

export interface MemberCardData {
  id: number;
  role: string;
  down: boolean;
  term?: number;
  vote?: number;
  lead?: number;
  commit?: number;
  applied?: number;
  lastIndex?: number;
  quarantined?: boolean;
  /** NOSPACE: the node's disk is nearly full and writes are refused. */
  diskAlarm?: boolean;
  conf?: ConfView;
  logTail?: LogTailEntry[];
  /** Under the title: process state, pid, restarts, a stale-data warning. */
  details?: string;
  /** Buttons (the live view's per-node controls). */
  actions?: HTMLElement;
}

export const ids = (list: readonly number[] | undefined) => `{${(list ?? []).join(",")}}`;

export function describeConf(conf: ConfView): string {
  const parts = [
    conf.joint
      ? `joint: C_new ${ids(conf.voters)} && C_old ${ids(conf.votersOutgoing)}`
      : `voters ${ids(conf.voters)}`,
  ];
  if (conf.learners.length) parts.push(`learners ${ids(conf.learners)}`);
  if (conf.learnersNext?.length) parts.push(`learners next ${ids(conf.learnersNext)}`);
  if (conf.index !== undefined) parts.push(`@${conf.index}`);
  return parts.join(", ");
}

export function logStrip(tail: LogTailEntry[], commit = Infinity, applied = Infinity): HTMLElement {
  return h(
    "div",
    { class: "log" },
    tail.map((e) =>
      h(
        "span",
        {
          class: `entry kind-${e.kind}${e.index > commit ? " uncommitted" : ""}${
            e.index <= applied ? " applied" : ""
          }`,
          style: `background:${termColor(e.term)}`,
          title: `index ${e.index}, term ${e.term}: ${e.text}${e.index > commit ? " (not committed)" : ""}`,
          "data-index": e.index,
        },
        h("small", {}, e.index),
        e.kind === "conf" ? "C" : e.kind === "noop" ? "·" : String(e.term),
      )
    ),
  );
}

export function memberCard(m: MemberCardData): HTMLElement {
  const role = m.down && m.role !== "paused" ? "down" : m.role;
  return h(
    "div",
    { class: `member role-${role}`, "data-node": m.id, "data-role": role, "data-term": m.term ?? "" },
    h(
      "div",
      { class: "member-title" },
      h("b", {}, `n${m.id}`),
      h("span", { class: `badge role-${role}` }, role),
      m.quarantined
        ? h("span", {
          class: "badge quarantined",
          title: "joined with empty storage: may not vote until added as a learner",
        }, "quarantined")
        : null,
      m.diskAlarm
        ? h(
          "span",
          { class: "badge quarantined", title: "NOSPACE: disk nearly full, writes refused" },
          "disk full",
        )
        : null,
      m.term !== undefined ? h("span", {}, `term ${m.term}`) : null,
      m.vote !== undefined ? h("span", {}, `vote ${m.vote || "-"}`) : null,
      m.lead !== undefined ? h("span", {}, `leader ${m.lead || "?"}`) : null,
    ),
    m.commit !== undefined
      ? h("div", { class: "indexes" }, `commit ${m.commit} · applied ${m.applied} · last ${m.lastIndex}`)
      : null,
    m.conf ? h("div", { class: "conf" }, describeConf(m.conf)) : null,
    m.logTail ? logStrip(m.logTail, m.commit, m.applied) : null,
    m.details ? h("div", { class: "details" }, m.details) : null,
    m.actions ?? null,
  );
}
