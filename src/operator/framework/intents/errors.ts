/** Throw from a handler to be called again after `delayMs`; it keeps its retry count and start time. */
export class TemporaryError extends Error {
  constructor(message: string, readonly delayMs = 60_000) {
    super(message);
    this.name = "TemporaryError";
  }
}

/**
 * Throw from a handler that cannot succeed by retrying (invalid spec, say). The handler is not called
 * again for this change: the failure goes to `status.operator.failures` and to a Warning Event.
 */
export class PermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PermanentError";
  }
}
