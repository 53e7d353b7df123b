/**
 * One reconfiguration step of one RaftCluster, the Kubernetes counterpart of the local supervisor's
 * reconcile loop: observe (pods, claims, every node's /status at its pod IP) -> plan (the shared
 * planner) -> persist the planner's status in the RaftCluster's status -> execute one idempotent
 * action. The status is written before acting and guarded by the resourceVersion the step was planned
 * from, so a restarted (or newly elected) operator resumes from exactly what was persisted.
 */
import type { EventType, KubeObject, Logger } from "../framework/mod.ts";
import { observationFrom } from "../../reconfig/observe.ts";
import { planNextStep } from "../../reconfig/planner.ts";
import {
  DEFAULT_TUNING,
  initialStatus,
  type PlannerDecision,
  type PlannerTuning,
} from "../../reconfig/types.ts";
import type { ClusterApi } from "./cluster_api.ts";
import { buildView, type ClusterView, fetchReport, type NodeReport, statusesBySlot } from "./cluster_view.ts";
import {
  ADMIN_TOKEN_KEY,
  type ClusterRef,
  labelSelector,
  podUrl,
  secretName,
  statefulSetName,
} from "./names.ts";
import { ActionError, describeOperation, operationsFor } from "./operations.ts";
import { OperationRunner } from "./operation_runner.ts";
import { clientService, peerService, randomTokens, statefulSet, tokenSecret } from "./resources.ts";
import { statusPatch, summarizeStatus } from "./status_summary.ts";
import { type RaftClusterStatus, type ResolvedSpec, resolveSpec, SpecError } from "./types.ts";

/** What a step needs from the handler that runs it. */
export interface StepContext {
  namespace: string;
  name: string;
  uid: string;
  logger: Logger;
  postEvent(type: EventType, reason: string, message: string): Promise<void>;
}

export interface StepOutcome {
  /** Idle at the desired size: nothing to do until the spec changes. */
  settled: boolean;
}

/** Per RaftCluster, in memory: the admin token once read, and the last failure reported. */
interface ClusterMemory {
  adminToken?: string;
  lastWarning?: string;
}

export class RaftClusterReconciler {
  readonly #memory = new Map<string, ClusterMemory>();

  constructor(
    private readonly api: ClusterApi,
    private readonly tuning: PlannerTuning = DEFAULT_TUNING,
  ) {}

  /**
   * Creates the Secret, the Services and the StatefulSet (with no pods) where they are missing. A
   * missing Secret is only recreated for a cluster without members: running nodes hold its tokens.
   */
  async ensureResources(ctx: StepContext, cluster: KubeObject): Promise<void> {
    const ref = refOf(cluster);
    const spec = await this.#specOf(ctx, cluster);
    if (!spec) return;
    const status = (cluster.status ?? {}) as RaftClusterStatus;
    const hasMembers = (status.reconfig?.members.length ?? 0) + (status.reconfig?.adding.length ?? 0) > 0;
    if (hasMembers && !(await this.api.readSecret(ref.namespace, secretName(ref)))) {
      await this.#warn(
        ctx,
        "SecretMissing",
        `Secret ${secretName(ref)} is gone while the cluster has members, whose nodes hold its tokens: ` +
          `restore it (keys peer-token, admin-token) from a backup; the operator does not invent new tokens`,
      );
      return;
    }
    const created = await this.api.createIfAbsent({
      secret: tokenSecret(ref, randomTokens()),
      services: [peerService(ref), clientService(ref)],
      statefulSet: statefulSet(ref, spec),
    });
    if (created.length) {
      ctx.logger.info(`created ${created.join(", ")}`);
      await ctx.postEvent("Normal", "Created", `created ${created.join(", ")}`);
    }
  }

  async step(ctx: StepContext): Promise<StepOutcome> {
    // Read afresh: the handler's copy may predate this operator's own last status write.
    const cluster = await this.api.getCluster(ctx.namespace, ctx.name);
    if (!cluster || cluster.metadata.uid !== ctx.uid || cluster.metadata.deletionTimestamp) {
      this.#memory.delete(ctx.uid);
      return { settled: true };
    }
    const ref = refOf(cluster);
    const spec = await this.#specOf(ctx, cluster);
    if (!spec) return { settled: true };
    let set = await this.api.readStatefulSet(ref.namespace, statefulSetName(ref));
    if (!set) {
      await this.ensureResources(ctx, cluster);
      set = await this.api.readStatefulSet(ref.namespace, statefulSetName(ref));
      if (!set) return { settled: false };
    }
    const adminToken = await this.#adminToken(ref);
    const view = await this.#observe(ref, set.spec?.replicas ?? 0);
    const observed = observationFrom(statusesBySlot(view));
    const previous = (cluster.status ?? {}) as RaftClusterStatus;
    const decision = planNextStep({
      desiredReplicas: spec.replicas,
      mode: spec.safetyMode,
      status: previous.reconfig ?? initialStatus(),
      observed,
    }, this.tuning);
    const summary = summarizeStatus({
      ref,
      generation: cluster.metadata.generation,
      desiredReplicas: spec.replicas,
      previous,
      decision,
      observed,
      view,
      now: new Date(),
    });
    const patch = statusPatch(previous, summary.status);
    // Persisted before acting: if the operator dies during the action, the next one plans from here.
    if (patch) {
      await this.api.patchClusterStatus(ref.namespace, ref.name, cluster.metadata.resourceVersion, patch);
    }
    if (summary.recorded) {
      const { phases, message } = summary.recorded;
      ctx.logger.info(`${phases.join(" -> ")}: ${message}`);
      await ctx.postEvent("Normal", decision.status.phase, message);
    }
    if (!adminToken) {
      await this.#warn(
        ctx,
        "SecretMissing",
        `Secret ${secretName(ref)} has no ${ADMIN_TOKEN_KEY}: cannot act`,
      );
      return { settled: false };
    }
    await this.#execute(ctx, ref, view, decision, adminToken);
    return { settled: summary.settled };
  }

  /** The spec with its defaults, or undefined (and a Warning) when it cannot be acted on. */
  async #specOf(ctx: StepContext, cluster: KubeObject): Promise<ResolvedSpec | undefined> {
    try {
      return resolveSpec(cluster.spec);
    } catch (error) {
      if (!(error instanceof SpecError)) throw error;
      await this.#warn(ctx, "InvalidSpec", `${error.message}; fix the RaftCluster's spec`);
      return undefined;
    }
  }

  async #observe(ref: ClusterRef, replicas: number): Promise<ClusterView> {
    const selector = labelSelector(ref);
    const [pods, claims] = await Promise.all([
      this.api.listPods(ref.namespace, selector),
      this.api.listClaimNames(ref.namespace, selector),
    ]);
    const reports = new Map<string, NodeReport>();
    await Promise.all(pods.map(async (pod) => {
      if (!pod.ip) return;
      const report = await fetchReport(podUrl(pod.ip));
      if (report) reports.set(pod.name, report);
    }));
    return buildView(ref, { pods, claims, reports, replicas });
  }

  async #execute(
    ctx: StepContext,
    ref: ClusterRef,
    view: ClusterView,
    decision: PlannerDecision,
    adminToken: string,
  ): Promise<void> {
    const memory = this.#remember(ctx.uid);
    let current: string = decision.action.kind;
    try {
      const plan = operationsFor({ ref, view, status: decision.status, action: decision.action });
      const runner = new OperationRunner(this.api, ref, adminToken);
      for (const operation of plan.operations) {
        current = describeOperation(operation);
        ctx.logger.info(current);
        await runner.run(operation);
      }
      if (plan.waitingFor.length) ctx.logger.debug(`waiting for ${plan.waitingFor.join(", ")}`);
      if (plan.operations.length) memory.lastWarning = undefined;
    } catch (error) {
      const why = error instanceof ActionError ? error.message : `${current}: ${(error as Error).message}`;
      await this.#warn(ctx, "StepFailed", `${why} (planned again in a moment)`);
    }
  }

  /** A Warning Event and log line, once per distinct message in a row (a failing step repeats every tick). */
  async #warn(ctx: StepContext, reason: string, message: string): Promise<void> {
    const memory = this.#remember(ctx.uid);
    if (memory.lastWarning === message) return;
    memory.lastWarning = message;
    ctx.logger.warn(message);
    await ctx.postEvent("Warning", reason, message);
  }

  async #adminToken(ref: ClusterRef): Promise<string | undefined> {
    const memory = this.#remember(ref.uid);
    if (!memory.adminToken) {
      const secret = await this.api.readSecret(ref.namespace, secretName(ref));
      const encoded = secret?.data?.[ADMIN_TOKEN_KEY];
      if (encoded) memory.adminToken = atob(encoded);
    }
    return memory.adminToken;
  }

  #remember(uid: string): ClusterMemory {
    let memory = this.#memory.get(uid);
    if (!memory) this.#memory.set(uid, memory = {});
    return memory;
  }
}

export function refOf(cluster: KubeObject): ClusterRef {
  const { name, namespace, uid } = cluster.metadata;
  return { name, namespace: namespace ?? "default", uid };
}
