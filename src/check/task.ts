/**
 * `deno task check` has two jobs, told apart by its arguments:
 *   deno task check                      static checks of the tree: fmt --check, lint, type-check
 *   deno task check <history> [flags]    the linearizability checker (see src/check/cli.ts)
 */
const args = Deno.args;

if (args.length > 0) {
  const { main } = await import("./cli.ts");
  Deno.exit(await main(args));
}

const steps: Array<[string, string[]]> = [
  ["fmt", ["fmt", "--check"]],
  ["lint", ["lint"]],
  ["type-check", ["check", "src/", "experiments/", "deploy/"]],
];
let failed = 0;
for (const [name, cmd] of steps) {
  console.log(`== ${name}: deno ${cmd.join(" ")}`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: cmd,
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  if (code !== 0) {
    failed++;
    console.log(`== ${name} failed (exit ${code})`);
  }
}
console.log(failed === 0 ? "static checks: all clean" : `static checks: ${failed} of ${steps.length} failed`);
Deno.exit(failed === 0 ? 0 : 1);
