/**
 * The container engine that builds the images: docker when its daemon answers, else podman
 * (daemonless; on these machines it needs runc and the containers.conf in the README).
 */
import { capture, onPath, stream, succeeds } from "./run_command.ts";

export type EngineName = "docker" | "podman";

export interface BuildOptions {
  dockerfile: string;
  contextDir: string;
  tag: string;
  /** A PEM file handed to the build as the secret `extra-ca` (see the Dockerfiles). */
  extraCa?: string;
  onLine: (line: string) => void;
}

export class ContainerEngine {
  constructor(readonly name: EngineName) {}

  /** The engine asked for, or the first usable one; throws naming the fix when there is none. */
  static async find(wanted?: EngineName): Promise<ContainerEngine> {
    const candidates: EngineName[] = wanted ? [wanted] : ["docker", "podman"];
    const problems: string[] = [];
    for (const name of candidates) {
      if (!await onPath(name)) {
        problems.push(`${name} is not on PATH`);
        continue;
      }
      // `info` talks to docker's daemon; for podman it checks storage and runtime configuration.
      if (await succeeds([name, "info"], 20_000)) return new ContainerEngine(name);
      problems.push(
        name === "docker"
          ? "docker is installed but `docker info` fails (is the daemon running, may you use its socket?)"
          : "podman is installed but `podman info` fails (run it to see why)",
      );
    }
    throw new Error(
      `no container engine to build images with: ${problems.join("; ")}. ` +
        "Install docker (with its daemon) or podman (Debian/Ubuntu: apt-get install podman runc).",
    );
  }

  /**
   * The name the engine stores an image under. Podman would file `raft-kv:latest` under
   * `localhost/`; containerd, kind and minikube read it as `docker.io/library/raft-kv:latest`.
   */
  qualified(image: string): string {
    const firstPart = image.split("/")[0];
    const hasRegistry = image.includes("/") && (firstPart.includes(".") || firstPart.includes(":") ||
      firstPart === "localhost");
    if (hasRegistry) return image;
    return image.includes("/") ? `docker.io/${image}` : `docker.io/library/${image}`;
  }

  async exists(image: string): Promise<boolean> {
    return await succeeds([this.name, "image", "inspect", this.qualified(image)]);
  }

  /** Image id (sha256:...) of a stored image. */
  async imageId(image: string): Promise<string> {
    return (await capture([this.name, "image", "inspect", "--format", "{{.Id}}", this.qualified(image)]))
      .trim();
  }

  /** Removes an image by id; quietly keeps it when a container or another tag still uses it. */
  async removeImage(id: string): Promise<void> {
    await succeeds([this.name, "image", "rm", id]);
  }

  /** Tries a pull; false (quietly) when no registry answers. */
  async tryPull(image: string, timeoutMs = 60_000): Promise<boolean> {
    return await succeeds([this.name, "pull", this.qualified(image)], timeoutMs);
  }

  async build(options: BuildOptions): Promise<void> {
    const args = [
      this.name,
      "build",
      "--file",
      options.dockerfile,
      "--tag",
      this.qualified(options.tag),
      // The base image is either here already or was just built or pulled: never pull during a build.
      "--pull=never",
      // RUN steps fetch npm packages; the host network avoids depending on the engine's bridge.
      "--network",
      "host",
    ];
    if (options.extraCa) args.push("--secret", `id=extra-ca,src=${options.extraCa}`);
    args.push(options.contextDir);
    // docker needs BuildKit for RUN --mount (the default since docker 23).
    const env: Record<string, string> = this.name === "docker" ? { DOCKER_BUILDKIT: "1" } : {};
    await stream(args, options.onLine, { env });
  }

  async tag(source: string, target: string): Promise<void> {
    await capture([this.name, "tag", this.qualified(source), this.qualified(target)]);
  }

  async push(image: string, insecure: boolean): Promise<void> {
    const args = [this.name, "push"];
    if (insecure && this.name === "podman") args.push("--tls-verify=false");
    await capture([...args, this.qualified(image)]);
  }

  /**
   * Writes images to one archive that `ctr images import`, `kind load image-archive` and
   * `minikube image load` read: docker's archive format (podman writes it too, with several images).
   */
  async save(images: string[], archive: string): Promise<void> {
    const args = [this.name, "save", "--output", archive];
    if (this.name === "podman") args.push("--format", "docker-archive", "--multi-image-archive");
    await capture([...args, ...images.map((i) => this.qualified(i))]);
  }

  /** Imports a root filesystem tarball as an image (the local Debian base). */
  async importRootfs(tarball: string, image: string): Promise<void> {
    await capture([this.name, "import", tarball, this.qualified(image)]);
  }
}
