/**
 * The client/admin port: Deno.serve in plain text; with TLS, node:https when clients may present
 * certificates (see https_server.ts), else Deno.serve's native TLS (tokens only, faster).
 */
import type { HttpBindings } from "@hono/node-server";
import type { ChannelLog } from "./tls_peer_channel.ts";
import type { TlsMaterial } from "./tls_files.ts";

export interface ClientListener {
  readonly url: string;
  shutdown(): Promise<void>;
  /** node:https only: serve new connections with this certificate (--tls-bootstrap). */
  useMaterial?(material: TlsMaterial): void;
}

export async function listenClientPort(
  options: { hostname: string; port: number; tls?: TlsMaterial; clientCertAuth?: boolean; log: ChannelLog },
  fetch: (request: Request, env?: HttpBindings) => Response | Promise<Response>,
): Promise<ClientListener> {
  const { hostname, tls, log } = options;
  if (tls && options.clientCertAuth !== false) {
    // node:https and its adapter load only for this listener (see tls_files.ts).
    const { serveHttps } = await import("./https_server.ts");
    const server = await serveHttps({ hostname, port: options.port, material: tls, log }, fetch);
    return {
      url: `https://${hostname}:${server.port}`,
      shutdown: () => server.shutdown(),
      useMaterial: (material) => server.useMaterial(material),
    };
  }
  const listening = Promise.withResolvers<number>();
  const server = Deno.serve(
    {
      hostname,
      port: options.port,
      onListen: (addr: Deno.NetAddr) => listening.resolve(addr.port),
      ...(tls ? { cert: tls.cert, key: tls.key } : {}),
    },
    (request: Request) => fetch(request),
  );
  if (tls) {
    log(
      "info",
      "client certificates are not requested (--client-cert-auth off): clients authenticate with tokens; " +
        "failed TLS handshakes and plain-text clients are turned away without a log line",
    );
  }
  return {
    url: `${tls ? "https" : "http"}://${hostname}:${await listening.promise}`,
    shutdown: () => server.shutdown(),
  };
}
