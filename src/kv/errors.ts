/** Errors the kv layer gives its callers; the HTTP layer maps each to a status code. */
import type { NodeId } from "../raft/mod.ts";

/** The write may or may not have been applied (timeout, leadership lost mid-flight). Retry with the same seq. */
export class UnknownOutcomeError extends Error {
  override name = "UnknownOutcomeError";
}

/** Definitely not applied; safe to retry (possibly on another node). */
export class RetryableError extends Error {
  override name = "RetryableError";
  constructor(message: string, readonly leader: NodeId = 0) {
    super(message);
  }
}

/** The node has stopped (storage failure or shutdown). */
export class NodeStoppedError extends Error {
  override name = "NodeStoppedError";
}
