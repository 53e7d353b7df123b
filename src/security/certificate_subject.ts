/**
 * Who a verified certificate speaks for, read without the X.509 library: the subject node:tls reports for a
 * client certificate, and the node id a subject names. Kept apart from certificates.ts and https_server.ts
 * so that a node without TLS loads neither (they are a third of its start-up).
 */
import type tls from "node:tls";
import type { HttpBindings } from "@hono/node-server";

/** Who the TLS layer says is calling: the verified certificate's subject, if one was presented. */
export interface CertificateSubject {
  CN?: string;
  OU?: string;
}

/** The verified client certificate's subject behind a request served by serveHttps. */
export function certificateSubjectOf(env: unknown): CertificateSubject | undefined {
  const socket = (env as Partial<HttpBindings> | undefined)?.incoming?.socket as tls.TLSSocket | undefined;
  if (!socket || typeof socket.getPeerCertificate !== "function" || !socket.authorized) return undefined;
  const subject = socket.getPeerCertificate()?.subject;
  if (!subject) return undefined;
  return { CN: asString(subject.CN), OU: asString(subject.OU) };
}

function asString(value: unknown): string | undefined {
  return typeof value === "string" ? value : Array.isArray(value) ? String(value[0]) : undefined;
}

/** The node id a node certificate speaks for, from its subject; undefined for any other subject. */
export function nodeIdFromSubject(subject: { CN?: unknown; OU?: unknown }): number | undefined {
  if (subject.OU !== "node" || typeof subject.CN !== "string") return undefined;
  const match = /^node-([1-9][0-9]*)$/.exec(subject.CN);
  return match ? Number(match[1]) : undefined;
}
