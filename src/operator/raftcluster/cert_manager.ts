/**
 * spec.tls.issuerRef: member certificates signed by cert-manager.
 *
 * The operator creates cert-manager `CertificateRequest`s, not `Certificate`s: a Certificate makes
 * cert-manager generate the private key into a Secret, and a StatefulSet cannot mount a different
 * Secret in each pod, so every pod would hold every member's key. A CertificateRequest carries a CSR
 * instead: each member keeps its own key (src/security/member_key.ts), and the operator submits the
 * member's CSR, which asks for the node's subject and names (checked before it is submitted).
 *
 * The CA to trust comes from the issuer's answer (`status.ca`): before the first member starts, the
 * operator submits one request of its own (`<name>-ca-probe`, a throwaway key) to learn it. So the
 * issuer must report its CA (cert-manager's CA, self-signed and Vault issuers do).
 *
 * Not run against a real cert-manager here (its images come from quay.io, unreachable from this
 * machine): the objects and the flow are tested against the CertificateRequest API as documented.
 */
import type * as k8s from "@kubernetes/client-node";
import { Buffer } from "node:buffer";
import { clusterId, type ClusterRef, labels } from "./names.ts";
import type { ResolvedTls } from "./spec.ts";

export const CERT_MANAGER_GROUP = "cert-manager.io";
export const CERTIFICATE_REQUEST = {
  group: CERT_MANAGER_GROUP,
  version: "v1",
  plural: "certificaterequests",
};
/** A year, as cert-manager writes durations. */
export const MEMBER_CERTIFICATE_DURATION = "8760h";

export const probeRequestName = (c: ClusterRef) => `${c.name}-ca-probe`;
export const memberRequestName = (c: ClusterRef, nodeId: number) => `${c.name}-node-${nodeId}`;

/** The subject a member's certificate must carry: the peers read the node id from it. */
export function memberSubject(c: ClusterRef, nodeId: number): string {
  return `CN=node-${nodeId}, OU=node, O=${clusterId(c)}`;
}

export interface CertificateRequestObject {
  apiVersion: string;
  kind: "CertificateRequest";
  metadata: k8s.V1ObjectMeta;
  spec: {
    request: string;
    issuerRef: { name: string; kind: string; group: string };
    usages: string[];
    duration: string;
    isCA: false;
  };
  status?: {
    certificate?: string;
    ca?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export function certificateRequestObject(
  c: ClusterRef,
  owner: k8s.V1OwnerReference,
  name: string,
  csrPem: string,
  issuerRef: NonNullable<ResolvedTls["issuerRef"]>,
): CertificateRequestObject {
  return {
    apiVersion: `${CERT_MANAGER_GROUP}/v1`,
    kind: "CertificateRequest",
    metadata: { name, namespace: c.namespace, labels: labels(c), ownerReferences: [owner] },
    spec: {
      request: Buffer.from(csrPem).toString("base64"),
      issuerRef: { ...issuerRef },
      // A member's certificate serves its ports and authenticates it to its peers.
      usages: ["digital signature", "key agreement", "server auth", "client auth"],
      duration: MEMBER_CERTIFICATE_DURATION,
      isCA: false,
    },
  };
}

export type RequestOutcome =
  | { kind: "pending"; message: string }
  | { kind: "ready"; certificate: string; ca?: string }
  | { kind: "failed"; message: string };

const decode = (b64: string) => Buffer.from(b64, "base64").toString("utf8");

/** What cert-manager made of a request, from its conditions (Ready, Denied, InvalidRequest). */
export function requestOutcome(request: CertificateRequestObject): RequestOutcome {
  const conditions = request.status?.conditions ?? [];
  const condition = (type: string) => conditions.find((c) => c.type === type);
  for (const type of ["Denied", "InvalidRequest"]) {
    if (condition(type)?.status === "True") {
      return {
        kind: "failed",
        message: `${type}: ${condition(type)!.message ?? condition(type)!.reason ?? ""}`,
      };
    }
  }
  const ready = condition("Ready");
  if (ready?.status === "True" && request.status?.certificate) {
    return {
      kind: "ready",
      certificate: decode(request.status.certificate),
      ...(request.status.ca ? { ca: decode(request.status.ca) } : {}),
    };
  }
  if (ready?.status === "False" && ready.reason === "Failed") {
    return { kind: "failed", message: `Failed: ${ready.message ?? ""}` };
  }
  return {
    kind: "pending",
    message: `waiting for cert-manager to sign CertificateRequest ${request.metadata.name}${
      ready?.message ? ` (${ready.message})` : ""
    }`,
  };
}
