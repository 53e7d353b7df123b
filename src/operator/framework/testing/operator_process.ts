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

import { spawnLogged } from "./logged_process.ts";

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
  const { child, exited } = await spawnLogged(args, logPath);
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
        status = exited;
      }
      return status;
    },
    async tail(lines = 40) {
      const text = await Deno.readTextFile(logPath).catch(() => "");
      return `--- ${options.identity} (${logPath}) ---\n${text.split("\n").slice(-lines).join("\n")}`;
    },
  };
}
