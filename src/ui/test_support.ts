/**
 * For the live view's tests: headless Chromium (Debian's `chromium`, or $CHROMIUM) driven by
 * puppeteer-core, `deno task ...` subprocesses, and `deno task ui` on a free port.
 */
import puppeteer, { type Browser } from "puppeteer-core";

export async function launchChromium(): Promise<Browser> {
  const executablePath = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
  try {
    await Deno.stat(executablePath);
  } catch {
    throw new Error(
      `no browser at ${executablePath}: install Debian's chromium (apt-get install chromium) or set CHROMIUM`,
    );
  }
  return await puppeteer.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
}

export const ROOT = new URL("../../", import.meta.url).pathname;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function deno(args: string[], what: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${what} failed (exit ${out.code}):\n${text}`);
  return text;
}

/** Starts `deno task ui` on a free port; resolves once it prints its URL. */
export async function startUi(
  args: string[],
): Promise<{ url: string; process: Deno.ChildProcess; output: () => string }> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/ui/main.ts", "--port", "0", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += decoder.decode(chunk);
  };
  void pump(process.stdout);
  void pump(process.stderr);
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    const url = /live view on (http:\/\/\S+)/.exec(output)?.[1];
    if (url) return { url, process, output: () => output };
    await sleep(50);
  }
  process.kill("SIGKILL");
  throw new Error(`deno task ui did not start:\n${output}`);
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  while (performance.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ""}`,
  );
}
