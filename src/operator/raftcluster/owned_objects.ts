/**
 * Keeps the objects a RaftCluster owns as the operator built them, at every step (not only on
 * create): a missing object is created, a changed one (a deleted Service port, an edited selector, a
 * PodDisruptionBudget left at an old quorum) is patched back. An object of the same name that is not
 * controlled by this RaftCluster (same uid) is never touched: after a RaftCluster is deleted and
 * recreated under the same name, the old one's objects are left to the garbage collector instead of
 * being adopted, and a user's own object of that name is reported, not overwritten.
 */
import type * as k8s from "@kubernetes/client-node";
import { apiStatusCode, canonicalJson } from "../framework/mod.ts";
import type { ClusterApi, OwnedKind, OwnedObject } from "./cluster_api.ts";
import type { ClusterRef } from "./names.ts";

export interface OwnedOutcome {
  created: string[];
  repaired: string[];
  /** Objects of our names that another owner (or nobody) controls: left alone. */
  foreign: string[];
}

/** What of each kind the operator owns and repairs (the API server fills in the rest). */
function managedPart(kind: OwnedKind, object: OwnedObject): unknown {
  switch (kind) {
    case "Secret":
      // Immutable, and its tokens must never change under running nodes: existence is all.
      return null;
    case "Service": {
      const spec = (object as k8s.V1Service).spec ?? {};
      return {
        selector: spec.selector ?? {},
        publishNotReadyAddresses: spec.publishNotReadyAddresses ?? false,
        ports: (spec.ports ?? []).map((p) => ({
          name: p.name,
          port: p.port,
          targetPort: String(p.targetPort ?? p.port),
        })),
      };
    }
    case "PodDisruptionBudget": {
      const spec = (object as k8s.V1PodDisruptionBudget).spec ?? {};
      return { minAvailable: spec.minAvailable, selector: spec.selector?.matchLabels ?? {} };
    }
    case "NetworkPolicy": {
      const spec = (object as k8s.V1NetworkPolicy).spec;
      return {
        podSelector: spec?.podSelector?.matchLabels ?? {},
        ingress: (spec?.ingress ?? []).map((rule) => ({
          from: (rule._from ?? []).map((peer) => ({
            pod: peer.podSelector?.matchLabels ?? null,
            namespace: peer.namespaceSelector ? peer.namespaceSelector.matchLabels ?? {} : null,
          })),
          ports: (rule.ports ?? []).map((p) => String(p.port)),
        })),
      };
    }
  }
}

/** The patch that puts the managed part back: the desired spec, with maps' extra keys removed. */
function repairPatch(kind: OwnedKind, current: OwnedObject, desired: OwnedObject): object {
  const desiredSpec = (desired as { spec?: Record<string, unknown> }).spec ?? {};
  const currentSpec = (current as { spec?: Record<string, unknown> }).spec ?? {};
  const spec: Record<string, unknown> = { ...desiredSpec };
  if (kind === "Service") {
    // A merge patch merges maps: a label a user added to the selector must be deleted explicitly.
    const selector: Record<string, unknown> = { ...(desiredSpec.selector as object) };
    for (const key of Object.keys((currentSpec.selector as object) ?? {})) {
      if (!(key in selector)) selector[key] = null;
    }
    spec.selector = selector;
    spec.publishNotReadyAddresses = desiredSpec.publishNotReadyAddresses ?? false;
    // clusterIP is immutable (and "None" for the headless one): leave it out.
    delete spec.clusterIP;
  }
  if (kind === "Secret") return { metadata: { labels: desired.metadata?.labels } };
  if (kind === "NetworkPolicy") {
    // client-node's model calls `from` `_from`; a patch body is sent as written.
    spec.ingress = (desiredSpec.ingress as k8s.V1NetworkPolicyIngressRule[]).map(({ _from, ...rule }) => ({
      ...rule,
      from: _from,
    }));
  }
  return { metadata: { labels: desired.metadata?.labels }, spec };
}

export function controllerUid(object: { metadata?: k8s.V1ObjectMeta }): string | undefined {
  return object.metadata?.ownerReferences?.find((r) => r.controller)?.uid;
}

/**
 * Creates or repairs each object. The Secret is only created while `mayCreateSecret` (no member has
 * ever run: running nodes hold its tokens, and fresh tokens would cut them off).
 */
export async function reconcileOwned(
  api: ClusterApi,
  ref: ClusterRef,
  desired: OwnedObject[],
  options: { mayCreateSecret: boolean },
): Promise<OwnedOutcome> {
  const outcome: OwnedOutcome = { created: [], repaired: [], foreign: [] };
  for (const object of desired) {
    const kind = object.kind as OwnedKind;
    const name = object.metadata!.name!;
    const label = `${kind} ${name}`;
    const current = await api.read(kind, ref.namespace, name);
    if (!current) {
      if (kind === "Secret" && !options.mayCreateSecret) continue;
      try {
        await api.create(object);
        outcome.created.push(label);
      } catch (error) {
        // Created meanwhile (by us, a step earlier): looked at again next step.
        if (apiStatusCode(error) !== 409) throw error;
      }
      continue;
    }
    if (controllerUid(current) !== ref.uid) {
      outcome.foreign.push(`${label} (controlled by ${controllerUid(current) ?? "nobody"})`);
      continue;
    }
    if (current.metadata?.deletionTimestamp) continue;
    const labelsDrifted = Object.entries(object.metadata?.labels ?? {}).some(([k, v]) =>
      current.metadata?.labels?.[k] !== v
    );
    if (
      labelsDrifted || canonicalJson(managedPart(kind, current)) !== canonicalJson(managedPart(kind, object))
    ) {
      await api.patch(kind, ref.namespace, name, repairPatch(kind, current, object));
      outcome.repaired.push(label);
    }
  }
  return outcome;
}
