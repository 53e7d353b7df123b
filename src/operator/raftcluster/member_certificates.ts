/**
 * The operator's side of a member's certificate (see src/security/bootstrap_api.ts): fetch the
 * member's certificate request, check that it comes from a pod of this cluster (its MAC under the
 * admin token), sign it for the member's id and every name the member is reached by, and hand the
 * certificate back, with the identity for a new member or for its next start during a rotation.
 */
import type { ClusterCa } from "../../security/certificates.ts";
import { csrMacMatches } from "../../security/member_key.ts";
import { adminUrlOf, type ClusterRef, clusterId, memberDnsNames } from "./names.ts";
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
async function requestOf(fetch: FetchLike, url: string, adminToken: string): Promise<string> {
  const body = await answer(
    await fetch(`${adminUrlOf(url)}/admin/bootstrap/csr`, { signal: AbortSignal.timeout(10_000) }),
    "GET /admin/bootstrap/csr",
  );
  if (typeof body.csr !== "string" || typeof body.mac !== "string" || !csrMacMatches(adminToken, body.csr, body.mac)) {
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
  signer: ClusterCa;
}

function sign(input: MemberCertificateInput, csr: string): Promise<string> {
  return input.signer.signNodeRequest(csr, {
    nodeId: input.nodeId,
    clusterId: clusterId(input.ref),
    dnsNames: memberDnsNames(input.ref, input.pod),
    ipAddresses: [],
  });
}

/**
 * A new member: its certificate and identity in one call. Its server is not verified (it has no
 * certificate yet), so nothing secret is sent: the certificate is public and only fits its own key.
 */
export async function certifyNewMember(
  unverified: FetchLike,
  input: MemberCertificateInput & { bootstrap: boolean },
): Promise<void> {
  const certificate = await sign(input, await requestOf(unverified, input.url, input.adminToken));
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
export async function reissueMemberCertificate(verified: FetchLike, input: MemberCertificateInput): Promise<void> {
  const certificate = await sign(input, await requestOf(verified, input.url, input.adminToken));
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
