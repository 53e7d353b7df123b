/**
 * What one reconcile step needs of spec.tls and spec.auth: the operator's CA (and so the trust bundle
 * and the pod client that trusts it) and the auth Secrets, read or made before the cluster is observed.
 */
import { splitPemBundle } from "../../security/tls_files.ts";
import type { ClusterApi } from "./cluster_api.ts";
import type { ClusterRef } from "./names.ts";
import { PodClient } from "./pod_client.ts";
import type { SecurityTemplate } from "./security_objects.ts";
import { type CaState, ensureAuth, hashOf, loadCa } from "./security_state.ts";
import type { ResolvedSpec, TlsStatus } from "./types.ts";

export interface StepSecurity {
  /** The operator's CA, with spec.tls (without an issuerRef). */
  ca?: CaState;
  /** How the operator reaches members over TLS. */
  podClient?: PodClient;
  authHash?: string;
  /** What was created or updated (Secret names only, for the log and Events). */
  changes: string[];
}

export async function prepareSecurity(api: ClusterApi, ref: ClusterRef, spec: ResolvedSpec): Promise<StepSecurity> {
  const out: StepSecurity = { changes: [] };
  if (spec.tls && !spec.tls.issuerRef) {
    out.ca = await loadCa(api, ref);
    out.changes.push(...out.ca.changes);
    out.podClient = new PodClient(splitPemBundle(out.ca.bundle));
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
