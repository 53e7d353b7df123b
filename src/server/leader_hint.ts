/**
 * What this node truly knows about the leader and about its own standing, in words a client can
 * act on. Error messages are built from this, so that a node never claims ignorance of a leader
 * it knows (a wiped node learns the leader's peer address from its hello, not its client URL).
 */
import type { RaftKvNode } from "../kv/raft_kv_node.ts";
import { HttpError } from "./http_errors.ts";

export interface LeaderHint {
  /** 0 when no leader is known. */
  id: number;
  /** The leader's client URL, from the member directory. */
  clientUrl?: string;
  /** The leader's peer address, from the member directory or the peer handshake. */
  peerAddress?: string;
}

export function leaderHint(node: RaftKvNode): LeaderHint {
  const id = node.leader;
  if (!id) return { id: 0 };
  const info = node.memberInfo(id);
  const peerAddress = info?.peer ?? node.transportStats().peers[String(id)]?.address;
  return { id, clientUrl: info?.client, peerAddress };
}

/** One sentence: who leads, and how to reach it, as far as this node knows. */
export function describeLeader(hint: LeaderHint): string {
  if (!hint.id) return "this node knows no leader right now";
  if (hint.clientUrl) return `the leader is node ${hint.id} at ${hint.clientUrl}`;
  return hint.peerAddress
    ? `the leader is node ${hint.id} (peer address ${hint.peerAddress}, learned from the peer handshake); ` +
      `this node does not know its client URL`
    : `the leader is node ${hint.id}, whose address this node does not know`;
}

/**
 * Why this node cannot serve reads from its own state at all, or undefined if it can: it lost
 * its storage and waits to be replaced, or it is not in the configuration it has applied.
 */
export function notServingReason(node: RaftKvNode): string | undefined {
  if (node.isQuarantined) {
    // It cannot tell a brand-new member from one whose data was lost: both start empty.
    return `node ${node.id} started with empty storage (a new member, or one whose data was lost) and ` +
      `serves nothing until it is added as a learner (a lost member is replaced under a new id)`;
  }
  const conf = node.confState();
  const listed = [...conf.voters, ...conf.votersOutgoing, ...conf.learners, ...(conf.learnersNext ?? [])];
  if (node.confIndex > 0 && !listed.includes(node.id)) {
    return `node ${node.id} is not a member of the cluster's configuration (voters [${conf.voters}])`;
  }
  return undefined;
}

/** The immediate 503 of a node that cannot serve: the reason, the leader as far as known, Retry-After. */
export function notServing(node: RaftKvNode, reason: string) {
  const hint = leaderHint(node);
  return new HttpError(
    503,
    node.isQuarantined ? "lost_storage" : "not_member",
    `${reason}; ${describeLeader(hint)}: send the request to another node`,
    { leader: hint.id, ...(hint.clientUrl ? { leaderUrl: hint.clientUrl } : {}) },
    2,
  );
}
