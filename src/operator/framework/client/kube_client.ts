import * as k8s from "@kubernetes/client-node";
import { isNotFound } from "./api_error.ts";
import { streamWatch } from "./watch_stream.ts";
import type { KubeObject, ResourceRef } from "../structs/objects.ts";
import type { MergePatch } from "../structs/patches.ts";

const mergePatch = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);

/** One object's address: its resource and its (namespace, name). */
export interface ObjectAddress {
  resource: ResourceRef;
  namespace?: string;
  name: string;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
}

/** A watch stream event as the API server sends it. */
export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: KubeObject;
}

/**
 * The framework's only door to the API server, on top of client-node: custom objects (list, watch,
 * get, merge patch of the object and of its status subresource), Events and Leases.
 * Errors are client-node's ApiException; see api_error.ts.
 */
export class KubeClient {
  readonly #objects: k8s.CustomObjectsApi;
  readonly #core: k8s.CoreV1Api;
  readonly #coordination: k8s.CoordinationV1Api;

  constructor(readonly kubeConfig: k8s.KubeConfig, readonly fieldManager = "raft-kv-operator") {
    this.#objects = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    this.#core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.#coordination = kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  }

  /** Lists every object (following `continue` pages) and returns the list's resourceVersion. */
  async list(resource: ResourceRef, pageSize = 500): Promise<ListResult> {
    const { group, version, plural, namespace } = resource;
    const items: KubeObject[] = [];
    let continueToken: string | undefined;
    let resourceVersion = "";
    do {
      const page = namespace
        ? await this.#objects.listNamespacedCustomObject({
          group,
          version,
          plural,
          namespace,
          limit: pageSize,
          _continue: continueToken,
        })
        : await this.#objects.listClusterCustomObject({
          group,
          version,
          plural,
          limit: pageSize,
          _continue: continueToken,
        });
      items.push(...(page.items as KubeObject[]));
      continueToken = page.metadata?._continue || page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    } while (continueToken);
    return { items, resourceVersion };
  }

  /**
   * One watch request from `resourceVersion`, with bookmarks. Resolves when the stream ends: null when
   * the server closed it, an error otherwise (WatchInactivityError after `inactivityMs` of silence).
   */
  watch(
    resource: ResourceRef,
    resourceVersion: string,
    options: { timeoutSeconds: number; inactivityMs: number; signal: AbortSignal },
    onEvent: (event: WatchEvent) => void,
  ): Promise<unknown> {
    const { group, version, plural, namespace } = resource;
    const server = this.kubeConfig.getCurrentCluster()?.server;
    if (!server) {
      return Promise.resolve(new Error("the kubeconfig has no current cluster: set current-context"));
    }
    const url = new URL(
      `${server}/apis/${group}/${version}${namespace ? `/namespaces/${namespace}` : ""}/${plural}`,
    );
    url.searchParams.set("watch", "true");
    url.searchParams.set("resourceVersion", resourceVersion);
    url.searchParams.set("allowWatchBookmarks", "true");
    url.searchParams.set("timeoutSeconds", String(options.timeoutSeconds));
    return streamWatch(this.kubeConfig, url, options, (line) => onEvent(line as WatchEvent));
  }

  /** The object, or undefined when it does not exist (any more). */
  async get(address: ObjectAddress): Promise<KubeObject | undefined> {
    const { group, version, plural } = address.resource;
    try {
      return (address.namespace
        ? await this.#objects.getNamespacedCustomObject({
          group,
          version,
          plural,
          ...address,
          namespace: address.namespace,
        })
        : await this.#objects.getClusterCustomObject({
          group,
          version,
          plural,
          name: address.name,
        })) as KubeObject;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Merge-patches the object; `status` is ignored by the server here (status subresource). */
  async patch(address: ObjectAddress, body: MergePatch): Promise<KubeObject> {
    const { group, version, plural } = address.resource;
    const common = { group, version, plural, name: address.name, body, fieldManager: this.fieldManager };
    return (address.namespace
      ? await this.#objects.patchNamespacedCustomObject(
        { ...common, namespace: address.namespace },
        mergePatch,
      )
      : await this.#objects.patchClusterCustomObject(common, mergePatch)) as KubeObject;
  }

  /** Merge-patches the status subresource (the CRD must declare `subresources: { status: {} }`). */
  async patchStatus(address: ObjectAddress, body: MergePatch): Promise<KubeObject> {
    const { group, version, plural } = address.resource;
    const common = { group, version, plural, name: address.name, body, fieldManager: this.fieldManager };
    return (address.namespace
      ? await this.#objects.patchNamespacedCustomObjectStatus(
        { ...common, namespace: address.namespace },
        mergePatch,
      )
      : await this.#objects.patchClusterCustomObjectStatus(common, mergePatch)) as KubeObject;
  }

  async createEvent(namespace: string, event: k8s.CoreV1Event): Promise<void> {
    await this.#core.createNamespacedEvent({ namespace, body: event });
  }

  async readLease(namespace: string, name: string): Promise<k8s.V1Lease | undefined> {
    try {
      return await this.#coordination.readNamespacedLease({ namespace, name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async createLease(namespace: string, lease: k8s.V1Lease): Promise<k8s.V1Lease> {
    return await this.#coordination.createNamespacedLease({ namespace, body: lease });
  }

  /** Replaces the Lease; its metadata.resourceVersion makes this fail with 409 if someone wrote first. */
  async replaceLease(namespace: string, lease: k8s.V1Lease): Promise<k8s.V1Lease> {
    const name = lease.metadata?.name ?? "";
    return await this.#coordination.replaceNamespacedLease({ namespace, name, body: lease });
  }
}
