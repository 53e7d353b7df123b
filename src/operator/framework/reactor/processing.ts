import type { ObjectAddress } from "../client/kube_client.ts";
import { applyWrites } from "../actions/application.ts";
import { type Backoff, invokeHandler } from "../actions/invocation.ts";
import { canonicalJson, readLastHandled, readOperatorStatus } from "../actions/progress.ts";
import { dueAt, isFinished, progressAfter, replacingRecord } from "../actions/progression.ts";
import { type WriteEnv, writeGuarded } from "../actions/writing.ts";
import type { EventPoster } from "../engines/events.ts";
import { type Logger, objectLogger } from "../engines/logging.ts";
import { runDueTimers, type TimerMemory } from "../engines/timers.ts";
import { type Cause, detectCause, type Selected, selectHandlers } from "../intents/causes.ts";
import type { RegisteredHandler } from "../intents/registry.ts";
import { type KubeObject, objectKey, type ResourceRef } from "../structs/objects.ts";

/** What processing needs to know about the operator it runs in. */
export interface ProcessEnv extends WriteEnv {
  resource: ResourceRef;
  handlers: readonly RegisteredHandler[];
  finalizer: string;
  logger: Logger;
  events: EventPoster;
  retryBackoff: Backoff;
  /** Aborted on stop or lost leadership: no new handler is called after it. */
  signal: AbortSignal;
  /** False once this replica may no longer act (see HandlerContext.leading); default: signal not aborted. */
  leading?: () => boolean;
}

/** What the operator remembers about an object between events, in memory only. */
export interface ObjectMemory extends TimerMemory {
  /** Resume handlers ran (or were not needed) in this operator's lifetime. */
  resumed: boolean;
}

export interface ProcessResult {
  /** The object as last written or read; undefined when it is gone. */
  body?: KubeObject;
  /** When to process it again even if nothing happens to it (a delayed retry, a timer). */
  wakeAt?: number;
}

// A handler that rewrites its own object on every call could loop forever; stop and come back later.
const MAX_STEPS = 100;

/**
 * Brings one object up to date: finalizer, then the handlers of its current cause one at a time,
 * each followed by a write of its patch and progress, then the end-of-cycle record; then its timers.
 * The cause is detected again after every write, since a handler may change what the object needs.
 */
export async function processObject(
  env: ProcessEnv,
  start: KubeObject,
  memory: ObjectMemory,
): Promise<ProcessResult> {
  const logger = objectLogger(env.logger, objectKey(start));
  const address: ObjectAddress = {
    resource: env.resource,
    namespace: start.metadata.namespace,
    name: start.metadata.name,
  };
  let body: KubeObject | undefined = start;
  let wakeAt = Infinity;
  for (let step = 0; step < MAX_STEPS && !env.signal.aborted; step++) {
    const cause = detectCause({
      body,
      handlers: env.handlers,
      finalizer: env.finalizer,
      lastHandled: readLastHandled(body),
      resumed: memory.resumed,
    });
    if (cause.kind === "none") break;
    if (cause.kind === "finalizer") {
      body = await writeGuarded(
        env,
        address,
        "object",
        body,
        (fresh) => finalizerPatch(fresh, env.finalizer, cause.add),
      );
      if (!body) return {};
      continue;
    }
    const selected = selectHandlers(cause, env.handlers, body);
    const progress = readOperatorStatus(body).progress ?? {};
    let next: Selected | undefined;
    wakeAt = Infinity;
    for (const candidate of selected) {
      const record = progress[candidate.handler.id];
      if (await isFinished(record, candidate)) continue;
      const due = dueAt(record);
      if (due <= Date.now()) {
        next = candidate;
        break;
      }
      wakeAt = Math.min(wakeAt, due);
    }
    if (next) {
      body = await runHandler(env, address, body, next, logger);
      if (!body) return {};
      continue;
    }
    if (wakeAt !== Infinity) break; // handlers wait for their retry time
    body = await finishCycle(env, address, body, cause, logger);
    if (!body || cause.kind === "delete") return { body };
    memory.resumed = true;
  }
  if (env.signal.aborted) return { body };
  const timers = await runDueTimers(env, address, body, memory, logger);
  return { body: timers.body, wakeAt: Math.min(wakeAt, timers.wakeAt) };
}

function finalizerPatch(fresh: KubeObject, finalizer: string, add: boolean) {
  const finalizers = fresh.metadata.finalizers ?? [];
  if (finalizers.includes(finalizer) === add) return undefined;
  return {
    metadata: { finalizers: add ? [...finalizers, finalizer] : finalizers.filter((f) => f !== finalizer) },
  };
}

async function runHandler(
  env: ProcessEnv,
  address: ObjectAddress,
  body: KubeObject,
  selected: Selected,
  logger: Logger,
): Promise<KubeObject | undefined> {
  const { handler } = selected;
  const previous = readOperatorStatus(body).progress?.[handler.id];
  const started = previous ? new Date(previous.started) : new Date();
  const retry = previous?.retries ?? 0;
  env.stats.handlerCalls++;
  logger.debug(`${handler.id}: calling${retry ? ` (retry ${retry})` : ""}`);
  const invocation = await invokeHandler({
    ...selected,
    body,
    retry,
    started,
    logger,
    signal: env.signal,
    ...(env.leading ? { leading: env.leading } : {}),
    postEvent: (type, reason, message) => env.events.post(env.resource, body, type, reason, message),
  }, env.retryBackoff);
  const { outcome } = invocation;
  const { record, failure } = await progressAfter(previous, outcome, selected, started);
  if (outcome.kind === "success") {
    logger.info(`${handler.id}: succeeded`);
  } else if (outcome.kind === "retry") {
    env.stats.handlerRetries++;
    logger.warn(`${handler.id}: ${outcome.message}; retry ${retry + 1} in ${outcome.delayMs} ms`);
  } else {
    env.stats.permanentFailures++;
    logger.error(`${handler.id}: failed permanently: ${outcome.message}`);
    await env.events.post(
      env.resource,
      body,
      "Warning",
      "HandlerFailed",
      `${handler.id}: ${outcome.message}`,
    );
  }
  const hadFailure = readOperatorStatus(body).failures?.[handler.id] !== undefined;
  return await applyWrites(env, address, body, {
    patch: invocation.patch,
    conditions: invocation.conditions,
    observedGeneration: body.metadata.generation,
    operator: {
      progress: { [handler.id]: replacingRecord(record) },
      ...(failure || (failure === null && hadFailure) ? { failures: { [handler.id]: failure } } : {}),
    },
  });
}

/** Ends a cycle: a deleted object loses our finalizer; otherwise its essence becomes the diff base. */
async function finishCycle(
  env: ProcessEnv,
  address: ObjectAddress,
  body: KubeObject,
  cause: Exclude<Cause, { kind: "none" | "finalizer" }>,
  logger: Logger,
): Promise<KubeObject | undefined> {
  if (cause.kind === "delete") {
    logger.info("deletion handled: removing the finalizer");
    return await writeGuarded(
      env,
      address,
      "object",
      body,
      (fresh) => finalizerPatch(fresh, env.finalizer, false),
    );
  }
  const status = readOperatorStatus(body);
  const lastHandled = canonicalJson(cause.essence);
  const operator = {
    ...(status.lastHandled === lastHandled ? {} : { lastHandled }),
    ...(status.progress === undefined ? {} : { progress: null }),
  };
  if (Object.keys(operator).length === 0) return body;
  logger.debug(`${cause.kind} handled`);
  // The essence written is the one the handlers saw, even if the object changed meanwhile (409):
  // a concurrent change then shows up as the next update instead of being swallowed.
  return await applyWrites(env, address, body, { operator });
}
