/** The typed errors of the client library: every failure a caller can see is one of these. */

/**
 * A request the cluster refused or could not serve. `code` is the server's error code
 * (`not_found`, `cas_mismatch`, `no_leader`, ...) or one of the client's own (`unavailable`,
 * `bad_response`, `unknown_node`, `bad_request` for input refused before sending). `status` is the
 * HTTP status, or 0 when no node answered.
 */
export class KvError extends Error {
  override name = "KvError";
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** The node that answered, when one did. */
    readonly node?: number,
  ) {
    super(message);
  }
}

/** The key does not exist (HTTP 404). */
export class NotFoundError extends KvError {
  override name = "NotFoundError";
  constructor(readonly key: string, message: string, node?: number) {
    super("not_found", 404, message, node);
  }
}

/** A compare-and-swap found another value (HTTP 409); `current` is that value, null if absent. */
export class CasMismatchError extends KvError {
  override name = "CasMismatchError";
  constructor(readonly key: string, readonly current: string | null, message: string, node?: number) {
    super("cas_mismatch", 409, message, node);
  }
}

/** Why one attempt reached no usable answer, for error messages and events. */
export interface AttemptFailure {
  url: string;
  node?: number;
  /** Short reason: "connection refused", "no answer within 5000 ms", "503 no_leader", ... */
  reason: string;
}

/**
 * No node gave a usable answer before the retry budget ran out, and the request certainly did not
 * change anything (a read, or a write that never reached a node).
 */
export class UnavailableError extends KvError {
  override name = "UnavailableError";
  constructor(message: string, readonly attempts: readonly AttemptFailure[]) {
    super("unavailable", 0, message);
  }
}

/** The exact request a write sent, so that it can be sent again with the same sequence number. */
export interface SentWrite {
  clientId: string;
  seq: number;
  method: "PUT" | "DELETE";
  key: string;
  body?: { value: string; prevValue?: string | null };
}

/**
 * The client gave up on a write that may or may not have been applied: a node may have received it
 * (a timeout, a dropped connection, a 504) and no later attempt got a definite answer. Retrying it
 * with the same sequence number (`KvClient.retryUnknown`) is safe: the cluster applies it at most once.
 * `write` is absent for admin calls, which are idempotent and can simply be called again.
 */
export class UnknownOutcomeError extends KvError {
  override name = "UnknownOutcomeError";
  constructor(message: string, readonly attempts: readonly AttemptFailure[], readonly write?: SentWrite) {
    super("unknown_outcome", 0, message);
  }
}
