import * as k8s from "@kubernetes/client-node";

type DispatcherOptions = ReturnType<k8s.KubeConfig["createDispatcherOptions"]>;
type ConnectOptions = Extract<DispatcherOptions, { type: "agent" }>["connect"];

/**
 * A KubeConfig tuned for client-node 2.0.1 under Deno 2.9 (see notes/deno-stack.md section 7):
 *  1. TLS offers only http/1.1 (`allowH2: false`): undici's HTTP/2 path runs on Deno's node:http2, and
 *     the process aborts in nghttp2 when the API server sends GOAWAY (on every graceful shutdown).
 *  2. One undici dispatcher per cluster and credential set instead of one per API call: client-node
 *     builds a fresh Agent for every request, that is a TLS handshake per call (~50 ms under Deno).
 *
 * Use it wherever `new k8s.KubeConfig()` would go. It patches client-node's private `createDispatcher`,
 * which is why client-node's version is pinned and `kube_config_test.ts` guards the behaviour.
 */
export class KubeConfigH1 extends k8s.KubeConfig {
  override createDispatcherOptions(
    ...args: Parameters<k8s.KubeConfig["createDispatcherOptions"]>
  ): DispatcherOptions {
    const options = super.createDispatcherOptions(...args);
    const [cluster] = args;
    if (options.type === "agent" || options.type === "proxy") {
      options.connect = { ...options.connect, allowH2: false } as ConnectOptions;
    } else if (options.type === "none" && cluster?.server.startsWith("https:")) {
      // Without TLS options client-node falls back to undici's global dispatcher, which offers h2.
      const connect = { allowH2: false, keepAlive: true, keepAliveInitialDelay: 30000 };
      return { type: "agent", connect: connect as ConnectOptions };
    }
    return options;
  }

  /** Closes the cached connections; call it when the config is no longer used (tests, shutdown). */
  async closeConnections(): Promise<void> {
    const dispatchers = dispatcherCache.get(this);
    dispatcherCache.delete(this);
    for (const dispatcher of dispatchers?.values() ?? []) {
      await (dispatcher as { close?: () => Promise<void> }).close?.();
    }
  }

  /** How many distinct dispatchers (connection pools) this config has created; tests watch it. */
  get dispatcherCount(): number {
    return dispatcherCache.get(this)?.size ?? 0;
  }
}

type CreateDispatcher = (cluster: k8s.Cluster | null, agentOptions: Record<string, unknown>) => unknown;

const dispatcherCache = new WeakMap<object, Map<string, unknown>>();
const originalCreateDispatcher =
  (k8s.KubeConfig.prototype as unknown as { createDispatcher: CreateDispatcher }).createDispatcher;
if (typeof originalCreateDispatcher !== "function") {
  throw new Error(
    "@kubernetes/client-node no longer has KubeConfig.createDispatcher: KubeConfigH1 cannot reuse connections. " +
      "Pin client-node to 2.0.1 in deno.json or port kube_config.ts to the new version.",
  );
}

(KubeConfigH1.prototype as unknown as { createDispatcher: CreateDispatcher }).createDispatcher = function (
  this: KubeConfigH1,
  cluster,
  agentOptions,
) {
  const tlsKeys = ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername"];
  const key = JSON.stringify([
    cluster?.server,
    cluster?.proxyUrl,
    cluster?.skipTLSVerify,
    ...tlsKeys.map((k) => String(agentOptions[k] ?? "")),
  ]);
  let byKey = dispatcherCache.get(this);
  if (!byKey) dispatcherCache.set(this, byKey = new Map());
  if (!byKey.has(key)) byKey.set(key, originalCreateDispatcher.call(this, cluster, agentOptions));
  return byKey.get(key);
};
