/** The project's two images and how they are built from the checkout's Dockerfiles. */
import { ensureBaseImage } from "./base_image.ts";
import type { ContainerEngine } from "./engine.ts";

export const REPO_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

export const PROJECT_IMAGES = [
  { name: "raft-kv", dockerfile: "Dockerfile.server", what: "the raft-kv server (RaftCluster pods)" },
  { name: "raft-operator", dockerfile: "Dockerfile.operator", what: "the RaftCluster operator" },
] as const;
export type ProjectImageName = typeof PROJECT_IMAGES[number]["name"];

/**
 * The CA bundle a build needs by default for TLS to the npm registry: $DENO_CERT, else
 * $SSL_CERT_FILE, when set to an existing file (a proxy that intercepts TLS sets one of them).
 */
export async function defaultExtraCa(): Promise<string | undefined> {
  for (const name of ["DENO_CERT", "SSL_CERT_FILE"]) {
    const path = Deno.env.get(name);
    if (path && (await Deno.stat(path).catch(() => undefined))?.isFile) return path;
  }
  return undefined;
}

export interface BuiltImage {
  /** `raft-kv:latest` */
  image: string;
  id: string;
  seconds: number;
}

/**
 * Builds the images (the base first, if missing) with `engine`; layers the engine has cached are
 * reused, so a rebuild after a source edit redoes only the source layers.
 */
export async function buildProjectImages(options: {
  engine: ContainerEngine;
  names?: readonly ProjectImageName[];
  tag?: string;
  /** Default: defaultExtraCa(); "none" for no extra CA. */
  extraCa?: string;
  log: (line: string) => void;
}): Promise<BuiltImage[]> {
  const extraCa = options.extraCa === "none" ? undefined : options.extraCa ?? await defaultExtraCa();
  const { engine, log } = options;
  const names = options.names ?? PROJECT_IMAGES.map((i) => i.name);
  log(`base image: ${await ensureBaseImage(engine, log)}`);
  const built: BuiltImage[] = [];
  for (const spec of PROJECT_IMAGES.filter((i) => names.includes(i.name))) {
    const image = `${spec.name}:${options.tag ?? "latest"}`;
    const previous = await engine.exists(image) ? await engine.imageId(image) : undefined;
    const started = performance.now();
    log(`building ${image} (${spec.what}) from ${spec.dockerfile} with ${engine.name}`);
    await engine.build({
      dockerfile: `${REPO_ROOT}/${spec.dockerfile}`,
      contextDir: REPO_ROOT,
      tag: image,
      extraCa,
      onLine: (line) => {
        if (/^(STEP|#\d+ \[)/.test(line)) log(`  ${line}`);
      },
    });
    const seconds = (performance.now() - started) / 1000;
    const id = await engine.imageId(image);
    log(
      `built ${engine.qualified(image)} ${id.replace(/^sha256:/, "").slice(0, 12)} in ${
        seconds.toFixed(1)
      } s`,
    );
    // The image this one replaces would linger untagged in the engine's storage: drop it if unused.
    if (previous && previous !== id) await engine.removeImage(previous);
    built.push({ image, id, seconds });
  }
  return built;
}
