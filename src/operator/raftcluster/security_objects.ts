/**
 * The Secrets of spec.tls and spec.auth (pure builders) and what they add to the pod template.
 *
 * - `<name>-ca`: the operator's CA (certificate and key; during a rotation also the next one). Never
 *   mounted in a pod: only the operator signs.
 * - `<name>-trust`: the CA bundle the members trust (certificates only), mounted read-only.
 * - `<name>-auth`: the members' auth file, token *digests* only (sha256), mounted read-only.
 * - `<name>-token-<role>`: one role's token, for the users of that role (admin, read-write, read-only).
 *
 * Member keys are in none of them: each member makes its own key in its own data volume and the
 * operator signs its certificate request (src/security/member_key.ts). A StatefulSet gives every pod
 * the same volumes and ServiceAccount, so a Secret with every member's key would let one compromised
 * pod pose as any member.
 */
import type * as k8s from "@kubernetes/client-node";
import { createHash } from "node:crypto";
import { ROLES } from "../../security/roles.ts";
import {
  authSecretName,
  caSecretName,
  type ClusterRef,
  DATA_PATH,
  labels,
  trustSecretName,
  userTokenSecretName,
} from "./names.ts";
import type { ResolvedSpec } from "./spec.ts";

export const TLS_MOUNT = "/etc/raft-kv/tls";
export const AUTH_MOUNT = "/etc/raft-kv/auth";
/** The member's own key and certificate live in its data volume (its own claim). */
export const MEMBER_KEY_PATH = `${DATA_PATH}/tls/node.key`;
export const MEMBER_CERT_PATH = `${DATA_PATH}/tls/node.crt`;
export const TRUST_KEY = "ca.crt";
export const AUTH_KEY = "auth.json";
export const TOKEN_KEY = "token";
/** Pod template annotations: a change rolls the members one by one. */
export const TRUST_ANNOTATION = "storage.sys/tls-trust";
export const CERTIFICATES_ANNOTATION = "storage.sys/tls-certificates";
export const AUTH_ANNOTATION = "storage.sys/auth";

/** The CA Secret's keys. */
export const CA_CERT = "ca.crt";
export const CA_KEY = "ca.key";
export const NEXT_CERT = "next.crt";
export const NEXT_KEY = "next.key";

function meta(c: ClusterRef, name: string, ownerReference: k8s.V1OwnerReference): k8s.V1ObjectMeta {
  return { name, namespace: c.namespace, labels: labels(c), ownerReferences: [ownerReference] };
}

export interface CaPems {
  current: { cert: string; key: string };
  next?: { cert: string; key: string };
}

export function caSecret(c: ClusterRef, owner: k8s.V1OwnerReference, pems: CaPems): k8s.V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta(c, caSecretName(c), owner),
    type: "Opaque",
    stringData: {
      [CA_CERT]: pems.current.cert,
      [CA_KEY]: pems.current.key,
      ...(pems.next ? { [NEXT_CERT]: pems.next.cert, [NEXT_KEY]: pems.next.key } : {}),
    },
  };
}

/** The bundle every member trusts: the current CA, and the next one during a rotation. */
export function trustBundle(pems: CaPems): string {
  return [pems.current.cert, ...(pems.next ? [pems.next.cert] : [])].map((p) => p.trim() + "\n").join("");
}

export function trustSecret(c: ClusterRef, owner: k8s.V1OwnerReference, bundle: string): k8s.V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta(c, trustSecretName(c), owner),
    type: "Opaque",
    stringData: { [TRUST_KEY]: bundle },
  };
}

export const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");

/** A fresh client token (hex, 128 bits). */
export function randomToken(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

export function userTokenSecret(
  c: ClusterRef,
  owner: k8s.V1OwnerReference,
  role: string,
  token: string,
): k8s.V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta(c, userTokenSecretName(c, role), owner),
    type: "Opaque",
    stringData: { [TOKEN_KEY]: token, role },
  };
}

/** The members' auth file: one entry per role, the token's SHA-256 only. */
export function authFile(tokens: Record<string, string>): string {
  return JSON.stringify({
    tokens: ROLES.filter((role) => tokens[role]).map((role) => ({
      name: role,
      sha256: sha256Hex(tokens[role]),
      role,
    })),
  });
}

export function authSecret(c: ClusterRef, owner: k8s.V1OwnerReference, file: string): k8s.V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta(c, authSecretName(c), owner),
    type: "Opaque",
    stringData: { [AUTH_KEY]: file },
  };
}

/** What the pod template needs to know of the security state (it changes the template's hash). */
export interface SecurityTemplate {
  /** Hash of the trust bundle in force. */
  trustHash?: string;
  /** The member certificates' generation (spec.tls rotation). */
  certificates?: number;
  /** Hash of the auth file in force. */
  authHash?: string;
}

/** Adds TLS and auth to the server container, its probes, volumes and the template annotations. */
export function applySecurity(
  c: ClusterRef,
  spec: ResolvedSpec,
  security: SecurityTemplate,
  template: k8s.V1PodTemplateSpec,
): void {
  const container = template.spec!.containers[0];
  const args = container.args!;
  const annotations: Record<string, string> = { ...(template.metadata?.annotations ?? {}) };
  if (spec.tls) {
    args.push(
      `--tls-cert=${MEMBER_CERT_PATH}`,
      `--tls-key=${MEMBER_KEY_PATH}`,
      `--tls-ca=${TLS_MOUNT}/${TRUST_KEY}`,
      "--tls-bootstrap",
    );
    for (let i = 0; i < args.length; i++) {
      args[i] = args[i].replace(/^--advertise-client=http:/, "--advertise-client=https:");
    }
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      if (probe?.httpGet) probe.httpGet.scheme = "HTTPS";
    }
    container.volumeMounts!.push({ name: "tls-trust", mountPath: TLS_MOUNT, readOnly: true });
    template.spec!.volumes!.push({
      name: "tls-trust",
      secret: { secretName: trustSecretName(c), defaultMode: 0o400 },
    });
    annotations[TRUST_ANNOTATION] = security.trustHash ?? "";
    annotations[CERTIFICATES_ANNOTATION] = String(security.certificates ?? 0);
  }
  if (spec.auth) {
    args.push(`--auth-file=${AUTH_MOUNT}/${AUTH_KEY}`);
    container.volumeMounts!.push({ name: "auth", mountPath: AUTH_MOUNT, readOnly: true });
    template.spec!.volumes!.push({
      name: "auth",
      secret: { secretName: authSecretName(c), defaultMode: 0o400 },
    });
    annotations[AUTH_ANNOTATION] = security.authHash ?? "";
  }
  if (Object.keys(annotations).length) template.metadata = { ...template.metadata, annotations };
}
