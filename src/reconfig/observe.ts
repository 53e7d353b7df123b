/**
 * Turns what the nodes say about themselves (their GET /status answers, fetched by the
 * executor) into the planner's Observation. Pure: executors do the I/O.
 */
import type { NodeId } from "../raft/mod.ts";
import type { LeaderObservation, NodeObservation, Observation } from "./types.ts";

/** The parts of a raft-kv node's /status the planner needs. */
export interface NodeStatusDocument {
  initialized?: boolean;
  id?: NodeId;
  role?: string;
  leader?: NodeId;
  term?: number;
  applied?: number;
  lastIndex?: number;
  conf?: { voters: NodeId[]; votersOutgoing: NodeId[]; learners: NodeId[]; joint: boolean; index: number };
  progress?: Record<string, { match: number; recentActive?: boolean }>;
  quarantined?: boolean;
  incarnation?: string;
  /** The member directory: the peer and client address and storage incarnation of each member. */
  members?: Record<string, { incarnation?: string }>;
}

/** `statuses[slot]` is the node's /status, or undefined if it did not answer; absent slots have no process. */
export function observationFrom(statuses: Record<string, NodeStatusDocument | undefined>): Observation {
  const nodes: Record<string, NodeObservation> = {};
  let leader: LeaderObservation | undefined;
  let leaderTerm = -1;
  for (const [slot, s] of Object.entries(statuses)) {
    if (!s) {
      nodes[slot] = { reachable: false, initialized: false };
      continue;
    }
    nodes[slot] = {
      reachable: true,
      initialized: s.initialized === true,
      id: s.id,
      applied: s.applied,
      confIndex: s.conf?.index,
      joint: s.conf?.joint,
      voters: s.conf?.voters,
      quarantined: s.quarantined === true,
      ...(typeof s.incarnation === "string" ? { incarnation: s.incarnation } : {}),
    };
    // The leader of the highest term wins if, briefly, two nodes both think they lead.
    if (s.role === "leader" && s.conf && s.id !== undefined && (s.term ?? 0) > leaderTerm) {
      leaderTerm = s.term ?? 0;
      const match: Record<string, number> = {};
      const active: Record<string, boolean> = {};
      for (const [id, p] of Object.entries(s.progress ?? {})) {
        match[id] = p.match;
        active[id] = p.recentActive === true;
      }
      leader = {
        id: s.id,
        voters: s.conf.voters,
        votersOutgoing: s.conf.votersOutgoing,
        learners: s.conf.learners,
        confIndex: s.conf.index,
        lastIndex: s.lastIndex ?? 0,
        match,
        active,
        ...(s.members
          ? {
            memberIncarnations: Object.fromEntries(
              Object.entries(s.members).map(([id, m]) => [id, m?.incarnation]),
            ),
          }
          : {}),
      };
    }
  }
  return leader ? { leader, nodes } : { nodes };
}
