/** Runs external tools (podman, docker, ctr, kind, ...) with their output captured or streamed. */

const decoder = new TextDecoder();

export class CommandError extends Error {
  constructor(readonly command: string[], readonly code: number, readonly output: string) {
    super(
      `\`${command.join(" ")}\` failed (exit ${code})${output ? `:\n${output.trimEnd().slice(-4000)}` : ""}`,
    );
  }
}

/** Runs `command`; resolves to its stdout, or throws CommandError with stderr (and stdout) in it. */
export async function capture(
  command: string[],
  options: { env?: Record<string, string>; cwd?: string; stdin?: Uint8Array } = {},
): Promise<string> {
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    env: options.env,
    cwd: options.cwd,
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(options.stdin);
    await writer.close();
  }
  const out = await child.output();
  const stdout = decoder.decode(out.stdout);
  if (!out.success) {
    throw new CommandError(command, out.code, `${decoder.decode(out.stderr)}${stdout}`);
  }
  return stdout;
}

/**
 * Runs `command` with each output line passed to `onLine` as it comes (long builds show progress);
 * throws CommandError with the last lines when it fails.
 */
export async function stream(
  command: string[],
  onLine: (line: string) => void,
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<void> {
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    env: options.env,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const recent: string[] = [];
  const pump = async (readable: ReadableStream<Uint8Array>) => {
    let pending = "";
    for await (const chunk of readable.pipeThrough(new TextDecoderStream())) {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        recent.push(line);
        if (recent.length > 40) recent.shift();
        onLine(line);
      }
    }
    if (pending) {
      recent.push(pending);
      onLine(pending);
    }
  };
  await Promise.all([pump(child.stdout), pump(child.stderr)]);
  const status = await child.status;
  if (!status.success) throw new CommandError(command, status.code, recent.join("\n"));
}

/** True when `program` can be found on PATH. */
export async function onPath(program: string): Promise<boolean> {
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", 'command -v "$0"', program],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** True when the command runs and exits 0 (within `timeoutMs`). */
export async function succeeds(command: string[], timeoutMs = 15_000): Promise<boolean> {
  try {
    const child = new Deno.Command(command[0], {
      args: command.slice(1),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, timeoutMs);
    const status = await child.status;
    clearTimeout(timer);
    return status.success;
  } catch {
    return false;
  }
}
