/** The client/admin port: Deno.serve in plain text, node:https with TLS (see https_server.ts). */
import type { HttpBindings } from "@hono/node-server";
import { serveHttps } from "./https_server.ts";
import type { ChannelLog } from "./tls_peer_channel.ts";
import type { TlsMaterial } from "./tls_files.ts";

export interface ClientListener {
  readonly url: string;
  shutdown(): Promise<void>;
}

export async function listenClientPort(
  options: { hostname: string; port: number; tls?: TlsMaterial; log: ChannelLog },
  fetch: (request: Request, env?: HttpBindings) => Response | Promise<Response>,
): Promise<ClientListener> {
  const { hostname, tls, log } = options;
  if (tls) {
    const server = await serveHttps({ hostname, port: options.port, material: tls, log }, fetch);
    return { url: `https://${hostname}:${server.port}`, shutdown: () => server.shutdown() };
  }
  const listening = Promise.withResolvers<number>();
  const server = Deno.serve(
    { hostname, port: options.port, onListen: (addr: Deno.NetAddr) => listening.resolve(addr.port) },
    (request: Request) => fetch(request),
  );
  return { url: `http://${hostname}:${await listening.promise}`, shutdown: () => server.shutdown() };
}
