/**
 * Where every benchmark and experiment puts its results: bench-results/<name>.json (the
 * numbers plus the machine they were measured on) and, when given, bench-results/<name>.svg.
 * RAFTKV_RESULTS_DIR redirects them (the test suite does, so it never overwrites real results).
 */
export function resultsDir(): string {
  const dir = Deno.env.get("RAFTKV_RESULTS_DIR") ?? new URL("../../bench-results", import.meta.url).pathname;
  return dir.endsWith("/") ? dir : `${dir}/`;
}

export function machineInfo() {
  let loadAverage: number[] | undefined;
  try {
    loadAverage = Deno.loadavg();
  } catch {
    loadAverage = undefined; // needs --allow-sys
  }
  return {
    date: new Date().toISOString(),
    deno: Deno.version.deno,
    os: Deno.build.os,
    arch: Deno.build.arch,
    cpus: navigator.hardwareConcurrency,
    loadAverage,
  };
}

/** Writes the JSON (and SVG) and prints where they went. Returns the JSON path. */
export async function writeResults(name: string, data: object, svg?: string): Promise<string> {
  const dir = resultsDir();
  await Deno.mkdir(dir, { recursive: true });
  const jsonPath = `${dir}${name}.json`;
  await Deno.writeTextFile(jsonPath, JSON.stringify({ machine: machineInfo(), ...data }, null, 2) + "\n");
  console.log(`wrote ${jsonPath}`);
  if (svg) {
    const svgPath = `${dir}${name}.svg`;
    await Deno.writeTextFile(svgPath, svg);
    console.log(`wrote ${svgPath}`);
  }
  return jsonPath;
}
