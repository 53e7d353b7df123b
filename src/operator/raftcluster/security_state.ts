/**
 * Reads and writes the Secrets of spec.tls and spec.auth (security_objects.ts) for one step: the
 * operator's CA (made on first need), the trust bundle, the role tokens and the auth file. Returns
 * what the pod template and the pod client need. Secrets hold the only copies of the keys and tokens;
 * none of them goes to status, Events or logs.
 */
import type * as k8s from "@kubernetes/client-node";
import { ClusterCa } from "../../security/certificates.ts";
import { ROLES } from "../../security/roles.ts";
import { apiStatusCode } from "../framework/mod.ts";
import type { ClusterApi } from "./cluster_api.ts";
import { caSecretName, clusterId, type ClusterRef, trustSecretName, userTokenSecretName } from "./names.ts";
import { controllerUid } from "./owned_objects.ts";
import { ownerReference } from "./resources.ts";
import {
  authFile,
  authSecret,
  CA_CERT,
  CA_KEY,
  type CaPems,
  caSecret,
  NEXT_CERT,
  NEXT_KEY,
  randomToken,
  sha256Hex,
  TOKEN_KEY,
  TRUST_KEY,
  trustBundle,
  trustSecret,
  userTokenSecret,
} from "./security_objects.ts";

export class MissingCaError extends Error {
  override name = "MissingCaError";
}

export class ForeignSecretError extends Error {
  override name = "ForeignSecretError";
}

const decode = (secret: k8s.V1Secret | undefined, key: string) => {
  const value = secret?.data?.[key];
  return value === undefined
    ? undefined
    : new TextDecoder().decode(Uint8Array.from(atob(value), (c) => c.charCodeAt(0)));
};

async function readOwn(api: ClusterApi, ref: ClusterRef, name: string): Promise<k8s.V1Secret | undefined> {
  const secret = await api.readSecret(ref.namespace, name);
  if (secret && controllerUid(secret) !== ref.uid) {
    throw new ForeignSecretError(
      `Secret ${name} exists but this RaftCluster does not control it: not touching it`,
    );
  }
  return secret;
}

/** Creates the Secret, or puts its data back to `desired` when it differs. Returns what changed. */
async function ensure(api: ClusterApi, ref: ClusterRef, desired: k8s.V1Secret): Promise<string | undefined> {
  const name = desired.metadata!.name!;
  const current = await readOwn(api, ref, name);
  if (!current) {
    try {
      await api.create(desired);
    } catch (error) {
      if (apiStatusCode(error) !== 409) throw error;
    }
    return `created Secret ${name}`;
  }
  const same = Object.entries(desired.stringData ?? {}).every(([k, v]) => decode(current, k) === v) &&
    Object.keys(current.data ?? {}).every((k) => k in (desired.stringData ?? {}));
  if (same) return undefined;
  // A merge patch cannot drop keys by leaving them out: null them.
  const data: Record<string, string | null> = {};
  for (const key of Object.keys(current.data ?? {})) {
    if (!(key in (desired.stringData ?? {}))) data[key] = null;
  }
  await api.patch("Secret", ref.namespace, name, { data, stringData: desired.stringData });
  return `updated Secret ${name}`;
}

export interface CaState {
  pems: CaPems;
  /** Signs member certificates: the next CA once the rotation reissues, else the current one. */
  signer(useNext: boolean): Promise<ClusterCa>;
  /** Every CA trusted now (the operator's own client trusts all of them). */
  bundle: string;
  changes: string[];
}

/** The operator's CA: read, or made for a new cluster. */
export async function loadCa(api: ClusterApi, ref: ClusterRef): Promise<CaState> {
  const owner = ownerReference(ref);
  const secret = await readOwn(api, ref, caSecretName(ref));
  const changes: string[] = [];
  let pems: CaPems;
  const cert = decode(secret, CA_CERT), key = decode(secret, CA_KEY);
  if (cert && key) {
    const nextCert = decode(secret, NEXT_CERT), nextKey = decode(secret, NEXT_KEY);
    pems = {
      current: { cert, key },
      ...(nextCert && nextKey ? { next: { cert: nextCert, key: nextKey } } : {}),
    };
  } else {
    // Members already trust a CA (the bundle is there): a new CA would cut them off from each other
    // at their next restart. Like the tokens, the CA is never invented under a running cluster.
    if (await readTrustBundle(api, ref)) {
      throw new MissingCaError(
        `Secret ${
          caSecretName(ref)
        } is missing (or lacks ${CA_CERT}/${CA_KEY}) while the members trust its CA ` +
          `(Secret ${trustSecretName(ref)}): restore it from a backup; the operator does not make a new CA ` +
          "for a running cluster",
      );
    }
    pems = { current: (await ClusterCa.create(clusterId(ref))).pem };
    changes.push(await ensure(api, ref, caSecret(ref, owner, pems)) ?? "");
  }
  return await finish(api, ref, pems, changes);
}

async function finish(api: ClusterApi, ref: ClusterRef, pems: CaPems, changes: string[]): Promise<CaState> {
  const bundle = trustBundle(pems);
  const trustChange = await ensure(api, ref, trustSecret(ref, ownerReference(ref), bundle));
  if (trustChange) changes.push(trustChange);
  return {
    pems,
    bundle,
    changes: changes.filter(Boolean),
    signer: (useNext) => ClusterCa.load(useNext && pems.next ? pems.next : pems.current),
  };
}

/** Rotation: a new CA next to the current one (kept if one is already there). */
export async function addNextCa(api: ClusterApi, ref: ClusterRef, state: CaState): Promise<CaState> {
  if (state.pems.next) return state;
  const pems = { ...state.pems, next: (await ClusterCa.create(`${clusterId(ref)} rotation`)).pem };
  const changes = [await ensure(api, ref, caSecret(ref, ownerReference(ref), pems)) ?? ""];
  return await finish(api, ref, pems, changes);
}

/** Rotation: the next CA becomes the only one. */
export async function dropOldCa(api: ClusterApi, ref: ClusterRef, state: CaState): Promise<CaState> {
  if (!state.pems.next) return state;
  const pems = { current: state.pems.next };
  const changes = [await ensure(api, ref, caSecret(ref, ownerReference(ref), pems)) ?? ""];
  return await finish(api, ref, pems, changes);
}

export const hashOf = (text: string) => sha256Hex(text).slice(0, 16);

/**
 * The role tokens (one Secret per role, made once) and the members' auth file of their digests.
 * A deleted token Secret gets a new token: the auth file changes and the members are rolled onto it.
 */
export async function ensureAuth(
  api: ClusterApi,
  ref: ClusterRef,
): Promise<{ tokens: Record<string, string>; authHash: string; changes: string[] }> {
  const owner = ownerReference(ref);
  const tokens: Record<string, string> = {};
  const changes: string[] = [];
  for (const role of ROLES) {
    const name = userTokenSecretName(ref, role);
    const current = decode(await readOwn(api, ref, name), TOKEN_KEY);
    if (current) {
      tokens[role] = current;
      continue;
    }
    tokens[role] = randomToken();
    changes.push(await ensure(api, ref, userTokenSecret(ref, owner, role, tokens[role])) ?? "");
  }
  const file = authFile(tokens);
  const change = await ensure(api, ref, authSecret(ref, owner, file));
  if (change) changes.push(change);
  return { tokens, authHash: hashOf(file), changes: changes.filter(Boolean) };
}

/** The trust bundle in the cluster's trust Secret, if there is one. */
export async function readTrustBundle(api: ClusterApi, ref: ClusterRef): Promise<string | undefined> {
  return decode(await readOwn(api, ref, trustSecretName(ref)), TRUST_KEY) || undefined;
}

export async function writeTrustBundle(
  api: ClusterApi,
  ref: ClusterRef,
  bundle: string,
): Promise<string | undefined> {
  return await ensure(api, ref, trustSecret(ref, ownerReference(ref), bundle));
}
