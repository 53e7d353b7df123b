/**
 * Mutual TLS for the peer port. Both ends present their node certificate from the cluster CA and
 * verify the other's: the listener learns the caller's node id from its certificate (the
 * transport then refuses a hello that claims another id), and the dialer refuses a listener whose
 * certificate is not the node it meant to reach. A connection that does not speak TLS is closed
 * at once with a log line naming it.
 *
 * node:tls, not Deno.listenTls: only node:tls can request and verify client certificates on
 * Deno 2.9.6 (see docs/security.md).
 */
import tls from "node:tls";
import type { NodeId } from "../raft/types.ts";
import type { PeerChannel, PeerConn, PeerListener } from "../transport/mod.ts";
import { nodeIdOfCertificate } from "./certificates.ts";
import { nodeIdFromSubject } from "./certificate_subject.ts";
import { TlsSocketStream } from "./node_stream.ts";
import type { TlsMaterial } from "./tls_files.ts";

export type ChannelLog = (level: "info" | "warn" | "error", line: string) => void;

/** Explains a failed handshake in words an operator can act on. */
export function describeHandshakeFailure(error: Error): string {
  const message = error.message;
  if (/wrong version number|InvalidContentType|http request/i.test(message)) {
    return `not TLS (a plain-text client on a TLS port? use https:// and the cluster CA): ${message}`;
  }
  if (/no certificates|CertificateRequired/i.test(message)) {
    return `no client certificate was presented: ${message}`;
  }
  if (/hang up|UnknownIssuer|BadCertificate|certificate/i.test(message)) {
    return `the certificate was refused (not issued by this cluster's CA, expired, or for another use): ${message}`;
  }
  return message;
}

class TlsPeerListener implements PeerListener {
  readonly addr: { port: number };
  #server: tls.Server;
  #ready: PeerConn[] = [];
  #waiting: ((conn: PeerConn) => void)[] = [];
  #failWaiting: ((error: Error) => void)[] = [];
  #closed = false;

  constructor(server: tls.Server, port: number) {
    this.#server = server;
    this.addr = { port };
    server.on("secureConnection", (socket: tls.TLSSocket) => {
      const stream = new TlsSocketStream(
        socket,
        nodeIdFromSubject(socket.getPeerCertificate().subject ?? {}),
      );
      const waiter = this.#waiting.shift();
      this.#failWaiting.shift();
      if (waiter) waiter(stream);
      else this.#ready.push(stream);
    });
  }

  accept(): Promise<PeerConn> {
    if (this.#closed) return Promise.reject(new Error("listener closed"));
    const ready = this.#ready.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      this.#waiting.push(resolve);
      this.#failWaiting.push(reject);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
    for (const conn of this.#ready) conn.close();
    for (const fail of this.#failWaiting) fail(new Error("listener closed"));
    this.#waiting = [];
    this.#failWaiting = [];
  }
}

export function mutualTlsChannel(material: TlsMaterial, log: ChannelLog): PeerChannel {
  const secure = { cert: material.cert, key: material.key, ca: material.ca };
  return {
    name: "mutual TLS",
    authenticatesPeers: true,
    listen(address) {
      const server = tls.createServer({ ...secure, requestCert: true, rejectUnauthorized: true });
      server.on("tlsClientError", (error: Error, socket: tls.TLSSocket) => {
        log(
          "warn",
          `refused peer connection from ${remoteOf(socket)}: ${describeHandshakeFailure(error)}`,
        );
      });
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(address.port, address.hostname, () => {
          server.off("error", reject);
          server.on("error", (error: Error) => log("error", `peer TLS listener: ${error.message}`));
          resolve(new TlsPeerListener(server, (server.address() as { port: number }).port));
        });
      });
    },
    dial(target, peer: NodeId) {
      return new Promise((resolve, reject) => {
        const socket = tls.connect({
          ...secure,
          host: target.hostname,
          port: target.port,
          // Who answers matters, not the address it was found at (pod IPs change): the check is
          // on the node id in the certificate below, after the chain was verified against the CA.
          checkServerIdentity: () => undefined,
        });
        const fail = (error: Error) => {
          socket.destroy();
          reject(error);
        };
        socket.once("error", fail);
        socket.once("secureConnect", () => {
          socket.off("error", fail);
          const subject = socket.getPeerCertificate().subject ?? {};
          const node = nodeIdFromSubject(subject);
          if (node !== peer) {
            fail(
              new Error(
                `${target.hostname}:${target.port} presented a certificate for ${
                  node === undefined ? `"${subject.CN}"` : `node ${node}`
                }, not node ${peer}: refusing to send it node ${peer}'s messages`,
              ),
            );
            return;
          }
          resolve(new TlsSocketStream(socket, node));
        });
      });
    },
  };
}

/** The mutual-TLS channel of node `nodeId`; throws unless its certificate is node `nodeId`'s. */
export function nodePeerChannel(material: TlsMaterial, nodeId: NodeId, log: ChannelLog): PeerChannel {
  const certified = nodeIdOfCertificate(material.cert);
  if (certified !== nodeId) {
    throw new Error(
      `--tls-cert is for ${
        certified === undefined ? "no node" : `node ${certified}`
      }, but this is node ${nodeId}: ` +
        `issue it a certificate with subject "OU=node, CN=node-${nodeId}"`,
    );
  }
  return mutualTlsChannel(material, log);
}

interface Remote {
  remoteAddress?: string;
  remotePort?: number;
}

/**
 * "ip:port" of a TLS socket. After a failed handshake Deno's node:tls leaves the address only on
 * the TCP socket underneath (`_parent`).
 */
export function remoteOf(socket: (Remote & { _parent?: Remote }) | undefined): string {
  const known = socket?.remoteAddress ? socket : socket?._parent;
  return known?.remoteAddress ? `${known.remoteAddress}:${known.remotePort}` : "a client (address not known)";
}
