import { hostname } from "node:os";
import { KubeClient } from "./client/kube_client.ts";
import type { Backoff } from "./actions/invocation.ts";
import { EventPoster } from "./engines/events.ts";
import { type LeaderElectionOptions, LeaderElector } from "./engines/leader_election.ts";
import { type HealthOptions, type HealthState, serveHealth } from "./engines/health.ts";
import { consoleLogger, type Logger } from "./engines/logging.ts";
import { newStats, type OperatorStats } from "./engines/stats.ts";
import { readRegistry, type RegisteredHandler } from "./intents/registry.ts";
import type { KubeConfigH1 } from "./kube_config.ts";
import { Reactor } from "./reactor/reactor.ts";
import type { WatchSettings } from "./reactor/watcher.ts";
import type { ResourceRef } from "./structs/objects.ts";

export interface OperatorSettings {
  /** The finalizer put on objects that have delete handlers. */
  finalizer: string;
  /** Names the operator in Events (source component) and as the field manager of its writes. */
  component: string;
  watch: WatchSettings;
  /** Handler errors other than TemporaryError: exponential from initialMs, capped at maxMs. */
  retryBackoff: Backoff;
  /** API errors while processing an object (the handler is not at fault). */
  errorBackoff: Backoff;
  /** How long to wait for the watch to echo the operator's own write before reading the object. */
  consistencyTimeoutMs: number;
  /** On stop or lost leadership: how long to wait for running handlers. */
  stopGraceMs: number;
}

export const DEFAULT_SETTINGS: OperatorSettings = {
  finalizer: "operator.raftkv.dev/finalizer",
  component: "raft-kv-operator",
  // The server ends each watch after a minute (then it is resumed), so a silent 90 s is a dead connection.
  watch: { timeoutSeconds: 60, inactivityMs: 90_000, backoffInitialMs: 500, backoffMaxMs: 30_000 },
  retryBackoff: { initialMs: 1_000, maxMs: 5 * 60_000 },
  errorBackoff: { initialMs: 1_000, maxMs: 60_000 },
  consistencyTimeoutMs: 5_000,
  stopGraceMs: 10_000,
};

export interface OperatorOptions {
  /** Use KubeConfigH1: client-node's own KubeConfig crashes Deno on HTTP/2 GOAWAY (kube_config.ts). */
  kubeConfig: KubeConfigH1;
  /** Instances of classes decorated with @resource and @onCreate/@onUpdate/... */
  handlers: object[];
  /** Watch only this namespace (overrides the classes' @resource namespace). */
  namespace?: string;
  /** Act only while holding this Lease; without it the operator acts as soon as it starts. */
  leaderElection?: LeaderElectionOptions;
  /** How many objects are handled at the same time (each object is always handled alone). Default 4. */
  concurrency?: number;
  logger?: Logger;
  /** Serve /healthz and /readyz for the Deployment's probes (see engines/health.ts). */
  health?: HealthOptions;
  /** Overrides, merged one level deep: `{ watch: { inactivityMs: 5000 } }` keeps the other watch settings. */
  settings?: { [K in keyof OperatorSettings]?: Partial<OperatorSettings[K]> };
}

/** The handlers of every class that serve one resource, merged so one object has one queue. */
interface ResourceHandlers {
  resource: ResourceRef;
  handlers: RegisteredHandler[];
}

/**
 * Runs handler classes against the API server: `await op.start()`, later `await op.stop()`.
 * With leader election, watching and handling start only while this replica holds the Lease, and stop
 * (handlers see ctx.signal aborted) when it loses it.
 */
export class Operator {
  readonly stats: OperatorStats = newStats();
  readonly settings: OperatorSettings;
  readonly #client: KubeClient;
  readonly #logger: Logger;
  readonly #events: EventPoster;
  readonly #resources: ResourceHandlers[];
  readonly #concurrency: number;
  #reactors: Reactor[] = [];
  /** Reactors stopped while a handler still ran: no new one starts before they are done. */
  #draining: Reactor[] = [];
  #elector?: LeaderElector;
  #started = false;
  #stopped = false;
  #health?: Deno.HttpServer;
  #transition: Promise<void> = Promise.resolve();

  constructor(private readonly options: OperatorOptions) {
    this.settings = mergeSettings(DEFAULT_SETTINGS, options.settings ?? {});
    this.#logger = options.logger ?? consoleLogger();
    this.#concurrency = options.concurrency ?? 4;
    this.#client = new KubeClient(options.kubeConfig, this.settings.component);
    const instance = options.leaderElection?.identity ?? hostname();
    this.#events = new EventPoster(this.#client, this.settings.component, instance, this.stats, this.#logger);
    this.#resources = groupByResource(options.handlers, options.namespace);
    if (this.#resources.length === 0) {
      throw new Error("Operator needs at least one handler class in `handlers`");
    }
    if (options.leaderElection) {
      this.#elector = new LeaderElector(this.#client, options.leaderElection, {
        onStartedLeading: () => this.#startReactors(),
        onStoppedLeading: () => this.#stopReactors(),
      }, this.#logger);
    }
  }

  /** True while this operator acts: always after start without leader election, else while leading. */
  get isActive(): boolean {
    return this.#reactors.length > 0;
  }

  /**
   * True while this replica may act: without leader election always (once started), with it only while
   * the Lease was renewed within the renew deadline. It reads the clock, so it is right even the moment
   * a stopped (SIGSTOP) process resumes, before any timer has fired: check it before every action.
   */
  holdsLease(): boolean {
    return this.#elector ? this.#elector.holdsFreshLease() : this.#started;
  }

  async start(): Promise<void> {
    if (this.#started) throw new Error("Operator.start() was called twice");
    this.#started = true;
    const what = this.#resources.map((r) => `${r.resource.plural}.${r.resource.group}`).join(", ");
    this.#logger.info(`operator starting for ${what}${this.#elector ? " (waiting for the Lease)" : ""}`);
    if (this.options.health) {
      this.#health = serveHealth(this.options.health, () => this.health(), this.#logger);
    }
    if (this.#elector) this.#elector.start();
    else await this.#startReactors();
  }

  /** Stops handling (graceful, see OperatorSettings.stopGraceMs) and releases the Lease. */
  /** What the health probes report. */
  health(): HealthState {
    const running = this.#started && !this.#stopped;
    if (!this.#elector) {
      return { live: running, ready: running, detail: { leading: running, acting: this.isActive } };
    }
    const h = this.#elector.health();
    // A loop that has not turned for a few lease durations is wedged: restart the replica.
    const live = running && h.loopAgeMs < 3 * h.leaseDurationMs;
    const ready = live && h.answerAgeMs < h.leaseDurationMs;
    return {
      live,
      ready,
      detail: {
        leading: this.#elector.holdsFreshLease(),
        acting: this.isActive,
        electionLoopAgeMs: h.loopAgeMs,
        apiServerAnswerAgeMs: h.answerAgeMs,
      },
    };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#health?.shutdown();
    if (this.#elector) await this.#elector.stop();
    else await this.#stopReactors();
    await this.#transition;
    this.#logger.info(`operator stopped: ${JSON.stringify(this.stats)}`);
  }

  #startReactors(): Promise<void> {
    return this.#transition = this.#transition.then(async () => {
      if (this.#reactors.length > 0) return;
      if (this.#draining.length) {
        // Two steps of one object must never overlap, not even across a lost and regained Lease.
        this.#logger.warn("waiting for the handlers of the previous leadership to finish before acting");
        await Promise.all(this.#draining.map((r) => r.drained));
        this.#draining = [];
      }
      this.#reactors = this.#resources.map(({ resource, handlers }) =>
        new Reactor(this.#client, {
          client: this.#client,
          stats: this.stats,
          resource,
          handlers,
          finalizer: this.settings.finalizer,
          logger: this.#logger,
          events: this.#events,
          retryBackoff: this.settings.retryBackoff,
          leading: () => this.holdsLease(),
        }, {
          watch: this.settings.watch,
          concurrency: this.#concurrency,
          consistencyTimeoutMs: this.settings.consistencyTimeoutMs,
          errorBackoff: this.settings.errorBackoff,
        })
      );
      for (const reactor of this.#reactors) reactor.start();
    });
  }

  #stopReactors(): Promise<void> {
    return this.#transition = this.#transition.then(async () => {
      const reactors = this.#reactors;
      this.#reactors = [];
      await Promise.all(reactors.map((r) => r.stop(this.settings.stopGraceMs)));
      this.#draining.push(...reactors);
    });
  }
}

function mergeSettings(defaults: OperatorSettings, overrides: NonNullable<OperatorOptions["settings"]>) {
  const merged: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(overrides)) {
    const base = merged[key];
    merged[key] = typeof base === "object" && typeof value === "object" ? { ...base, ...value } : value;
  }
  return merged as unknown as OperatorSettings;
}

function groupByResource(instances: object[], namespace: string | undefined): ResourceHandlers[] {
  const byKey = new Map<string, ResourceHandlers>();
  for (const instance of instances) {
    const registry = readRegistry(instance);
    const resource = { ...registry.resource, ...(namespace ? { namespace } : {}) };
    const key = `${resource.group}/${resource.version}/${resource.plural}/${resource.namespace ?? ""}`;
    const entry = byKey.get(key) ?? { resource, handlers: [] };
    for (const handler of registry.handlers) {
      if (entry.handlers.some((h) => h.id === handler.id)) {
        throw new Error(`two handler classes declare ${handler.id} for ${key}: rename one of the methods`);
      }
      entry.handlers.push(handler);
    }
    byKey.set(key, entry);
  }
  return [...byKey.values()];
}
