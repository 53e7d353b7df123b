/**
 * The base image of both Dockerfiles, `denoland/deno:<version>`: already stored, else pulled, else
 * (no registry reachable, as on the project's CI machines) built here from a Debian root made by
 * mmdebstrap from apt's own sources plus the very `deno` binary that runs this program. The local
 * build has what the Dockerfiles rely on: `deno` on PATH, a `deno` user with uid 1993, DENO_DIR.
 */
import type { ContainerEngine } from "./engine.ts";
import { capture, onPath, stream } from "./run_command.ts";

export const DENO_VERSION = "2.9.6";
export const BASE_IMAGE = `denoland/deno:${DENO_VERSION}`;
const DEBIAN_IMAGE = "localhost/raft-kv/debian-minbase:bookworm";

export async function ensureBaseImage(engine: ContainerEngine, log: (line: string) => void): Promise<string> {
  if (await engine.exists(BASE_IMAGE)) return `${BASE_IMAGE} (already stored)`;
  log(`${BASE_IMAGE} is not stored: pulling it`);
  if (await engine.tryPull(BASE_IMAGE)) return `${BASE_IMAGE} (pulled)`;
  log(`cannot pull ${BASE_IMAGE} (no registry reachable?): building it locally`);
  await buildBaseLocally(engine, log);
  return `${BASE_IMAGE} (built locally from Debian bookworm and this deno binary)`;
}

async function buildBaseLocally(engine: ContainerEngine, log: (line: string) => void): Promise<void> {
  if (Deno.version.deno !== DENO_VERSION) {
    throw new Error(
      `building ${BASE_IMAGE} locally copies the running deno binary, but it is ${Deno.version.deno}: ` +
        `run this task with deno ${DENO_VERSION} (npx -y deno@${DENO_VERSION} task images)`,
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "raft-kv-base-" });
  try {
    if (!await engine.exists(DEBIAN_IMAGE)) {
      if (!await onPath("mmdebstrap")) {
        throw new Error(
          `${BASE_IMAGE} can be neither pulled nor built: mmdebstrap is missing ` +
            "(Debian/Ubuntu: apt-get install mmdebstrap), or make the image available to " +
            `${engine.name} yourself (${engine.name} pull ${BASE_IMAGE} where a registry is reachable)`,
        );
      }
      const started = performance.now();
      log("mmdebstrap: a minimal Debian bookworm root from apt's sources (about a minute)");
      await stream([
        "mmdebstrap",
        "--variant=minbase",
        "--dpkgopt=path-exclude=/usr/share/doc/*",
        "--dpkgopt=path-exclude=/usr/share/man/*",
        "--dpkgopt=path-exclude=/usr/share/locale/*",
        "bookworm",
        `${dir}/rootfs.tar`,
      ], (line) => {
        if (line.startsWith("I: ")) log(`  ${line.slice(3)}`);
      });
      await engine.importRootfs(`${dir}/rootfs.tar`, DEBIAN_IMAGE);
      await Deno.remove(`${dir}/rootfs.tar`);
      log(`  ${DEBIAN_IMAGE} imported after ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
    await Deno.copyFile(Deno.execPath(), `${dir}/deno`);
    await Deno.writeTextFile(
      `${dir}/Dockerfile`,
      [
        `FROM ${engine.qualified(DEBIAN_IMAGE)}`,
        "COPY deno /usr/bin/deno",
        "RUN useradd --uid 1993 --user-group deno && mkdir /deno-dir && chown deno:deno /deno-dir",
        "ENV DENO_DIR=/deno-dir/ DENO_INSTALL_ROOT=/usr/local",
        `LABEL org.opencontainers.image.description="${BASE_IMAGE} built locally by raft-kv's deno task images"`,
        "",
      ].join("\n"),
    );
    await engine.build({
      dockerfile: `${dir}/Dockerfile`,
      contextDir: dir,
      tag: BASE_IMAGE,
      onLine: () => {},
    });
    const version = await capture([
      engine.name,
      "run",
      "--rm",
      engine.qualified(BASE_IMAGE),
      "deno",
      "--version",
    ])
      .catch((e) => `(could not run it: ${(e as Error).message})`);
    log(`  ${BASE_IMAGE} built: ${version.split("\n")[0]}`);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
