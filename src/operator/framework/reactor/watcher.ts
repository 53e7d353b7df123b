import type { KubeClient } from "../client/kube_client.ts";
import { describeApiError } from "../client/api_error.ts";
import { WatchHttpError, WatchInactivityError } from "../client/watch_stream.ts";
import type { Logger } from "../engines/logging.ts";
import { sleep } from "../engines/sleep.ts";
import type { OperatorStats } from "../engines/stats.ts";
import type { KubeObject, ResourceRef } from "../structs/objects.ts";

export interface WatchSettings {
  /** Asked of the server: it ends each watch after this long, and the watcher resumes it. */
  timeoutSeconds: number;
  /** No byte for this long (not even a bookmark) means a dead connection: abort and resume. */
  inactivityMs: number;
  /** Reconnect backoff after errors: doubles from initial to max, reset by a healthy stream. */
  backoffInitialMs: number;
  backoffMaxMs: number;
}

export interface WatchCallbacks {
  /** A full list: the complete current state (objects not in it are gone). */
  onList(items: KubeObject[]): void;
  onEvent(type: "ADDED" | "MODIFIED" | "DELETED", object: KubeObject): void;
}

/**
 * Keeps a resource's objects flowing until `signal` aborts: list, then watch from the list's
 * resourceVersion; resume each watch from the last resourceVersion seen (events and bookmarks);
 * list again when the server answers 410 Gone (the version was compacted); reconnect after errors
 * with exponential backoff; and give up on a watch that stays silent past the inactivity timeout,
 * so a half-open connection cannot stall the operator without a word.
 */
export async function watchResource(
  client: KubeClient,
  resource: ResourceRef,
  settings: WatchSettings,
  callbacks: WatchCallbacks,
  env: { signal: AbortSignal; logger: Logger; stats: OperatorStats },
): Promise<void> {
  const { signal, logger, stats } = env;
  const what = `${resource.plural}.${resource.group}${resource.namespace ? ` in ${resource.namespace}` : ""}`;
  let resourceVersion: string | undefined;
  let backoffMs = settings.backoffInitialMs;
  const pause = async () => {
    const delay = Math.round(backoffMs * (0.8 + Math.random() * 0.4));
    backoffMs = Math.min(settings.backoffMaxMs, backoffMs * 2);
    await sleep(delay, signal);
  };
  while (!signal.aborted) {
    try {
      if (resourceVersion === undefined) {
        const list = await client.list(resource);
        stats.lists++;
        resourceVersion = list.resourceVersion;
        logger.debug(`listed ${list.items.length} ${what} at resourceVersion ${resourceVersion}`);
        callbacks.onList(list.items);
      }
      let expired = false;
      let received = 0;
      let errorEvent: string | undefined;
      const startedAt = Date.now();
      const end = await client.watch(resource, resourceVersion, { ...settings, signal }, (event) => {
        received++;
        if (event.type === "ERROR") {
          const status = event.object as unknown as { code?: number; message?: string };
          if (status.code === 410) expired = true;
          else errorEvent = `HTTP ${status.code}: ${status.message}`;
          return;
        }
        resourceVersion = event.object.metadata.resourceVersion;
        if (event.type !== "BOOKMARK") callbacks.onEvent(event.type, event.object);
      });
      if (signal.aborted) return;
      if (expired || (end instanceof WatchHttpError && end.statusCode === 410)) {
        logger.info(`watch of ${what}: resourceVersion ${resourceVersion} expired (410 Gone), listing again`);
        resourceVersion = undefined;
        continue;
      }
      if (end instanceof WatchInactivityError) {
        stats.watchInactivityTimeouts++;
        logger.warn(`watch of ${what}: ${end.message}; reconnecting from resourceVersion ${resourceVersion}`);
        continue;
      }
      if (end || errorEvent) throw end ?? new Error(errorEvent);
      // A watch that delivered or lasted is healthy; one closed at once must not make us spin.
      if (received > 0 || Date.now() - startedAt > 1000) backoffMs = settings.backoffInitialMs;
      else await pause();
    } catch (error) {
      if (signal.aborted) return;
      stats.watchErrors++;
      logger.warn(`watch of ${what} failed: ${describeApiError(error)}; retrying in about ${backoffMs} ms`);
      await pause();
    }
  }
}
