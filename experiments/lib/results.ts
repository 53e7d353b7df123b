/**
 * Where every benchmark and experiment puts its results: bench-results/<name>.json (the
 * numbers plus the machine they were measured on) and, when given, bench-results/<name>.svg.
 * RAFTKV_RESULTS_DIR redirects them (the test suite does, so it never overwrites real results).
 */
export function resultsDir(): string {
  const dir = Deno.env.get("RAFTKV_RESULTS_DIR") ?? new URL("../../bench-results", import.meta.url).pathname;
  return dir.endsWith("/") ? dir : `${dir}/`;
}

const REPO = new URL("../../", import.meta.url).pathname;

/** A path inside the repository as a relative one (bench-results/x.html); others unchanged. */
export function relativeToRepo(path: string): string {
  return path.startsWith(REPO) ? path.slice(REPO.length) : path;
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

export interface ResultFiles {
  /** Charts: "" is <name>.svg, any other key <name>-<key>.svg. */
  charts?: Record<string, string>;
  /** A short markdown summary, written as <name>.md after a line naming the machine. */
  summary?: string;
}

/** A markdown line for the machine a result was measured on. */
export function machineLine(m = machineInfo()): string {
  const load = m.loadAverage ? m.loadAverage.map((l) => l.toFixed(2)).join(", ") : "unknown";
  return `Measured ${m.date} on ${m.cpus} CPUs (${m.os}/${m.arch}), Deno ${m.deno}, load average ${load}.`;
}

/**
 * Writes the JSON (plus charts and summary when given) and prints where they went. A string as
 * the third argument is the one chart, <name>.svg. Returns the JSON path.
 */
export async function writeResults(
  name: string,
  data: object,
  files?: string | ResultFiles,
): Promise<string> {
  const { charts = {}, summary } = typeof files === "string" ? { charts: { "": files } } : files ?? {};
  const dir = resultsDir();
  await Deno.mkdir(dir, { recursive: true });
  const jsonPath = `${dir}${name}.json`;
  const machine = machineInfo();
  await Deno.writeTextFile(jsonPath, JSON.stringify({ machine, ...data }, null, 2) + "\n");
  console.log(`wrote ${jsonPath}`);
  for (const [key, svg] of Object.entries(charts)) {
    const svgPath = `${dir}${name}${key ? `-${key}` : ""}.svg`;
    await Deno.writeTextFile(svgPath, svg);
    console.log(`wrote ${svgPath}`);
  }
  if (summary) {
    const mdPath = `${dir}${name}.md`;
    await Deno.writeTextFile(mdPath, `${machineLine(machine)}\n\n${summary.trim()}\n`);
    console.log(`wrote ${mdPath}`);
  }
  return jsonPath;
}

/** A markdown table. */
export function markdownTable(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
