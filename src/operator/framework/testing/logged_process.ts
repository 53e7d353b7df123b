/**
 * A Deno script started as a child process with stdout and stderr appended to one log file, for
 * end-to-end tests that must SIGKILL a process and read what it said. `exited` settles once the
 * process has ended and its whole output is in the file.
 */
export interface LoggedProcess {
  child: Deno.ChildProcess;
  exited: Promise<Deno.CommandStatus>;
}

export async function spawnLogged(args: string[], logPath: string): Promise<LoggedProcess> {
  const log = await Deno.open(logPath, { write: true, create: true, append: true });
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const copying = Promise.all([child.stdout, child.stderr].map(async (stream) => {
    for await (const chunk of stream) {
      // FsFile.write may write part of a chunk: loop until all of it is in the file.
      for (let written = 0; written < chunk.length;) written += await log.write(chunk.subarray(written));
    }
  })).finally(() => log.close());
  return { child, exited: Promise.all([child.status, copying]).then(([status]) => status) };
}
