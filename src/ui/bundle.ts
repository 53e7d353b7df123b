/**
 * Bundles the page's TypeScript (src/ui/web/main.ts) into one browser script with Deno's own
 * bundler (`deno bundle`, esbuild underneath; it fetches esbuild's Linux binary from the npm
 * registry once, then works offline). Done once at start-up: nothing is loaded from a CDN.
 */
const ENTRY = new URL("./web/main.ts", import.meta.url).pathname;

export async function bundlePage(entry = ENTRY): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform", "browser", "--format", "esm", entry],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!out.success) {
    throw new Error(`deno bundle ${entry} failed:\n${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}
