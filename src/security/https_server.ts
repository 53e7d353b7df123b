/**
 * The HTTPS listener of the client and admin API. Deno.serve cannot ask for client certificates,
 * so with TLS on the Hono app runs behind node:https (through @hono/node-server): it asks every
 * client for a certificate, serves those without one (they authenticate with a token), and closes
 * at once a connection whose certificate this cluster's CA did not issue.
 */
import https from "node:https";
import type tls from "node:tls";
import { getRequestListener, type HttpBindings } from "@hono/node-server";
import type { ChannelLog } from "./tls_peer_channel.ts";
import { describeHandshakeFailure, remoteOf } from "./tls_peer_channel.ts";
import type { TlsMaterial } from "./tls_files.ts";
export { type CertificateSubject, certificateSubjectOf } from "./certificate_subject.ts";

export interface HttpsServer {
  readonly port: number;
  /** New connections get this certificate and CA bundle (a member's certificate just issued). */
  useMaterial(material: TlsMaterial): void;
  shutdown(): Promise<void>;
}

export function serveHttps(
  options: { hostname: string; port: number; material: TlsMaterial; log: ChannelLog },
  fetch: (request: Request, env: HttpBindings) => Response | Promise<Response>,
): Promise<HttpsServer> {
  const { material, log } = options;
  const server = https.createServer(
    // requestCert without rejectUnauthorized: a client may come with a token instead of a
    // certificate; an untrusted certificate is refused below, never ignored.
    { cert: material.cert, key: material.key, ca: material.ca, requestCert: true, rejectUnauthorized: false },
    getRequestListener(fetch as Parameters<typeof getRequestListener>[0]),
  );
  server.on("secureConnection", (socket: tls.TLSSocket) => {
    const presented = socket.getPeerCertificate();
    if (!socket.authorized && presented && Object.keys(presented).length > 0) {
      log(
        "warn",
        `refused HTTPS connection from ${remoteOf(socket)}: its client certificate ` +
          `(${presented.subject?.CN ?? "no CN"}) was not issued by this cluster's CA (${
            String(socket.authorizationError)
          })`,
      );
      socket.destroy();
    }
  });
  server.on("tlsClientError", (error: Error, socket: tls.TLSSocket) => {
    log(
      "warn",
      `refused HTTPS connection from ${remoteOf(socket)}: ${describeHandshakeFailure(error)}`,
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      server.off("error", reject);
      server.on("error", (error: Error) => log("error", `HTTPS listener: ${error.message}`));
      resolve({
        port: (server.address() as { port: number }).port,
        useMaterial: (m) => server.setSecureContext({ cert: m.cert, key: m.key, ca: m.ca }),
        shutdown: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
