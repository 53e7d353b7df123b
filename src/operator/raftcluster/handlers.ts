/**
 * The RaftCluster operator's handlers on the framework. Every cause runs the same reconcile step
 * (reconciler.ts): creation also creates the owned objects, a change of spec.replicas reacts at once,
 * a resumed operator picks up where the persisted status says, and a short timer keeps stepping while
 * a reconfiguration is in flight (and looks again now and then once settled).
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
import { StaleObjectError } from "./cluster_api.ts";
import type { RaftClusterReconciler, StepContext } from "./reconciler.ts";
import { RAFT_CLUSTER, type RaftClusterSpec, type RaftClusterStatus } from "./types.ts";

/** Between two steps of a reconfiguration. */
export const STEP_INTERVAL_MS = 1_000;
/** Between two looks at a settled cluster (to keep leader, voters and Degraded current). */
export const SETTLED_RECHECK_MS = 10_000;

type Context = HandlerContext<RaftClusterSpec, RaftClusterStatus>;

@resource(RAFT_CLUSTER)
export class RaftClusterHandlers {
  readonly #lastStepAt = new Map<string, number>();

  constructor(private readonly reconciler: RaftClusterReconciler) {}

  @onCreate()
  async created(ctx: Context) {
    await this.reconciler.ensureResources(stepContext(ctx), ctx.body);
    await this.#step(ctx);
  }

  @onResume()
  async resumed(ctx: Context) {
    ctx.logger.info(`resuming from phase ${ctx.status.reconfig?.phase ?? "Idle"}`);
    await this.reconciler.ensureResources(stepContext(ctx), ctx.body);
    await this.#step(ctx);
  }

  @onUpdate("spec.replicas")
  async resized(ctx: Context) {
    ctx.logger.info(`spec.replicas ${ctx.old} -> ${ctx.new}`);
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
  };
}

/** Idle at the desired size and Ready for this generation, as last written. */
function looksSettled(ctx: Context): boolean {
  const reconfig = ctx.status.reconfig;
  const ready = findCondition(ctx.status.conditions, "Ready");
  return reconfig?.phase === "Idle" && reconfig.members.length === ctx.spec.replicas &&
    ready?.status === "True" && ready.observedGeneration === ctx.meta.generation;
}
