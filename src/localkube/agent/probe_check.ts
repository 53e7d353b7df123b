/** Runs one check of a probe against a container: httpGet and tcpSocket; exec and grpc are not supported. */
import { namedFetch } from "../../security/named_fetch.ts";

export interface ProbeSpec {
  httpGet?: {
    path?: string;
    port: number | string;
    host?: string;
    scheme?: string;
    httpHeaders?: Array<{ name: string; value: string }>;
  };
  tcpSocket?: { port: number | string; host?: string };
  exec?: unknown;
  grpc?: unknown;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
}

export type ProbeOutcome = { ok: boolean; message: string } | { unsupported: string };

/** Named ports (`port: http`) resolve through the container's `ports`. */
export function resolvePort(port: number | string, ports: readonly ContainerPort[]): number | undefined {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  return ports.find((p) => p.name === port)?.containerPort;
}

export async function checkProbe(
  probe: ProbeSpec,
  podIp: string,
  ports: readonly ContainerPort[],
  timeoutMs: number,
): Promise<ProbeOutcome> {
  if (probe.httpGet) {
    const port = resolvePort(probe.httpGet.port, ports);
    if (port === undefined) {
      return { ok: false, message: `port "${probe.httpGet.port}" is not a named container port` };
    }
    const scheme = (probe.httpGet.scheme ?? "HTTP").toLowerCase();
    const path = probe.httpGet.path ?? "/";
    const url = `${scheme}://${probe.httpGet.host ?? podIp}:${port}${path.startsWith("/") ? "" : "/"}${path}`;
    try {
      const init = {
        headers: Object.fromEntries((probe.httpGet.httpHeaders ?? []).map((h) => [h.name, h.value])),
        signal: AbortSignal.timeout(timeoutMs),
      };
      // Like the kubelet, an HTTPS probe does not verify the pod's certificate.
      const response = scheme === "https"
        ? await namedFetch(url, { ...init, tls: { ca: [], verify: false } })
        : await fetch(url, init);
      await response.body?.cancel();
      // Like the kubelet: any status from 200 to 399 is a success.
      const ok = response.status >= 200 && response.status < 400;
      return { ok, message: `GET ${url}: HTTP ${response.status}` };
    } catch (e) {
      return { ok: false, message: `GET ${url}: ${(e as Error).message}` };
    }
  }
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, ports);
    if (port === undefined) {
      return { ok: false, message: `port "${probe.tcpSocket.port}" is not a named container port` };
    }
    const hostname = probe.tcpSocket.host ?? podIp;
    try {
      await connectWithin(hostname, port, timeoutMs);
      return { ok: true, message: `connected to ${hostname}:${port}` };
    } catch (e) {
      return { ok: false, message: `connect ${hostname}:${port}: ${(e as Error).message}` };
    }
  }
  const kind = probe.exec ? "exec" : probe.grpc ? "grpc" : "an empty";
  return {
    unsupported:
      `probe: ${kind} probes are not supported by localkube (only httpGet and tcpSocket); it counts as passing`,
  };
}

async function connectWithin(hostname: string, port: number, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const connecting = Deno.connect({ hostname, port });
  try {
    const connection = await Promise.race([
      connecting,
      new Promise<never>((_, reject) =>
        timer = setTimeout(() => {
          timedOut = true;
          reject(new Error(`timed out after ${ms} ms`));
        }, ms)
      ),
    ]);
    connection.close();
  } finally {
    clearTimeout(timer);
    // A connection that completes after the timeout must still be closed.
    if (timedOut) connecting.then((c) => c.close(), () => {});
  }
}
