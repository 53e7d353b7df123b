/** The Raft core's public API. Shells import from here, never from the files behind it. */
export * from "./types.ts";
export {
  bootstrapSnapshot,
  canSendBeforePersist,
  type InitialState,
  type NodeStatus,
  RaftNode,
  type RaftNodeOptions,
} from "./node.ts";
export { NotLeaderError, ProposalDroppedError } from "./errors.ts";
export { ConfChangeError, describeMembership, fromConfState, voterChangeOps } from "./membership.ts";
export { isConfState, isWellFormedMessage } from "./message_check.ts";
export { parseSafetyMode, skipsLearnerStage } from "./safety.ts";
