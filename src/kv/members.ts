/**
 * The member directory: where each node of the configuration can be reached. It is replicated
 * state: a membership change carries the new members' addresses in its context, so every node
 * (and every node restored from a snapshot) knows how to reach every other.
 */
import type { ConfState, NodeId } from "../raft/mod.ts";

export interface MemberInfo {
  /** host:port of the peer (Raft) listener. */
  peer: string;
  /** Base URL of the client HTTP API. */
  client: string;
  /** The storage incarnation this membership refers to (see identity.ts). */
  incarnation?: string;
}

export interface ConfChangeContext {
  members: Record<string, MemberInfo>;
}

export function encodeMembersContext(members: Record<NodeId, MemberInfo>): string {
  const ctx: ConfChangeContext = { members: Object.fromEntries(Object.entries(members)) };
  return JSON.stringify(ctx);
}

/** The addresses a change's context announces; empty when there is none or it is malformed. */
export function decodeMembersContext(context: string | undefined): Map<NodeId, MemberInfo> {
  const out = new Map<NodeId, MemberInfo>();
  if (!context) return out;
  try {
    const parsed = JSON.parse(context) as Partial<ConfChangeContext>;
    for (const [id, info] of Object.entries(parsed.members ?? {})) {
      const nodeId = Number(id);
      if (
        Number.isSafeInteger(nodeId) && nodeId > 0 && typeof info?.peer === "string" &&
        typeof info?.client === "string"
      ) {
        const member: MemberInfo = { peer: info.peer, client: info.client };
        if (typeof info.incarnation === "string") member.incarnation = info.incarnation;
        out.set(nodeId, member);
      }
    }
  } catch {
    // A malformed context announces nothing; the change itself still applies.
  }
  return out;
}

/** Every node the configuration mentions. */
export function membersOf(conf: ConfState): Set<NodeId> {
  return new Set([...conf.voters, ...conf.votersOutgoing, ...conf.learners, ...conf.learnersNext]);
}
