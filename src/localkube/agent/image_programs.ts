/**
 * There is no container runtime: an image name selects a Deno program from the checkout, which
 * runs as a plain process with the container's args. The container's `command` is ignored (the
 * program is fixed by the image), `args` are passed on.
 */

/** What a container of a supported image runs: `deno run <permissions> <script> <args>`. */
export interface ImageProgram {
  script: string;
  permissions: string[];
}

const SERVER_PERMISSIONS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys"];

export const SUPPORTED_IMAGES =
  "raft-kv* (src/server/main.ts), raft-operator* (src/operator/raftcluster/main.ts), " +
  "localkube/echo (src/localkube/testdata/echo_server.ts)";

/** The program for `image`, or undefined when localkube cannot run it. */
export function programForImage(image: string, repoRoot: string): ImageProgram | undefined {
  const repository = imageRepository(image);
  const lastSegment = repository.slice(repository.lastIndexOf("/") + 1);
  if (lastSegment.startsWith("raft-kv")) {
    return { script: `${repoRoot}/src/server/main.ts`, permissions: SERVER_PERMISSIONS };
  }
  if (lastSegment.startsWith("raft-operator")) {
    return { script: `${repoRoot}/src/operator/raftcluster/main.ts`, permissions: SERVER_PERMISSIONS };
  }
  if (repository === "localkube/echo" || repository.endsWith("/localkube/echo")) {
    return { script: `${repoRoot}/src/localkube/testdata/echo_server.ts`, permissions: SERVER_PERMISSIONS };
  }
  return undefined;
}

/** `registry:5000/team/raft-kv:1.2@sha256:...` -> `registry:5000/team/raft-kv`. */
export function imageRepository(image: string): string {
  let name = image.split("@")[0];
  const lastSlash = name.lastIndexOf("/");
  const tagColon = name.indexOf(":", lastSlash + 1);
  if (tagColon !== -1) name = name.slice(0, tagColon);
  return name;
}
