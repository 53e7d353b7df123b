/** Counters an operator keeps about itself: logged at stop, read by tests. */
export interface OperatorStats {
  handlerCalls: number;
  handlerRetries: number;
  permanentFailures: number;
  /** 409 answers to the framework's writes, each absorbed by re-reading and re-applying. */
  conflicts: number;
  /** Full lists: at start, after 410 Gone, after a lost leadership. */
  lists: number;
  /** Watch requests ended by an error (then resumed with backoff). */
  watchErrors: number;
  /** Watches abandoned after the inactivity timeout (a half-open connection). */
  watchInactivityTimeouts: number;
  eventsPosted: number;
  /** The most objects ever handled at the same time. */
  maxConcurrentObjects: number;
}

export function newStats(): OperatorStats {
  return {
    handlerCalls: 0,
    handlerRetries: 0,
    permanentFailures: 0,
    conflicts: 0,
    lists: 0,
    watchErrors: 0,
    watchInactivityTimeouts: 0,
    eventsPosted: 0,
    maxConcurrentObjects: 0,
  };
}
