/**
 * A TCP port on 127.0.0.1 that was free a moment ago. Another process may take it before ours binds
 * it, so callers that can (the control plane's start) retry on "address already in use".
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
