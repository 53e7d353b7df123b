import type { NodeId } from "./types.ts";

/**
 * A proposal or read the node cannot take now. `leader` (0 if unknown) tells the caller where
 * to go instead: raft-kv does not forward proposals inside Raft, the HTTP layer redirects.
 */
export class NotLeaderError extends Error {
  override name = "NotLeaderError";
  constructor(
    readonly leader: NodeId,
    message = leader ? `not the leader; node ${leader} is` : "no leader known",
  ) {
    super(message);
  }
}

/** The leader is alive but refuses new work for a moment (a transfer, or too much uncommitted). */
export class ProposalDroppedError extends Error {
  override name = "ProposalDroppedError";
}
