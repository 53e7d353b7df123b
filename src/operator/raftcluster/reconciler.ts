/**
 * One step of one RaftCluster, the Kubernetes counterpart of the local supervisor's reconcile loop:
 *
 *   read the RaftCluster afresh -> check its spec -> observe (pods, claims, every node's /status)
 *   -> rebuild the planner's state if the status was lost -> repair the owned objects
 *   -> plan (the shared planner, paced by reconfig.maxParallel and reconfig.rateLimit)
 *   -> persist the status (guarded by the resourceVersion planned from) -> act (one idempotent action)
 *   -> once settled, roll a changed pod template through the members.
 *
 * The status is written before acting, so a restarted (or newly elected) operator resumes from exactly
 * what was persisted. Every write and admin call is fenced: it is not started once this replica may
 * no longer act, and one in flight is cancelled when the Lease is lost.
 */
import type { EventType, KubeObject, Logger } from "../framework/mod.ts";
import { observationFrom } from "../../reconfig/observe.ts";
import { planNextStep } from "../../reconfig/planner.ts";
import {
  DEFAULT_TUNING,
  initialStatus,
  type PlannerDecision,
  type PlannerTuning,
  type ReconfigStatus,
} from "../../reconfig/types.ts";
import type { ClusterApi, PodFacts } from "./cluster_api.ts";
import {
  buildView,
  type ClusterView,
  fetchReport,
  fetchReportWith,
  type NodeReport,
  statusesBySlot,
  withoutDeposedLeader,
} from "./cluster_view.ts";
import {
  ADMIN_TOKEN_KEY,
  type ClusterRef,
  labelSelector,
  PEER_TOKEN_KEY,
  podDnsName,
  podUrl,
  secretName,
  statefulSetName,
} from "./names.ts";
import { ActionError, describeOperation, type Operation, operationsFor } from "./operations.ts";
import { type MemberTlsAccess, OperationRunner } from "./operation_runner.ts";
import { PodClient } from "./pod_client.ts";
import { initialTlsStatus, type RotationAction } from "./tls_rotation.ts";
import { ForeignSecretError, MissingCaError } from "./security_state.ts";
import { reissueMembers, stepRotation } from "./rotation_step.ts";
import { prepareSecurity, securityTemplate, type StepSecurity } from "./step_security.ts";
import { certManagerIssuer, operatorCaIssuer } from "./member_certificates.ts";
import { controllerUid, reconcileOwned } from "./owned_objects.ts";
import { pace } from "./pacing.ts";
import { trackReconfig } from "./reconfig_history.ts";
import { WarningGate } from "./warning_gate.ts";
import { earlierPods, waitingForEarlierPods } from "./earlier_pods.ts";
import { refusedTokenRecovery } from "./refused_token.ts";
import {
  clientService,
  disruptionBudget,
  networkPolicy,
  peerService,
  randomTokens,
  statefulSet,
  tokenSecret,
} from "./resources.ts";
import { withoutEmptiedHoles } from "./replacement_view.ts";
import { planUpgrade } from "./rolling_upgrade.ts";
import { recordedNextNodeId, statefulSetRepair } from "./statefulset_sync.ts";
import { hasInitializedMember, rebuildPlannerState } from "./status_recovery.ts";
import { invalidSpecStatus, statusPatch, summarizeStatus } from "./status_summary.ts";
import {
  plannerStateOf,
  type RaftClusterStatus,
  type ResolvedSpec,
  resolveSpec,
  SpecError,
  type TlsStatus,
} from "./types.ts";

/** What a step needs from the handler that runs it. */
export interface StepContext {
  namespace: string;
  name: string;
  uid: string;
  logger: Logger;
  postEvent(type: EventType, reason: string, message: string): Promise<void>;
  /** Aborted when this replica stops acting; cancels requests in flight. */
  signal?: AbortSignal;
  /** Checked right before every action (reads the clock: see HandlerContext.leading). */
  leading?: () => boolean;
}

export interface StepOutcome {
  /** Idle at the desired size with nothing to roll: nothing to do until something changes. */
  settled: boolean;
}

/** Per RaftCluster, in memory: the admin token once read, and the last failure reported. */
interface ClusterMemory {
  /** The Secret's tokens once read: a deleted Secret is recreated with the same ones. */
  tokens?: { peer: string; admin: string };
  /** The last warning or report said, and when to say a lasting warning again. */
  warnings: WarningGate;
}

export class RaftClusterReconciler {
  readonly #memory = new Map<string, ClusterMemory>();

  constructor(
    private readonly baseApi: ClusterApi,
    private readonly tuning: PlannerTuning = DEFAULT_TUNING,
    /**
     * Called after each status write with the workflow steps the decision passed through, before the
     * action: the crash tests' failpoint (main.ts --crash-after-step) exits the process here.
     */
    private readonly afterPersist: (steps: readonly string[]) => void = () => {},
    /** This replica's identity (its Lease holder name), sent with its admin calls for the nodes' record. */
    private readonly identity?: string,
  ) {}

  async step(ctx: StepContext): Promise<StepOutcome> {
    const api = ctx.signal ? this.baseApi.fenced(ctx.signal, ctx.leading) : this.baseApi;
    // Read afresh: the handler's copy may predate this operator's own last status write.
    const cluster = await api.getCluster(ctx.namespace, ctx.name);
    if (!cluster || cluster.metadata.uid !== ctx.uid || cluster.metadata.deletionTimestamp) {
      this.#memory.delete(ctx.uid);
      return { settled: true };
    }
    const ref = refOf(cluster);
    const previous = (cluster.status ?? {}) as RaftClusterStatus;
    const now = new Date();

    let spec: ResolvedSpec;
    try {
      spec = resolveSpec(cluster.spec);
    } catch (error) {
      if (!(error instanceof SpecError)) throw error;
      const message = `${error.message}; fix the RaftCluster's spec`;
      const patch = statusPatch(
        previous,
        invalidSpecStatus(previous, message, cluster.metadata.generation, now),
      );
      if (patch) {
        await api.patchClusterStatus(ref.namespace, ref.name, cluster.metadata.resourceVersion, patch);
      }
      await this.#warn(ctx, "InvalidSpec", message);
      return { settled: true };
    }

    let set = await api.readStatefulSet(ref.namespace, statefulSetName(ref));
    if (set && controllerUid(set) !== ref.uid) {
      await this.#warn(
        ctx,
        "NameTaken",
        `StatefulSet ${statefulSetName(ref)} is controlled by ${
          controllerUid(set) ?? "nobody"
        }, not by this ` +
          `RaftCluster (an earlier one of the same name being deleted?): waiting for it to go`,
      );
      return { settled: false };
    }
    let security: StepSecurity;
    try {
      security = await prepareSecurity(api, ref, spec);
    } catch (error) {
      if (error instanceof MissingCaError) {
        await this.#warn(ctx, "SecretMissing", error.message);
        return { settled: false };
      }
      if (!(error instanceof ForeignSecretError)) throw error;
      await this.#warn(ctx, "NameTaken", error.message);
      return { settled: false };
    }
    for (const change of security.changes) {
      ctx.logger.info(change);
      await ctx.postEvent("Normal", "Created", change);
    }
    if (security.waiting) {
      // spec.tls.issuerRef: the CA to trust is not known yet; no pod starts without it.
      await this.#reportOnce(ctx, "WaitingForIssuer", security.waiting);
      return { settled: false };
    }
    const { view, pods } = await this.#observe(api, ref, set?.spec?.replicas ?? 0, security.podClient);
    let observed = observationFrom(statusesBySlot(view));
    const initialized = hasInitializedMember(view);

    // The planner's state; rebuilt from the nodes if the status was lost while they run.
    let planner: ReconfigStatus;
    let rebuilt = false;
    const persisted = plannerStateOf(previous);
    if (persisted) {
      planner = persisted;
    } else if (initialized) {
      const recovery = rebuildPlannerState(view, observed, recordedNextNodeId(set));
      if ("waiting" in recovery) {
        await this.#warn(ctx, "StatusLost", `${recovery.waiting}; nothing is bootstrapped meanwhile`);
        return { settled: false };
      }
      planner = recovery.status;
      rebuilt = true;
      await ctx.postEvent("Warning", "StatusRebuilt", recovery.status.message);
      ctx.logger.warn(recovery.status.message);
    } else {
      planner = { ...initialStatus(), nextNodeId: Math.max(1, recordedNextNodeId(set)) };
    }
    // A cluster that has formed no member yet starts nothing while an earlier one's pods remain.
    if (planner.members.length === 0) {
      const earlier = earlierPods(pods, set?.metadata?.uid);
      if (earlier.length) {
        await this.#reportOnce(ctx, "WaitingForEarlierPods", waitingForEarlierPods(ref, earlier));
        return { settled: false };
      }
    }
    const deposed = withoutDeposedLeader(view, observed, planner.confIndex);
    if (deposed.ignored) ctx.logger.warn(deposed.ignored);
    observed = deposed.observed;

    observed = withoutEmptiedHoles(planner, view, observed);

    // Owned objects, at every step: created if missing, repaired if changed, never adopted. The
    // Secret is recreated only with the tokens the running nodes already hold (or for a new cluster).
    const known = await this.#tokens(api, ref);
    const owned = await reconcileOwned(api, ref, [
      tokenSecret(ref, known ?? randomTokens()),
      peerService(ref),
      clientService(ref),
      disruptionBudget(ref, Math.max(planner.members.length, 1)),
      networkPolicy(ref),
    ], {
      mayCreateSecret: known !== undefined ||
        (!initialized && planner.members.length === 0 && planner.adding.length === 0),
    });
    for (const [what, list] of [["created", owned.created], ["repaired", owned.repaired]] as const) {
      if (!list.length) continue;
      ctx.logger.info(`${what} ${list.join(", ")}`);
      await ctx.postEvent(
        "Normal",
        what === "created" ? "Created" : "DriftRepaired",
        `${what} ${list.join(", ")}`,
      );
    }
    if (owned.foreign.length) {
      await this.#warn(
        ctx,
        "NameTaken",
        `not touching objects this RaftCluster does not control: ${owned.foreign.join(", ")}`,
      );
    }
    let tlsStatus = spec.tls ? previous.tls ?? initialTlsStatus(spec.tls.rotate) : undefined;
    const desiredSet = statefulSet(ref, spec, securityTemplate(security, tlsStatus));
    if (!set) {
      await api.createStatefulSet(desiredSet);
      ctx.logger.info(`created StatefulSet ${statefulSetName(ref)}`);
      await ctx.postEvent("Normal", "Created", `created StatefulSet ${statefulSetName(ref)}`);
      set = await api.readStatefulSet(ref.namespace, statefulSetName(ref));
      if (!set) return { settled: false };
    }

    // Plan, paced.
    const pacing = pace({
      spec,
      planner,
      history: previous.history ?? [],
      ...(previous.formedAt ? { formedAt: previous.formedAt } : {}),
      now,
    });
    const decision = planNextStep({
      desiredReplicas: pacing.desired,
      mode: spec.safetyMode,
      status: planner,
      observed,
    }, this.tuning);
    const tracked = trackReconfig({
      before: planner,
      ...(previous.reconfig && persisted ? { inFlight: previous.reconfig } : {}),
      history: previous.history ?? [],
      decision,
      now,
    });
    const summary = summarizeStatus({
      ref,
      generation: cluster.metadata.generation,
      specReplicas: spec.replicas,
      previous,
      decision,
      pacing,
      tracked,
      observed,
      view,
      now,
    });

    // A rolling upgrade only runs on a settled cluster, between membership changes.
    const upgrade = decision.status.phase === "Idle" && decision.action.kind === "none"
      ? planUpgrade({
        ref,
        view,
        observed,
        members: decision.status.members,
        ...(set.status?.updateRevision ? { updateRevision: set.status.updateRevision } : {}),
        tuning: this.tuning,
      })
      : { kind: "done" as const };
    if (upgrade.kind !== "done") {
      summary.status.step = "RollingUpgrade";
      if (summary.status.phase === "Running") summary.status.phase = "Reconfiguring";
      summary.settled = false;
    }

    // The CA rotation (spec.tls.rotate), between membership changes; each of its phases ends with the
    // members restarted one by one through the rolling upgrade above (rotation_step.ts).
    let rotation: RotationAction = { kind: "none" };
    if (spec.tls && tlsStatus && security.ca) {
      const stepped = await stepRotation({
        api,
        ref,
        asked: spec.tls.rotate,
        status: tlsStatus,
        security,
        set,
        desiredSet,
        decision,
        upgradeDone: upgrade.kind === "done",
        now,
        announce: async (message) => {
          ctx.logger.info(`certificate rotation: ${message}`);
          await ctx.postEvent("Normal", "CertificateRotation", message);
        },
      });
      rotation = stepped.action;
      tlsStatus = stepped.status;
      summary.status.tls = tlsStatus;
      if (tlsStatus.phase !== "Stable") {
        summary.settled = false;
        if (summary.status.phase === "Running") summary.status.phase = "Reconfiguring";
        if (upgrade.kind === "done") summary.status.step = "CertificateRotation";
      }
    }

    // Said in status and in an Event, so nobody mistakes an experiment's cluster for a real one.
    if (spec.faultInjection) summary.status.faultInjection = true;
    if (spec.faultInjection !== (previous.faultInjection ?? false)) {
      await ctx.postEvent(
        spec.faultInjection ? "Warning" : "Normal",
        "FaultInjection",
        spec.faultInjection
          ? "spec.faultInjection: the servers run with --fault-injection (experiments and tests only)"
          : "spec.faultInjection off: the servers run without fault injection",
      );
    }
    const patch = statusPatch(previous, summary.status);
    // Persisted before acting: if the operator dies during the action, the next one plans from here.
    let resourceVersion = cluster.metadata.resourceVersion;
    if (patch) {
      const written = await api.patchClusterStatus(ref.namespace, ref.name, resourceVersion, patch);
      resourceVersion = written.metadata.resourceVersion;
    }
    await this.#announce(ctx, planner, decision, tracked, rebuilt);
    if (patch) this.afterPersist([...decision.trail, decision.status.phase]);

    // The StatefulSet: template, replicas and the next node id, repaired toward the persisted plan.
    const idle = decision.status.phase === "Idle" && decision.action.kind === "none";
    const repair = statefulSetRepair(
      set,
      statefulSet(ref, spec, securityTemplate(security, tlsStatus)),
      decision.status,
      idle,
    );
    if (repair.patch) {
      this.#checkLeading(ctx);
      await api.patch("StatefulSet", ref.namespace, statefulSetName(ref), repair.patch);
      if (repair.drift.length) {
        const message = `StatefulSet ${statefulSetName(ref)}: ${repair.drift.join(", ")} put back`;
        ctx.logger.info(message);
        await ctx.postEvent("Normal", "DriftRepaired", message);
      }
    }

    const adminToken = (await this.#tokens(api, ref))?.admin;
    if (!adminToken) {
      await this.#warn(ctx, "SecretMissing", missingSecretMessage(ref));
      return { settled: false };
    }
    const access = this.#tlsAccess(api, spec, security, tlsStatus);
    if (rotation.kind === "reissue" && tlsStatus && access) {
      tlsStatus = await reissueMembers({
        ref,
        view,
        members: decision.status.members,
        ids: rotation.ids,
        adminToken,
        security,
        status: tlsStatus,
        leading: () => this.#checkLeading(ctx),
        log: (line) => ctx.logger.info(`certificate rotation: ${line}`),
        warn: (line) => this.#warn(ctx, "StepFailed", `certificate rotation: ${line}`),
      });
      const written = await api.patchClusterStatus(ref.namespace, ref.name, resourceVersion, {
        tls: tlsStatus,
      })
        .catch(() => undefined);
      if (written) resourceVersion = written.metadata.resourceVersion;
      return { settled: false };
    }
    const error = await this.#execute(ctx, api, ref, view, decision, adminToken, upgrade, access);
    if (error && summary.status.reconfig) {
      await api.patchClusterStatus(ref.namespace, ref.name, resourceVersion, {
        reconfig: { lastError: error },
      }).catch(() => undefined);
    }
    return { settled: summary.settled };
  }

  async #observe(
    api: ClusterApi,
    ref: ClusterRef,
    replicas: number,
    podClient?: PodClient,
  ): Promise<{ view: ClusterView; pods: PodFacts[] }> {
    const selector = labelSelector(ref);
    const [pods, claims] = await Promise.all([
      api.listPods(ref.namespace, selector),
      api.listClaimNames(ref.namespace, selector),
    ]);
    const reports = new Map<string, NodeReport>();
    await Promise.all(pods.map(async (pod) => {
      if (!pod.ip) return;
      let report: NodeReport | undefined;
      if (podClient) {
        podClient.remember(pod.ip, podDnsName(ref, pod.name));
        report = await fetchReportWith(podClient.fetcher(true), podUrl(pod.ip, true));
        // A member without its certificate yet serves a stand-in nobody can verify: believed only
        // when it says it has no identity (then the certificate handshake, which checks it, follows).
        if (!report) {
          const unverified = await fetchReportWith(podClient.fetcher(false), podUrl(pod.ip, true));
          if (unverified && unverified.id === undefined) report = unverified;
        }
      } else {
        report = await fetchReport(podUrl(pod.ip));
      }
      if (report) reports.set(pod.name, report);
    }));
    return { view: buildView(ref, { pods, claims, reports, replicas, tls: podClient !== undefined }), pods };
  }

  #tlsAccess(
    api: ClusterApi,
    spec: ResolvedSpec,
    security: StepSecurity,
    tlsStatus: TlsStatus | undefined,
  ): MemberTlsAccess | undefined {
    const { ca, podClient } = security;
    if (!podClient) return undefined;
    const useNext = tlsStatus?.phase === "Reissue" || tlsStatus?.phase === "DropOld";
    const issuer = spec.tls?.issuerRef
      ? certManagerIssuer(api, spec.tls.issuerRef)
      : ca
      ? operatorCaIssuer(() => ca.signer(useNext))
      : undefined;
    if (!issuer) return undefined;
    return { verified: podClient.fetcher(true), unverified: podClient.fetcher(false), issuer };
  }

  /** Events for what a user wants to know: a change started or finished, a step reached. */
  async #announce(
    ctx: StepContext,
    before: ReconfigStatus,
    decision: PlannerDecision,
    tracked: ReturnType<typeof trackReconfig>,
    rebuilt: boolean,
  ): Promise<void> {
    const after = decision.status;
    if (tracked.started) {
      const message = tracked.started.from === 0
        ? `creating the cluster: ${after.message}`
        : `membership change ${tracked.started.from} -> ${tracked.started.to} voters started: ${after.message}`;
      ctx.logger.info(message);
      await ctx.postEvent("Normal", "ReconfigStarted", message);
    }
    const acted = decision.action.kind !== "wait" && decision.action.kind !== "none";
    if (
      after.phase !== before.phase || (acted && (after.message !== before.message || rebuilt))
    ) {
      const message = `${
        [...decision.trail, after.phase].filter((p, i, a) => i === 0 || a[i - 1] !== p).join(" -> ")
      }: ${after.message}`;
      ctx.logger.info(message);
      await ctx.postEvent("Normal", after.phase, after.message);
    }
    const lost = (after.replacing ?? []).filter((r) =>
      !(before.replacing ?? []).some((b) => b.lostId === r.lostId)
    );
    if (lost.length) {
      // The first move's message says which member came back empty and what happens next.
      const message = decision.messages?.[0] ?? after.message;
      ctx.logger.warn(message);
      await ctx.postEvent("Warning", "MemberStorageLost", message);
    }
    if ((before.replacing?.length ?? 0) > 0 && !(after.replacing?.length)) {
      ctx.logger.info(after.message);
      await ctx.postEvent("Normal", "MemberReplaced", after.message);
    }
    if (tracked.finished) {
      const f = tracked.finished;
      const steps = f.steps.map((s) => `${s.step} ${s.durationSeconds ?? 0}s`).join(", ");
      const message =
        `membership change ${f.from} -> ${f.to} voters ${f.result.toLowerCase()} in ${f.durationSeconds}s (${steps})`;
      ctx.logger.info(message);
      await ctx.postEvent("Normal", "ReconfigFinished", message);
    }
  }

  /** Runs the planner's action (or the rolling upgrade's); returns the error message if it failed. */
  async #execute(
    ctx: StepContext,
    api: ClusterApi,
    ref: ClusterRef,
    view: ClusterView,
    decision: PlannerDecision,
    adminToken: string,
    upgrade: ReturnType<typeof planUpgrade>,
    access?: MemberTlsAccess,
  ): Promise<string | undefined> {
    const memory = this.#remember(ctx.uid);
    let current: string = decision.action.kind;
    try {
      let operations: Operation[];
      let waitingFor: string[] = [];
      if (upgrade.kind === "deletePod" || upgrade.kind === "transferLeader") {
        const leaderUrl = view.leaderSlot === undefined ? undefined : view.slots.get(view.leaderSlot)?.url;
        operations = upgrade.kind === "deletePod"
          ? [{ kind: "deletePod", pod: upgrade.pod }]
          : leaderUrl
          ? [{ kind: "transferLeader", leaderUrl, to: upgrade.to }]
          : [];
        await this.#reportOnce(ctx, "RollingUpgrade", upgrade.message);
      } else {
        if (upgrade.kind === "wait") ctx.logger.debug(upgrade.message);
        const plan = operationsFor({ ref, view, status: decision.status, action: decision.action });
        operations = plan.operations;
        waitingFor = plan.waitingFor;
      }
      // The step the calls belong to, as the nodes record it: a second replica acting on the same
      // step would show up under the same label with another identity.
      const status = decision.status;
      const step = upgrade.kind === "deletePod" || upgrade.kind === "transferLeader"
        ? `RollingUpgrade ${upgrade.kind} conf ${status.confIndex}`
        : `${status.phase} [${status.targetVoters}] conf ${status.confIndex}: ${decision.action.kind}`;
      const runner = new OperationRunner(
        api,
        ref,
        adminToken,
        {
          signal: ctx.signal ?? new AbortController().signal,
          leading: ctx.leading ?? (() => true),
        },
        this.identity ? { identity: this.identity, step } : undefined,
        access,
      );
      for (const operation of operations) {
        current = describeOperation(operation);
        ctx.logger.info(`action: ${current}`);
        try {
          await runner.run(operation);
        } catch (error) {
          const recovery = refusedTokenRecovery(ref, operation, error);
          if (!recovery) throw error;
          ctx.logger.warn(recovery.message);
          await ctx.postEvent("Warning", "AdminTokenRefused", recovery.message);
          current = describeOperation({ kind: "deletePod", pod: recovery.deletePod });
          ctx.logger.info(`action: ${current}`);
          await runner.run({ kind: "deletePod", pod: recovery.deletePod });
          return recovery.message;
        }
      }
      if (waitingFor.length) ctx.logger.debug(`waiting for ${waitingFor.join(", ")}`);
      if (operations.length) memory.warnings.reset();
      return undefined;
    } catch (error) {
      if (ctx.signal?.aborted || (ctx.leading && !ctx.leading())) throw error;
      const why = error instanceof ActionError ? error.message : `${current}: ${(error as Error).message}`;
      await this.#warn(ctx, "StepFailed", `${why} (planned again in a moment)`);
      return why;
    }
  }

  #checkLeading(ctx: StepContext): void {
    if (ctx.leading && !ctx.leading()) {
      throw new Error("this operator replica is not leading any more: the step is left to the next leader");
    }
  }

  /** A Normal Event once per distinct message in a row. */
  async #reportOnce(ctx: StepContext, reason: string, message: string): Promise<void> {
    const memory = this.#remember(ctx.uid);
    if (memory.warnings.current === message) return;
    memory.warnings.check(message);
    ctx.logger.info(message);
    await ctx.postEvent("Normal", reason, message);
  }

  /**
   * A Warning Event and log line, once per distinct message in a row (a failing step repeats every
   * tick); while it lasts, the log line comes again now and then (warning_gate.ts).
   */
  async #warn(ctx: StepContext, reason: string, message: string): Promise<void> {
    const verdict = this.#remember(ctx.uid).warnings.check(message);
    if (verdict.say === "nothing") return;
    if (verdict.say === "again") {
      ctx.logger.warn(`still, for ${verdict.forSeconds}s: ${message}`);
      return;
    }
    ctx.logger.warn(message);
    await ctx.postEvent("Warning", reason, message);
  }

  /** The cluster's tokens, read once from its own Secret and then remembered. */
  async #tokens(api: ClusterApi, ref: ClusterRef): Promise<{ peer: string; admin: string } | undefined> {
    const memory = this.#remember(ref.uid);
    if (!memory.tokens) {
      const secret = await api.readSecret(ref.namespace, secretName(ref));
      if (!secret || controllerUid(secret) !== ref.uid) return undefined;
      const admin = secret.data?.[ADMIN_TOKEN_KEY];
      const peer = secret.data?.[PEER_TOKEN_KEY];
      if (admin && peer) memory.tokens = { admin: atob(admin), peer: atob(peer) };
    }
    return memory.tokens;
  }

  #remember(uid: string): ClusterMemory {
    let memory = this.#memory.get(uid);
    if (!memory) this.#memory.set(uid, memory = { warnings: new WarningGate() });
    return memory;
  }
}

function missingSecretMessage(ref: ClusterRef): string {
  return `Secret ${secretName(ref)} is missing (or not this RaftCluster's) while members run, and their ` +
    `nodes hold its tokens: restore it (keys peer-token, ${ADMIN_TOKEN_KEY}) from a backup; the operator ` +
    `does not invent new tokens for a running cluster`;
}

export function refOf(cluster: KubeObject): ClusterRef {
  const { name, namespace, uid } = cluster.metadata;
  return { name, namespace: namespace ?? "default", uid };
}
