/**
 * The RaftCluster operator's door to the API server for what the framework does not do for it: the
 * RaftCluster's status (written before each action), and the objects the cluster owns (Secret,
 * Services, StatefulSet, pods, claims). Errors are client-node's ApiException.
 */
import * as k8s from "@kubernetes/client-node";
import type { KubeObject } from "../framework/mod.ts";
import { apiStatusCode } from "../framework/mod.ts";
import { RAFT_CLUSTER } from "./types.ts";

const mergePatch = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);
const FIELD_MANAGER = "raft-operator";

/** A pod as the operator needs to see it. */
export interface PodFacts {
  name: string;
  ip?: string;
  terminating: boolean;
}

/** Thrown when a write guarded by resourceVersion lost to another writer. */
export class StaleObjectError extends Error {
  override name = "StaleObjectError";
}

export class ClusterApi {
  readonly #objects: k8s.CustomObjectsApi;
  readonly #core: k8s.CoreV1Api;
  readonly #apps: k8s.AppsV1Api;

  constructor(kubeConfig: k8s.KubeConfig) {
    this.#objects = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    this.#core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.#apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
  }

  async getCluster(namespace: string, name: string): Promise<KubeObject | undefined> {
    const { group, version, plural } = RAFT_CLUSTER;
    return await orUndefined(
      () => this.#objects.getNamespacedCustomObject({ group, version, plural, namespace, name }),
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
      return await this.#objects.patchNamespacedCustomObjectStatus({
        group,
        version,
        plural,
        namespace,
        name,
        body: { metadata: { resourceVersion }, status },
        fieldManager: FIELD_MANAGER,
      }, mergePatch) as KubeObject;
    } catch (error) {
      if (apiStatusCode(error) === 409) {
        throw new StaleObjectError(`${namespace}/${name} changed while the step was planned`);
      }
      throw error;
    }
  }

  async readSecret(namespace: string, name: string): Promise<k8s.V1Secret | undefined> {
    return await orUndefined(() => this.#core.readNamespacedSecret({ namespace, name }));
  }

  /** Creates each object that does not exist yet; existing ones are left as they are. */
  async createIfAbsent(
    objects: { secret: k8s.V1Secret; services: k8s.V1Service[]; statefulSet: k8s.V1StatefulSet },
  ): Promise<string[]> {
    const created: string[] = [];
    const attempt = async (what: string, create: () => Promise<unknown>) => {
      try {
        await create();
        created.push(what);
      } catch (error) {
        if (apiStatusCode(error) !== 409) throw error;
      }
    };
    const namespace = objects.statefulSet.metadata!.namespace!;
    await attempt(
      `Secret ${objects.secret.metadata!.name}`,
      () =>
        this.#core.createNamespacedSecret({ namespace, body: objects.secret, fieldManager: FIELD_MANAGER }),
    );
    for (const service of objects.services) {
      await attempt(
        `Service ${service.metadata!.name}`,
        () => this.#core.createNamespacedService({ namespace, body: service, fieldManager: FIELD_MANAGER }),
      );
    }
    await attempt(
      `StatefulSet ${objects.statefulSet.metadata!.name}`,
      () =>
        this.#apps.createNamespacedStatefulSet({
          namespace,
          body: objects.statefulSet,
          fieldManager: FIELD_MANAGER,
        }),
    );
    return created;
  }

  async readStatefulSet(namespace: string, name: string): Promise<k8s.V1StatefulSet | undefined> {
    return await orUndefined(() => this.#apps.readNamespacedStatefulSet({ namespace, name }));
  }

  async scaleStatefulSet(namespace: string, name: string, replicas: number): Promise<void> {
    await this.#apps.patchNamespacedStatefulSet({
      namespace,
      name,
      body: { spec: { replicas } },
      fieldManager: FIELD_MANAGER,
    }, mergePatch);
  }

  async listPods(namespace: string, labelSelector: string): Promise<PodFacts[]> {
    const list = await this.#core.listNamespacedPod({ namespace, labelSelector });
    return list.items.map((pod) => ({
      name: pod.metadata?.name ?? "",
      ip: pod.status?.podIP || undefined,
      terminating: pod.metadata?.deletionTimestamp !== undefined,
    }));
  }

  async listClaimNames(namespace: string, labelSelector: string): Promise<string[]> {
    const list = await this.#core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector });
    return list.items.map((claim) => claim.metadata?.name ?? "");
  }

  /** Deletes a claim; one already gone is fine. */
  async deleteClaim(namespace: string, name: string): Promise<void> {
    await orUndefined(() => this.#core.deleteNamespacedPersistentVolumeClaim({ namespace, name }));
  }
}

async function orUndefined<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (apiStatusCode(error) === 404) return undefined;
    throw error;
  }
}
