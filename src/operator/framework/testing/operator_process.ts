/** An operator running as a child process (testdata/widget_operator.ts), its output kept in a file. */
export interface OperatorProcess {
  identity: string;
  logPath: string;
  child: Deno.ChildProcess;
  /** SIGKILL (a crash) or SIGTERM (a graceful stop), then waits for the process to end. */
  kill(signal: "SIGKILL" | "SIGTERM"): Promise<Deno.CommandStatus>;
  /** The last lines of its output, for a failing test's message. */
  tail(lines?: number): Promise<string>;
}

const SCRIPT = new URL("../testdata/widget_operator.ts", import.meta.url).pathname;

export async function spawnOperator(
  dir: string,
  options: {
    kubeconfig: string;
    namespace: string;
    identity: string;
    journal: string;
    gate?: string;
    lease?: string;
  },
): Promise<OperatorProcess> {
  const args = ["run", "--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys", SCRIPT];
  for (const [key, value] of Object.entries(options)) if (value !== undefined) args.push(`--${key}`, value);
  const logPath = `${dir}/${options.identity}-${Date.now()}.log`;
  const log = await Deno.open(logPath, { write: true, create: true, append: true });
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  // Both streams into one file; the file closes when both have ended.
  const copying = Promise.all([child.stdout, child.stderr].map(async (stream) => {
    for await (const chunk of stream) await log.write(chunk);
  })).finally(() => log.close());
  let status: Promise<Deno.CommandStatus> | undefined;
  return {
    identity: options.identity,
    logPath,
    child,
    kill(signal) {
      if (!status) {
        try {
          child.kill(signal);
        } catch { /* already exited */ }
        status = Promise.all([child.status, copying]).then(([s]) => s);
      }
      return status;
    },
    async tail(lines = 40) {
      const text = await Deno.readTextFile(logPath).catch(() => "");
      return `--- ${options.identity} (${logPath}) ---\n${text.split("\n").slice(-lines).join("\n")}`;
    },
  };
}
