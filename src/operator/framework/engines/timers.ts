import type { ObjectAddress } from "../client/kube_client.ts";
import { applyWrites } from "../actions/application.ts";
import { type Backoff, invokeHandler } from "../actions/invocation.ts";
import type { WriteEnv } from "../actions/writing.ts";
import type { EventPoster } from "./events.ts";
import type { Logger } from "./logging.ts";
import { matchesFilters } from "../intents/filters.ts";
import type { RegisteredHandler } from "../intents/registry.ts";
import type { KubeObject, ResourceRef } from "../structs/objects.ts";

export interface TimerEnv extends WriteEnv {
  resource: ResourceRef;
  handlers: readonly RegisteredHandler[];
  events: EventPoster;
  retryBackoff: Backoff;
  signal: AbortSignal;
  leading?: () => boolean;
}

/** Per object, in memory: when each timer runs next and how many calls in a row failed. */
export interface TimerMemory {
  timers: Map<string, { nextAt: number; failures: number }>;
}

/**
 * Calls the object's timers that are due, one after the other, through the same per-object queue as
 * the other handlers (so never concurrently with them). Timers keep no state on the object: after a
 * restart they start over with their initial delay. They stop while the object is being deleted.
 * Returns the object as last written and when the next timer is due.
 */
export async function runDueTimers(
  env: TimerEnv,
  address: ObjectAddress,
  start: KubeObject,
  memory: TimerMemory,
  logger: Logger,
): Promise<{ body?: KubeObject; wakeAt: number }> {
  let body: KubeObject | undefined = start;
  const timers = body.metadata.deletionTimestamp
    ? []
    : env.handlers.filter((h) => h.reason === "timer" && matchesFilters(h.filters, start));
  for (const id of memory.timers.keys()) {
    if (!timers.some((t) => t.id === id)) memory.timers.delete(id);
  }
  let wakeAt = Infinity;
  for (const timer of timers) {
    let state = memory.timers.get(timer.id);
    if (!state) {
      memory.timers.set(timer.id, state = { nextAt: Date.now() + (timer.initialDelayMs ?? 0), failures: 0 });
    }
    if (state.nextAt <= Date.now() && body && !env.signal.aborted) {
      env.stats.handlerCalls++;
      const current: KubeObject = body;
      const invocation = await invokeHandler({
        handler: timer,
        reason: "timer",
        body: current,
        diff: [],
        retry: state.failures,
        started: new Date(),
        logger,
        signal: env.signal,
        ...(env.leading ? { leading: env.leading } : {}),
        postEvent: (type, reason, message) => env.events.post(env.resource, current, type, reason, message),
      }, env.retryBackoff);
      const { outcome } = invocation;
      if (outcome.kind === "retry") {
        env.stats.handlerRetries++;
        state.failures++;
        logger.warn(`${timer.id}: ${outcome.message}; again in ${outcome.delayMs} ms`);
      } else {
        if (outcome.kind === "permanent") logger.error(`${timer.id}: failed: ${outcome.message}`);
        state.failures = 0;
      }
      state.nextAt = Date.now() + (outcome.kind === "retry" ? outcome.delayMs : timer.intervalMs ?? 0);
      body = await applyWrites(env, address, current, {
        patch: invocation.patch,
        conditions: invocation.conditions,
        observedGeneration: current.metadata.generation,
      });
    }
    wakeAt = Math.min(wakeAt, state.nextAt);
  }
  return { body, wakeAt };
}
