/**
 * What one reconcile step needs of spec.tls and spec.auth: the operator's CA (and so the trust bundle
 * and the pod client that trusts it) and the auth Secrets, read or made before the cluster is observed.
 */
import { splitPemBundle } from "../../security/tls_files.ts";
import type { ClusterApi } from "./cluster_api.ts";
import type { ClusterRef } from "./names.ts";
import { PodClient } from "./pod_client.ts";
import type { SecurityTemplate } from "./security_objects.ts";
import {
  type CaState,
  ensureAuth,
  hashOf,
  loadCa,
  readTrustBundle,
  writeTrustBundle,
} from "./security_state.ts";
import type { ResolvedSpec, TlsStatus } from "./types.ts";
import type { ResolvedTls } from "./spec.ts";
import { certificateRequest, generateMemberKey } from "../../security/member_key.ts";
import {
  type CertificateRequestObject,
  certificateRequestObject,
  probeRequestName,
  requestOutcome,
} from "./cert_manager.ts";
import { clusterId } from "./names.ts";
import { ownerReference } from "./resources.ts";

export interface StepSecurity {
  /** The operator's CA, with spec.tls (without an issuerRef). */
  ca?: CaState;
  /** How the operator reaches members over TLS. */
  podClient?: PodClient;
  authHash?: string;
  /** What was created or updated (Secret names only, for the log and Events). */
  changes: string[];
  /** spec.tls.issuerRef: why no pod may start yet (the issuer's CA is not known yet). */
  waiting?: string;
}

export async function prepareSecurity(
  api: ClusterApi,
  ref: ClusterRef,
  spec: ResolvedSpec,
): Promise<StepSecurity> {
  const out: StepSecurity = { changes: [] };
  if (spec.tls && !spec.tls.issuerRef) {
    out.ca = await loadCa(api, ref);
    out.changes.push(...out.ca.changes);
    out.podClient = new PodClient(splitPemBundle(out.ca.bundle));
  }
  if (spec.tls?.issuerRef) {
    const trust = await issuerTrust(api, ref, spec.tls.issuerRef);
    if ("waiting" in trust) out.waiting = trust.waiting;
    else {
      if (trust.change) out.changes.push(trust.change);
      out.podClient = new PodClient(splitPemBundle(trust.bundle));
    }
  }
  if (spec.auth) {
    const auth = await ensureAuth(api, ref);
    out.authHash = auth.authHash;
    out.changes.push(...auth.changes);
  }
  return out;
}

/** The pod template's share: a changed bundle, certificate generation or auth file rolls the members. */
export function securityTemplate(security: StepSecurity, tls: TlsStatus | undefined): SecurityTemplate {
  return {
    ...(security.ca ? { trustHash: hashOf(security.ca.bundle) } : {}),
    ...(tls ? { certificates: tls.certificates } : {}),
    ...(security.authHash ? { authHash: security.authHash } : {}),
  };
}

/**
 * With cert-manager: the CA the members trust, from the issuer's answer to a request of the operator's
 * own (a throwaway key), kept in the trust Secret once known.
 */
async function issuerTrust(
  api: ClusterApi,
  ref: ClusterRef,
  issuerRef: NonNullable<ResolvedTls["issuerRef"]>,
): Promise<{ bundle: string; change?: string } | { waiting: string }> {
  const current = await readTrustBundle(api, ref);
  if (current) return { bundle: current };
  const name = probeRequestName(ref);
  const existing = await api.readCertificateRequest(ref.namespace, name) as
    | CertificateRequestObject
    | undefined;
  if (!existing) {
    const csr = await certificateRequest(await generateMemberKey(), "probe", {
      subject: `CN=raft-kv CA probe, O=${clusterId(ref)}`,
      dnsNames: [`${ref.name}-ca-probe.invalid`],
    });
    await api.createCertificateRequest(
      certificateRequestObject(ref, ownerReference(ref), name, csr, issuerRef),
    );
    return {
      waiting:
        `submitted CertificateRequest ${name} to ${issuerRef.kind} ${issuerRef.name}, to learn the CA to trust`,
    };
  }
  const outcome = requestOutcome(existing);
  if (outcome.kind === "failed") return { waiting: `CertificateRequest ${name}: ${outcome.message}` };
  if (outcome.kind === "pending") return { waiting: outcome.message };
  if (!outcome.ca) {
    return {
      waiting: `${issuerRef.kind} ${issuerRef.name} signed ${name} without reporting its CA (status.ca): ` +
        "use an issuer that reports it (CA, self-signed, Vault), the members must know whom to trust",
    };
  }
  const change = await writeTrustBundle(api, ref, outcome.ca);
  return { bundle: outcome.ca, ...(change ? { change } : {}) };
}
