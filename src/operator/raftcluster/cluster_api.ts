/**
 * The RaftCluster operator's door to the API server for what the framework does not do for it: the
 * RaftCluster's status (written before each action), and the objects the cluster owns (Secret,
 * Services, StatefulSet, PodDisruptionBudget, NetworkPolicy, pods, claims). Errors are client-node's
 * ApiException.
 *
 * Fencing: `fenced(signal)` gives a view whose every request carries the signal (an aborted signal
 * cancels a request in flight) and refuses to start once it is aborted, so an operator replica that
 * lost its Lease cannot write after the fact.
 */
import * as k8s from "@kubernetes/client-node";
import type { KubeObject } from "../framework/mod.ts";
import { apiStatusCode } from "../framework/mod.ts";
import { RAFT_CLUSTER } from "./types.ts";
import { CERTIFICATE_REQUEST } from "./cert_manager.ts";

const FIELD_MANAGER = "raft-operator";

/** The per-call options of client-node's promise API. */
type CallOptions = NonNullable<Parameters<k8s.CoreV1Api["readNamespacedSecret"]>[1]>;

/** A pod as the operator needs to see it. */
export interface PodFacts {
  name: string;
  ip?: string;
  terminating: boolean;
  /** Its Ready condition is True. */
  ready: boolean;
  /** The StatefulSet revision it was created from (controller-revision-hash label). */
  revision?: string;
  /** The uid of the object that controls it (its StatefulSet), if any. */
  controllerUid?: string;
}

/** Thrown when a write guarded by resourceVersion lost to another writer. */
export class StaleObjectError extends Error {
  override name = "StaleObjectError";
}

/** Thrown instead of starting a request once the fencing signal is aborted. */
export class FencedError extends Error {
  override name = "FencedError";
}

interface Clients {
  objects: k8s.CustomObjectsApi;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  policy: k8s.PolicyV1Api;
  networking: k8s.NetworkingV1Api;
}

/** The kinds of owned objects the operator creates and repairs besides the StatefulSet. */
export type OwnedKind = "Secret" | "Service" | "PodDisruptionBudget" | "NetworkPolicy";
export type OwnedObject = k8s.V1Secret | k8s.V1Service | k8s.V1PodDisruptionBudget | k8s.V1NetworkPolicy;

export class ClusterApi {
  readonly #clients: Clients;
  readonly #signal: AbortSignal | undefined;
  readonly #leading: () => boolean;

  constructor(
    kubeConfig: k8s.KubeConfig | Clients,
    signal?: AbortSignal,
    leading: () => boolean = () => true,
  ) {
    this.#clients = kubeConfig instanceof k8s.KubeConfig
      ? {
        objects: kubeConfig.makeApiClient(k8s.CustomObjectsApi),
        core: kubeConfig.makeApiClient(k8s.CoreV1Api),
        apps: kubeConfig.makeApiClient(k8s.AppsV1Api),
        policy: kubeConfig.makeApiClient(k8s.PolicyV1Api),
        networking: kubeConfig.makeApiClient(k8s.NetworkingV1Api),
      }
      : kubeConfig;
    this.#signal = signal;
    this.#leading = leading;
  }

  /**
   * The same API whose requests are cancelled once `signal` is aborted, and refused to start once it is
   * or once `leading()` says this replica may no longer act.
   */
  fenced(signal: AbortSignal, leading: () => boolean = () => true): ClusterApi {
    return new ClusterApi(this.#clients, signal, leading);
  }

  get signal(): AbortSignal | undefined {
    return this.#signal;
  }

  /** Request options: the signal, and a content type if the call needs one. */
  #options(contentType?: string): CallOptions {
    if (this.#signal?.aborted) throw new FencedError(`not acting any more: ${reasonOf(this.#signal)}`);
    if (!this.#leading()) throw new FencedError("not acting any more: the Lease was not renewed in time");
    const signal = this.#signal;
    return {
      middleware: [{
        pre: (request: k8s.RequestContext) => {
          if (signal) request.setSignal(signal);
          if (contentType) request.setHeaderParam("Content-Type", contentType);
          return new k8s.Observable(Promise.resolve(request));
        },
        post: (response: k8s.ResponseContext) => new k8s.Observable(Promise.resolve(response)),
      }],
      middlewareMergeStrategy: "append",
    };
  }

  async getCluster(namespace: string, name: string): Promise<KubeObject | undefined> {
    const { group, version, plural } = RAFT_CLUSTER;
    return await orUndefined(() =>
      this.#clients.objects.getNamespacedCustomObject(
        { group, version, plural, namespace, name },
        this.#options(),
      )
    ) as KubeObject | undefined;
  }

  /**
   * Merge-patches the RaftCluster's status, guarded by the resourceVersion it was planned from, so a
   * plan made from a stale object is never persisted (StaleObjectError: plan again).
   */
  async patchClusterStatus(
    namespace: string,
    name: string,
    resourceVersion: string,
    status: Record<string, unknown>,
  ): Promise<KubeObject> {
    const { group, version, plural } = RAFT_CLUSTER;
    try {
      return await this.#clients.objects.patchNamespacedCustomObjectStatus({
        group,
        version,
        plural,
        namespace,
        name,
        body: { metadata: { resourceVersion }, status },
        fieldManager: FIELD_MANAGER,
      }, this.#options(k8s.PatchStrategy.MergePatch)) as KubeObject;
    } catch (error) {
      if (apiStatusCode(error) === 409) {
        throw new StaleObjectError(`${namespace}/${name} changed while the step was planned`);
      }
      throw error;
    }
  }

  /** A cert-manager CertificateRequest (spec.tls.issuerRef), or undefined. */
  async readCertificateRequest(
    namespace: string,
    name: string,
  ): Promise<Record<string, unknown> | undefined> {
    const { group, version, plural } = CERTIFICATE_REQUEST;
    return await orUndefined(() =>
      this.#clients.objects.getNamespacedCustomObject(
        { group, version, plural, namespace, name },
        this.#options(),
      )
    ) as Record<string, unknown> | undefined;
  }

  async createCertificateRequest(body: { metadata: k8s.V1ObjectMeta }): Promise<void> {
    const { group, version, plural } = CERTIFICATE_REQUEST;
    await this.#clients.objects.createNamespacedCustomObject({
      group,
      version,
      plural,
      namespace: body.metadata.namespace!,
      body,
      fieldManager: FIELD_MANAGER,
    }, this.#options());
  }

  async readSecret(namespace: string, name: string): Promise<k8s.V1Secret | undefined> {
    return await orUndefined(() =>
      this.#clients.core.readNamespacedSecret({ namespace, name }, this.#options())
    );
  }

  /** An owned object of this kind and name, or undefined. */
  async read(kind: OwnedKind, namespace: string, name: string): Promise<OwnedObject | undefined> {
    const c = this.#clients;
    const o = this.#options();
    const request = { namespace, name };
    return await orUndefined((): Promise<OwnedObject> => {
      switch (kind) {
        case "Secret":
          return c.core.readNamespacedSecret(request, o);
        case "Service":
          return c.core.readNamespacedService(request, o);
        case "PodDisruptionBudget":
          return c.policy.readNamespacedPodDisruptionBudget(request, o);
        case "NetworkPolicy":
          return c.networking.readNamespacedNetworkPolicy(request, o);
      }
    });
  }

  async create(object: OwnedObject): Promise<void> {
    const c = this.#clients;
    const o = this.#options();
    const namespace = object.metadata!.namespace!;
    const common = { namespace, fieldManager: FIELD_MANAGER };
    switch (object.kind as OwnedKind) {
      case "Secret":
        await c.core.createNamespacedSecret({ ...common, body: object as k8s.V1Secret }, o);
        return;
      case "Service":
        await c.core.createNamespacedService({ ...common, body: object as k8s.V1Service }, o);
        return;
      case "PodDisruptionBudget":
        await c.policy.createNamespacedPodDisruptionBudget({
          ...common,
          body: object as k8s.V1PodDisruptionBudget,
        }, o);
        return;
      case "NetworkPolicy":
        await c.networking.createNamespacedNetworkPolicy(
          { ...common, body: object as k8s.V1NetworkPolicy },
          o,
        );
        return;
    }
  }

  /** Merge-patches an owned object. */
  async patch(kind: OwnedKind | "StatefulSet", namespace: string, name: string, body: object): Promise<void> {
    const c = this.#clients;
    const o = this.#options(k8s.PatchStrategy.MergePatch);
    const request = { namespace, name, body, fieldManager: FIELD_MANAGER };
    switch (kind) {
      case "Secret":
        await c.core.patchNamespacedSecret(request, o);
        return;
      case "Service":
        await c.core.patchNamespacedService(request, o);
        return;
      case "PodDisruptionBudget":
        await c.policy.patchNamespacedPodDisruptionBudget(request, o);
        return;
      case "NetworkPolicy":
        await c.networking.patchNamespacedNetworkPolicy(request, o);
        return;
      case "StatefulSet":
        await c.apps.patchNamespacedStatefulSet(request, o);
        return;
    }
  }

  async createStatefulSet(set: k8s.V1StatefulSet): Promise<void> {
    await this.#clients.apps.createNamespacedStatefulSet(
      { namespace: set.metadata!.namespace!, body: set, fieldManager: FIELD_MANAGER },
      this.#options(),
    );
  }

  async readStatefulSet(namespace: string, name: string): Promise<k8s.V1StatefulSet | undefined> {
    return await orUndefined(() =>
      this.#clients.apps.readNamespacedStatefulSet({ namespace, name }, this.#options())
    );
  }

  async scaleStatefulSet(namespace: string, name: string, replicas: number): Promise<void> {
    await this.#clients.apps.patchNamespacedStatefulSet({
      namespace,
      name,
      body: { spec: { replicas } },
      fieldManager: FIELD_MANAGER,
    }, this.#options(k8s.PatchStrategy.MergePatch));
  }

  async listPods(namespace: string, labelSelector: string): Promise<PodFacts[]> {
    const list = await this.#clients.core.listNamespacedPod({ namespace, labelSelector }, this.#options());
    return list.items.map((pod) => ({
      name: pod.metadata?.name ?? "",
      ip: pod.status?.podIP || undefined,
      terminating: pod.metadata?.deletionTimestamp !== undefined,
      ready: pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
      revision: pod.metadata?.labels?.["controller-revision-hash"],
      controllerUid: pod.metadata?.ownerReferences?.find((o) => o.controller)?.uid,
    }));
  }

  async listClaimNames(namespace: string, labelSelector: string): Promise<string[]> {
    const list = await this.#clients.core.listNamespacedPersistentVolumeClaim(
      { namespace, labelSelector },
      this.#options(),
    );
    return list.items.map((claim) => claim.metadata?.name ?? "");
  }

  /** Deletes a claim; one already gone is fine. */
  async deleteClaim(namespace: string, name: string): Promise<void> {
    await orUndefined(() =>
      this.#clients.core.deleteNamespacedPersistentVolumeClaim({ namespace, name }, this.#options())
    );
  }

  /** Deletes a pod (its StatefulSet recreates it from the current template); one already gone is fine. */
  async deletePod(namespace: string, name: string): Promise<void> {
    await orUndefined(() => this.#clients.core.deleteNamespacedPod({ namespace, name }, this.#options()));
  }
}

function reasonOf(signal: AbortSignal): string {
  const reason = signal.reason;
  return reason instanceof Error ? reason.message : String(reason ?? "aborted");
}

async function orUndefined<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (apiStatusCode(error) === 404) return undefined;
    throw error;
  }
}
