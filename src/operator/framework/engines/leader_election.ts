import * as k8s from "@kubernetes/client-node";
import type { KubeClient } from "../client/kube_client.ts";
import { describeApiError } from "../client/api_error.ts";
import type { Logger } from "./logging.ts";
import { sleep } from "./sleep.ts";

export interface LeaderElectionOptions {
  /** The Lease's name and namespace (coordination.k8s.io/v1). */
  leaseName: string;
  namespace: string;
  /** Unique per replica, e.g. the pod name; shown as the Lease's holderIdentity. */
  identity: string;
  /** How long a Lease stays valid without renewal (whole seconds on the Lease). Default 15 s. */
  leaseDurationMs?: number;
  /** The leader stops acting if it could not renew for this long; < leaseDurationMs. Default 10 s. */
  renewDeadlineMs?: number;
  /** Between attempts to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
}

export interface LeadershipCallbacks {
  onStartedLeading(): Promise<void> | void;
  /** Must stop all acting before it resolves: the next leader may start once the Lease expires. */
  onStoppedLeading(): Promise<void> | void;
}

/**
 * Leader election on a Lease, with client-go's rules (controller-runtime's defaults 15 s / 10 s / 2 s):
 * a candidate takes the Lease when it is free, released, or not renewed for leaseDuration as measured
 * on the candidate's own clock since it last saw the Lease change (so clock skew does not matter);
 * writes are guarded by resourceVersion, so two candidates cannot both win. The leader renews every
 * retryPeriod and stops acting when it could not renew for renewDeadline, which is shorter than the
 * lease duration: it has stopped before anyone else may start. On stop it releases the Lease.
 */
export class LeaderElector {
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  #leading = false;
  #lastRenewal = 0;
  #observed?: { resourceVersion: string; at: number };
  #stopping = new AbortController();
  #loop?: Promise<void>;
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  /** When the loop last ran an attempt, and when the API server last answered one (for the probes). */
  #lastAttemptAt = 0;
  #lastAnswerAt = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaderElectionOptions,
    private readonly callbacks: LeadershipCallbacks,
    private readonly logger: Logger,
  ) {
    this.#leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(this.#retryPeriodMs < this.#renewDeadlineMs && this.#renewDeadlineMs < this.#leaseDurationMs)) {
      throw new Error(
        `leader election needs retryPeriod < renewDeadline < leaseDuration, got ${this.#retryPeriodMs} / ` +
          `${this.#renewDeadlineMs} / ${this.#leaseDurationMs} ms`,
      );
    }
    if (!options.identity) throw new Error("leader election needs a non-empty identity (the pod name, say)");
  }

  /** For the health probes: the election loop is turning, and the API server answers it. */
  health(): { loopAgeMs: number; answerAgeMs: number; leaseDurationMs: number } {
    const now = Date.now();
    return {
      loopAgeMs: now - this.#lastAttemptAt,
      answerAgeMs: now - this.#lastAnswerAt,
      leaseDurationMs: this.#leaseDurationMs,
    };
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /**
   * Leading, and the Lease was renewed less than renewDeadline ago by this process's clock. The Lease
   * stays valid for leaseDuration after that renewal, so an action checked now lands before anyone
   * else may take over (a SIGSTOPped leader resumes with this false, before any timer fires).
   */
  holdsFreshLease(): boolean {
    return this.#leading && Date.now() - this.#lastRenewal < this.#renewDeadlineMs;
  }

  start(): void {
    this.#loop = this.#run();
  }

  /** Stops acting (if leading), then releases the Lease so another replica can take over at once. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
    if (this.#leading) {
      await this.#stepDown("shutting down");
      await this.#release();
    }
  }

  async #run(): Promise<void> {
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      const startedAt = Date.now();
      // A renewal that hangs (a stalled connection) must not keep us "leading": a leader's attempt
      // times out when its renew deadline comes (well inside the lease), a candidate's after one.
      this.#lastAttemptAt = startedAt;
      const timeoutMs = this.#leading
        ? Math.max(0, this.#lastRenewal + this.#renewDeadlineMs - startedAt)
        : this.#renewDeadlineMs;
      const attempt = await this.#withTimeout(this.#tryAcquireOrRenew(), timeoutMs);
      if (attempt !== "unknown") this.#lastAnswerAt = Date.now();
      if (signal.aborted) return;
      if (attempt === "held") {
        // Measured from when the attempt started: the Lease's renewTime is at least that late.
        this.#lastRenewal = startedAt;
        this.#armWatchdog();
        if (!this.#leading) {
          this.#leading = true;
          this.logger.info(`leader election: ${this.options.identity} leads (Lease ${this.#leaseRef()})`);
          await this.callbacks.onStartedLeading();
        }
      } else if (this.#leading && attempt === "taken") {
        await this.#stepDown("another replica holds the Lease");
      } else if (this.#leading && Date.now() - this.#lastRenewal > this.#renewDeadlineMs) {
        await this.#stepDown(`could not renew the Lease for ${this.#renewDeadlineMs} ms`);
      }
      await sleep(this.#retryPeriodMs, signal);
    }
  }

  /** Steps down by itself once renewDeadline has passed since the last renewal, whatever the loop does. */
  #armWatchdog(): void {
    clearTimeout(this.#watchdog);
    const renewedAt = this.#lastRenewal;
    this.#watchdog = setTimeout(() => {
      if (this.#leading && this.#lastRenewal === renewedAt) {
        void this.#stepDown(`the Lease was not renewed for ${this.#renewDeadlineMs} ms`);
      }
    }, Math.max(0, renewedAt + this.#renewDeadlineMs - Date.now()));
  }

  async #withTimeout(
    attempt: Promise<"held" | "taken" | "unknown">,
    ms: number,
  ): Promise<"held" | "taken" | "unknown"> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"unknown">((resolve) => timer = setTimeout(() => resolve("unknown"), ms));
    try {
      return await Promise.race([attempt, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #stepDown(why: string): Promise<void> {
    if (!this.#leading) return;
    clearTimeout(this.#watchdog);
    this.#leading = false;
    this.logger.warn(`leader election: ${this.options.identity} stops leading: ${why}`);
    await this.callbacks.onStoppedLeading();
  }

  #leaseRef(): string {
    return `${this.options.namespace}/${this.options.leaseName}`;
  }

  /** "held": we hold the Lease now; "taken": another replica validly holds it; "unknown": no answer. */
  async #tryAcquireOrRenew(): Promise<"held" | "taken" | "unknown"> {
    const { namespace, leaseName, identity } = this.options;
    const now = new k8s.V1MicroTime(Date.now());
    const leaseDurationSeconds = Math.max(1, Math.ceil(this.#leaseDurationMs / 1000));
    try {
      const lease = await this.client.readLease(namespace, leaseName);
      if (!lease) {
        await this.client.createLease(namespace, {
          metadata: { name: leaseName, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        });
        return "held";
      }
      const resourceVersion = lease.metadata?.resourceVersion ?? "";
      if (this.#observed?.resourceVersion !== resourceVersion) {
        this.#observed = { resourceVersion, at: Date.now() };
      }
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? "";
      const validForMs = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
      if (holder && holder !== identity && this.#observed.at + validForMs > Date.now()) return "taken";
      const ours = holder === identity;
      await this.client.replaceLease(namespace, {
        ...lease,
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds,
          acquireTime: ours && spec.acquireTime ? spec.acquireTime : now,
          renewTime: now,
          leaseTransitions: (spec.leaseTransitions ?? 0) + (ours ? 0 : 1),
        },
      });
      return "held";
    } catch (error) {
      // 409: someone else wrote the Lease first; anything else: the API server is unreachable.
      this.logger.debug(
        `leader election: Lease ${this.#leaseRef()} not acquired: ${describeApiError(error)}`,
      );
      return "unknown";
    }
  }

  /** Empties holderIdentity, as client-go does, so that candidates need not wait for expiry. */
  async #release(): Promise<void> {
    const { namespace, leaseName, identity } = this.options;
    try {
      const lease = await this.client.readLease(namespace, leaseName);
      if (!lease || lease.spec?.holderIdentity !== identity) return;
      const now = new k8s.V1MicroTime(Date.now());
      await this.client.replaceLease(namespace, {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: "",
          leaseDurationSeconds: 1,
          renewTime: now,
          acquireTime: now,
        },
      });
      this.logger.info(`leader election: ${identity} released Lease ${this.#leaseRef()}`);
    } catch (error) {
      this.logger.warn(
        `leader election: could not release Lease ${this.#leaseRef()}: ${describeApiError(error)}`,
      );
    }
  }
}
