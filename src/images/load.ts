/**
 * Puts built images where a cluster's container runtime finds them without a registry: a
 * containerd socket (localkube's real node), a kind cluster, a minikube profile, or a registry.
 */
import type { ContainerEngine } from "./engine.ts";
import { capture, onPath } from "./run_command.ts";

export type LoadTarget =
  | { kind: "containerd"; address: string }
  | { kind: "kind"; cluster: string }
  | { kind: "minikube"; profile: string }
  | { kind: "registry"; registry: string; insecure: boolean };

/** Saves `images` to one archive in a temp dir, hands it to `use`, then removes it. */
async function withArchive<T>(
  engine: ContainerEngine,
  images: string[],
  use: (archive: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "raft-kv-images-" });
  try {
    const archive = `${dir}/images.tar`;
    await engine.save(images, archive);
    return await use(archive);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** `ctr` of containerd: the Kubernetes (CRI) namespace is `k8s.io`. */
export async function importIntoContainerd(
  engine: ContainerEngine,
  images: string[],
  address: string,
): Promise<void> {
  if (!await onPath("ctr")) {
    throw new Error("ctr (containerd's client) is not on PATH: apt-get install containerd");
  }
  await withArchive(engine, images, async (archive) => {
    await capture(["ctr", "--address", address, "--namespace", "k8s.io", "images", "import", archive]);
  });
}

/** Loads images into the target; returns the image names pods should use there. */
export async function loadImages(
  engine: ContainerEngine,
  images: string[],
  target: LoadTarget,
): Promise<string[]> {
  switch (target.kind) {
    case "containerd":
      await importIntoContainerd(engine, images, target.address);
      return images;
    case "kind":
      if (!await onPath("kind")) throw new Error("kind is not on PATH (https://kind.sigs.k8s.io)");
      await withArchive(engine, images, async (archive) => {
        await capture(["kind", "load", "image-archive", archive, "--name", target.cluster]);
      });
      return images;
    case "minikube":
      if (!await onPath("minikube")) {
        throw new Error("minikube is not on PATH (https://minikube.sigs.k8s.io)");
      }
      await withArchive(engine, images, async (archive) => {
        await capture(["minikube", "image", "load", archive, "--profile", target.profile]);
      });
      return images;
    case "registry": {
      const pushed: string[] = [];
      for (const image of images) {
        const remote = `${target.registry.replace(/\/$/, "")}/${image}`;
        await engine.tag(image, remote);
        await engine.push(remote, target.insecure);
        pushed.push(remote);
      }
      return pushed;
    }
  }
}
