/**
 * The RaftCluster operator's handlers on the framework. Every cause runs the same reconcile step
 * (reconciler.ts), which creates and repairs the owned objects too: creation, a change of the spec
 * (replicas, image, ...: any field but status), a resumed operator (a new one, or a new Lease holder),
 * and a short timer that keeps stepping while anything is in flight (and looks again now and then
 * once settled, which is also when drift of the owned objects is noticed).
 */
import {
  findCondition,
  type HandlerContext,
  onCreate,
  onResume,
  onUpdate,
  resource,
  TemporaryError,
  timer,
} from "../framework/mod.ts";
import { FencedError, StaleObjectError } from "./cluster_api.ts";
import { NotLeadingError } from "./operation_runner.ts";
import type { RaftClusterReconciler, StepContext } from "./reconciler.ts";
import { RAFT_CLUSTER, type RaftClusterSpec, type RaftClusterStatus } from "./types.ts";

/** Between two steps of a reconfiguration. */
export const STEP_INTERVAL_MS = 1_000;
/** Between two looks at a settled cluster (leader, voters, Degraded, drift of the owned objects). */
export const SETTLED_RECHECK_MS = 5_000;

type Context = HandlerContext<RaftClusterSpec, RaftClusterStatus>;

@resource(RAFT_CLUSTER)
export class RaftClusterHandlers {
  readonly #lastStepAt = new Map<string, number>();

  constructor(private readonly reconciler: RaftClusterReconciler) {}

  @onCreate()
  async created(ctx: Context) {
    await this.#step(ctx);
  }

  @onResume()
  async resumed(ctx: Context) {
    ctx.logger.info(`resuming at step ${ctx.status.step ?? ctx.status.planner?.phase ?? "Idle"}`);
    await this.#step(ctx);
  }

  @onUpdate("spec")
  async changed(ctx: Context) {
    ctx.logger.info(`spec changed: ${ctx.diff.map((d) => d.path.join(".")).join(", ")}`);
    await this.#step(ctx);
  }

  @timer(STEP_INTERVAL_MS)
  async tick(ctx: Context) {
    const looked = this.#lastStepAt.get(ctx.uid) ?? 0;
    if (looksSettled(ctx) && Date.now() - looked < SETTLED_RECHECK_MS) return;
    await this.#step(ctx);
  }

  async #step(ctx: Context): Promise<void> {
    this.#lastStepAt.set(ctx.uid, Date.now());
    try {
      await this.reconciler.step(stepContext(ctx));
    } catch (error) {
      if (error instanceof StaleObjectError) {
        throw new TemporaryError(`${error.message}; planning again`, 200);
      }
      if (error instanceof FencedError || error instanceof NotLeadingError || ctx.signal.aborted) {
        // Not a failure: this replica stopped acting and the next leader resumes from the status.
        ctx.logger.warn(`step abandoned: ${(error as Error).message}`);
        return;
      }
      throw error;
    }
  }
}

function stepContext(ctx: Context): StepContext {
  return {
    namespace: ctx.namespace ?? "default",
    name: ctx.name,
    uid: ctx.uid,
    logger: ctx.logger,
    postEvent: ctx.postEvent,
    signal: ctx.signal,
    leading: ctx.leading,
  };
}

/** Running at spec.replicas and Ready for this generation, as last written. */
function looksSettled(ctx: Context): boolean {
  const ready = findCondition(ctx.status.conditions, "Ready");
  return ctx.status.phase === "Running" && ctx.status.step === "Idle" &&
    ctx.status.replicas === ctx.spec.replicas &&
    ready?.status === "True" && ready.observedGeneration === ctx.meta.generation;
}
