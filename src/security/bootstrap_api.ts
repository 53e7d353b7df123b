/**
 * The certificate handshake between the operator and a member that keeps its own key
 * (`--tls-bootstrap`), under /admin/bootstrap, open (no token): a member without a certificate
 * serves a self-signed stand-in nobody can verify, so no secret may be sent to it.
 *
 * - GET  /admin/bootstrap/csr[?subject=…&dns=…]: the member's certificate request (asking for that
 *   subject and those names, for an issuer that signs what a CSR says) and an HMAC of it under the admin
 *   token (which only the cluster's pods and the operator hold): the operator signs only a CSR whose
 *   MAC checks, so an impostor who answers in the member's place cannot get its key certified.
 * - POST /admin/bootstrap/identity {certificate, bootstrap?}: the signed certificate, which is its own
 *   credential: the member takes it only if the cluster CA issued it for the member's own key; its
 *   subject names the node id, which becomes the member's identity (as POST /admin/identity).
 *
 * A renewed certificate during a CA rotation goes through the admin API (POST /admin/tls/certificate,
 * admin token, over verified TLS): see admin_api.ts.
 */
import { Hono } from "hono";
import type { MemberTls } from "./member_tls.ts";

export interface BootstrapTarget {
  memberTls: MemberTls;
  adminToken: string;
  clusterId: string;
  /** The node id the member already has, if any (a certificate for another id is refused). */
  currentId(): number | undefined;
  /** Gives the member its identity (NodeHolder.assign). */
  assign(nodeId: number, bootstrap: boolean): Promise<{ changed: boolean; incarnation?: string }>;
}

export function bootstrapApi(target: () => BootstrapTarget | undefined): Hono {
  const app = new Hono();
  app.get("/csr", async (c) => {
    const t = target();
    if (!t) {
      return c.json({
        error: { code: "no_bootstrap", message: "this server does not run with --tls-bootstrap" },
      }, 404);
    }
    // ?subject=CN=node-4,OU=node,O=<cluster>&dns=a&dns=b: for an issuer that signs what the CSR says.
    const subject = c.req.query("subject");
    const dnsNames = c.req.queries("dns") ?? [];
    if (
      subject !== undefined && (!/^CN=node-[1-9][0-9]*, ?OU=node, ?O=.+$/.test(subject) || !dnsNames.length)
    ) {
      return c.json({
        error: {
          code: "bad_request",
          message: "subject must read CN=node-<id>, OU=node, O=<cluster id>, with dns names",
        },
      }, 400);
    }
    const csr = await t.memberTls.certificateRequest(
      subject === undefined ? undefined : { subject, dnsNames },
    );
    // The X.509 and HMAC code loads on first use: only a --tls-bootstrap member gets this far.
    const { csrMac } = await import("./member_key.ts");
    return c.json({
      csr,
      mac: csrMac(t.adminToken, csr),
      issued: t.memberTls.issued,
      nodeId: t.memberTls.nodeId,
    });
  });
  app.post("/identity", async (c) => {
    const t = target();
    if (!t) {
      return c.json({
        error: { code: "no_bootstrap", message: "this server does not run with --tls-bootstrap" },
      }, 404);
    }
    let body: { certificate?: unknown; bootstrap?: unknown };
    try {
      body = await c.req.json();
    } catch {
      return c.json({ error: { code: "bad_request", message: "the body must be a JSON object" } }, 400);
    }
    if (typeof body.certificate !== "string") {
      return c.json({ error: { code: "bad_request", message: '"certificate" (PEM) is required' } }, 400);
    }
    let nodeId: number;
    try {
      const current = t.currentId();
      const { nodeIdOfCertificate } = await import("./certificates.ts");
      const named = nodeIdOfCertificate(body.certificate);
      if (current !== undefined && named !== current) {
        throw new Error(`this member is already node ${current}, the certificate names node ${named}`);
      }
      nodeId = await t.memberTls.accept(body.certificate, t.clusterId);
    } catch (error) {
      return c.json({
        error: { code: "certificate_refused", message: `certificate refused: ${(error as Error).message}` },
      }, 403);
    }
    const { changed, incarnation } = await t.assign(nodeId, body.bootstrap === true);
    return c.json({ id: nodeId, clusterId: t.clusterId, incarnation, changed });
  });
  return app;
}
