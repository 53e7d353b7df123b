/**
 * The operator's side of a member's certificate (see src/security/bootstrap_api.ts): fetch the
 * member's certificate request, check that it comes from a pod of this cluster (its MAC under the
 * admin token), sign it for the member's id and every name the member is reached by, and hand the
 * certificate back, with the identity for a new member or for its next start during a rotation.
 */
import type { ClusterCa } from "../../security/certificates.ts";
import { csrMacMatches, describeRequest } from "../../security/member_key.ts";
import type { ClusterApi } from "./cluster_api.ts";
import {
  type CertificateRequestObject,
  certificateRequestObject,
  memberRequestName,
  memberSubject,
  requestOutcome,
} from "./cert_manager.ts";
import { ownerReference } from "./resources.ts";
import type { ResolvedTls } from "./spec.ts";
import { adminUrlOf, clusterId, type ClusterRef, memberDnsNames } from "./names.ts";
import type { FetchLike } from "./pod_client.ts";

async function answer(response: Response, what: string): Promise<Record<string, unknown>> {
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: reported below
  }
  if (!response.ok) {
    const message = (body.error as { message?: string } | undefined)?.message ?? text.slice(0, 200);
    throw new Error(`${what}: HTTP ${response.status}: ${message}`);
  }
  return body;
}

/** The member's CSR, checked: it was made by a pod holding the admin token. */
async function requestOf(
  fetch: FetchLike,
  url: string,
  adminToken: string,
  names?: { subject: string; dnsNames: string[] },
): Promise<string> {
  const query = names
    ? `?${new URLSearchParams([["subject", names.subject], ...names.dnsNames.map((d) => ["dns", d])])}`
    : "";
  const body = await answer(
    await fetch(`${adminUrlOf(url)}/admin/bootstrap/csr${query}`, { signal: AbortSignal.timeout(10_000) }),
    "GET /admin/bootstrap/csr",
  );
  if (
    typeof body.csr !== "string" || typeof body.mac !== "string" ||
    !csrMacMatches(adminToken, body.csr, body.mac)
  ) {
    throw new Error(
      "the member's certificate request does not carry a valid MAC of this cluster: not signing it (an impostor at the pod's address?)",
    );
  }
  return body.csr;
}

export interface MemberCertificateInput {
  ref: ClusterRef;
  pod: string;
  /** The member's client URL (its pod IP). */
  url: string;
  nodeId: number;
  adminToken: string;
}

/** Who signs member certificates: the operator's CA, or cert-manager (spec.tls.issuerRef). */
export interface MemberIssuer {
  /** The certificate, or `waiting` while an external issuer signs (the step asks again later). */
  certificate(
    fetch: FetchLike,
    input: MemberCertificateInput,
  ): Promise<{ certificate?: string; waiting?: string }>;
}

/** The operator's own CA signs the member's key for its id and every name it is reached by. */
export function operatorCaIssuer(signer: () => Promise<ClusterCa>): MemberIssuer {
  return {
    async certificate(fetch, input) {
      const csr = await requestOf(fetch, input.url, input.adminToken);
      const certificate = await (await signer()).signNodeRequest(csr, {
        nodeId: input.nodeId,
        clusterId: clusterId(input.ref),
        dnsNames: memberDnsNames(input.ref, input.pod),
        ipAddresses: [],
      });
      return { certificate };
    },
  };
}

/** cert-manager signs a CertificateRequest carrying the member's CSR (see cert_manager.ts). */
export function certManagerIssuer(
  api: ClusterApi,
  issuerRef: NonNullable<ResolvedTls["issuerRef"]>,
): MemberIssuer {
  return {
    async certificate(fetch, input) {
      const { ref, nodeId } = input;
      const name = memberRequestName(ref, nodeId);
      const existing = await api.readCertificateRequest(ref.namespace, name) as
        | CertificateRequestObject
        | undefined;
      if (existing) {
        const outcome = requestOutcome(existing);
        if (outcome.kind === "failed") throw new Error(`CertificateRequest ${name}: ${outcome.message}`);
        return outcome.kind === "ready" ? { certificate: outcome.certificate } : { waiting: outcome.message };
      }
      const names = { subject: memberSubject(ref, nodeId), dnsNames: memberDnsNames(ref, input.pod) };
      const csr = await requestOf(fetch, input.url, input.adminToken, names);
      const asked = describeRequest(csr);
      if (
        asked.dnsNames.join() !== names.dnsNames.join() || !asked.subject.startsWith(`CN=node-${nodeId},`)
      ) {
        throw new Error(
          `the member's CSR asks for ${asked.subject} ${asked.dnsNames.join(" ")}: not submitting it`,
        );
      }
      await api.createCertificateRequest(
        certificateRequestObject(ref, ownerReference(ref), name, csr, issuerRef),
      );
      return { waiting: `submitted CertificateRequest ${name}: waiting for cert-manager to sign it` };
    },
  };
}

/**
 * A new member: its certificate and identity in one call. Its server is not verified (it has no
 * certificate yet), so nothing secret is sent: the certificate is public and only fits its own key.
 */
export async function certifyNewMember(
  unverified: FetchLike,
  issuer: MemberIssuer,
  input: MemberCertificateInput & { bootstrap: boolean },
): Promise<void> {
  const { certificate, waiting } = await issuer.certificate(unverified, input);
  if (!certificate) throw new Error(waiting ?? "no certificate");
  await answer(
    await unverified(`${adminUrlOf(input.url)}/admin/bootstrap/identity`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ certificate, bootstrap: input.bootstrap }),
      signal: AbortSignal.timeout(30_000),
    }),
    "POST /admin/bootstrap/identity",
  );
}

/** A running member (verified TLS, admin token): a certificate of the new CA, used from its next start. */
export async function reissueMemberCertificate(
  verified: FetchLike,
  issuer: MemberIssuer,
  input: MemberCertificateInput,
): Promise<void> {
  const { certificate, waiting } = await issuer.certificate(verified, input);
  if (!certificate) throw new Error(waiting ?? "no certificate");
  await answer(
    await verified(`${adminUrlOf(input.url)}/admin/tls/certificate`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${input.adminToken}` },
      body: JSON.stringify({ certificate }),
      signal: AbortSignal.timeout(10_000),
    }),
    "POST /admin/tls/certificate",
  );
}
