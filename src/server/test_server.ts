/**
 * Starts one real server process (a single-node cluster on loopback, ports picked by the OS) for tests of
 * the server's outside: /metrics, logs. Stop it with `stop()`; it is killed by PID.
 */
const MAIN = new URL("./main.ts", import.meta.url).pathname;

export interface TestServer {
  url: string;
  /** Every stderr line so far (the log). */
  logLines: string[];
  stop(): Promise<void>;
}

/** The permissions of deno.json's server task (not -A: what works only with -A must show up in tests). */
export const SERVER_TASK_PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys=statfs",
];

/** The flags of a node that bootstraps a one-node cluster in `dataDir`, on loopback ports the OS picks. */
export function singleNodeArgs(dataDir: string): string[] {
  return [
    ...["--data-dir", dataDir, "--node-id", "1", "--bootstrap"],
    ...["--listen-client", "127.0.0.1:0", "--listen-peer", "127.0.0.1:0"],
    ...["--peer-token", "peer-secret", "--admin-token", "admin-secret"],
  ];
}

/** `caCert`: the CA to trust when `extraArgs` turn TLS on. */
export async function startTestServer(extraArgs: string[] = [], caCert?: string): Promise<TestServer> {
  const dataDir = await Deno.makeTempDir({ prefix: "raftkv-test-server-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...SERVER_TASK_PERMISSIONS,
      MAIN,
      ...singleNodeArgs(dataDir),
      ...extraArgs,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const logLines: string[] = [];
  let resolveUrl: (url: string) => void = () => {};
  const url = new Promise<string>((resolve) => resolveUrl = resolve);
  const reading = (async () => {
    let pending = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        logLines.push(line);
        const found = /client API on (https?:\/\/[\d.]+:\d+)/.exec(line);
        if (found) resolveUrl(found[1]);
      }
    }
  })();
  const stop = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await reading;
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the server did not start: ${logLines.join("\n")}`)), 20_000);
  });
  try {
    const started = await Promise.race([url, timeout]);
    clearTimeout(timer);
    // Wait until it is the leader of its one-node cluster.
    for (let i = 0; i < 200; i++) {
      const client = caCert ? Deno.createHttpClient({ caCerts: [caCert] }) : undefined;
      const ready = await fetch(`${started}/readyz`, client ? { client } : {}).finally(() => client?.close())
        .then(
          async (r) => (await r.body?.cancel(), r.status),
          () => 0,
        );
      if (ready === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return { url: started, logLines, stop };
  } catch (e) {
    clearTimeout(timer);
    await stop();
    throw e;
  }
}
