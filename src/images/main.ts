/**
 * `deno task images`: builds raft-kv and raft-operator from Dockerfile.server and Dockerfile.operator
 * with docker or podman (building the base image locally when no registry serves it) and loads them
 * where a cluster can run them. See USAGE.
 */
import { parseArgs } from "node:util";
import { ContainerEngine, type EngineName } from "./engine.ts";
import { loadImages, type LoadTarget } from "./load.ts";
import {
  buildProjectImages,
  defaultExtraCa,
  PROJECT_IMAGES,
  type ProjectImageName,
  REPO_ROOT,
} from "./project_images.ts";
import { localNodeContainerd } from "../localkube/node/node_state.ts";

const USAGE = `usage: deno task images [options]
Builds raft-kv:TAG (Dockerfile.server) and raft-operator:TAG (Dockerfile.operator), then loads them.
  --engine docker|podman   build with this engine (default: docker if its daemon answers, else podman)
  --only NAME              build only raft-kv or raft-operator (repeatable)
  --tag TAG                image tag (default latest)
  --extra-ca FILE|none     a CA bundle for TLS during the build (a proxy that intercepts TLS); passed as
                           the build secret "extra-ca". Default: $DENO_CERT, else $SSL_CERT_FILE, if set
  --load WHERE             where to put the images (default: localkube if its real node is up, else none):
                             localkube              the containerd of \`deno task localkube up\`'s node
                             containerd:SOCKET      any containerd (namespace k8s.io, as the kubelet uses)
                             kind[:CLUSTER]         kind load image-archive (cluster default "kind")
                             minikube[:PROFILE]     minikube image load (profile default "minikube")
                             registry:HOST[:PORT][/PATH]  tag and push (then set spec.image to it)
                             none                   only build
  --insecure-registry      push over plain HTTP / without TLS verification (podman)
  -h, --help               this text`;

function fail(message: string): never {
  console.error(`images: ${message}`);
  Deno.exit(2);
}

function parse() {
  return parseArgs({
    args: Deno.args,
    options: {
      engine: { type: "string" },
      only: { type: "string", multiple: true },
      tag: { type: "string" },
      "extra-ca": { type: "string" },
      load: { type: "string" },
      "insecure-registry": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  }).values;
}

let values: ReturnType<typeof parse>;
try {
  values = parse();
} catch (error) {
  fail(`${(error as Error).message}\n${USAGE}`);
}
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}

const engineName = values.engine;
if (engineName !== undefined && engineName !== "docker" && engineName !== "podman") {
  fail(`--engine must be docker or podman, not "${engineName}"`);
}
const known = PROJECT_IMAGES.map((i) => i.name as string);
for (const name of values.only ?? []) {
  if (!known.includes(name)) fail(`--only ${name}: the images are ${known.join(" and ")}`);
}
const tag = values.tag ?? "latest";
if (!/^[\w][\w.-]{0,127}$/.test(tag)) fail(`--tag "${tag}" is not a valid image tag`);

async function extraCa(): Promise<string> {
  const given = values["extra-ca"];
  if (given === "none") return "none";
  if (given === undefined) return await defaultExtraCa() ?? "none";
  if (!(await Deno.stat(given).catch(() => undefined))?.isFile) fail(`--extra-ca ${given}: no such file`);
  return given;
}

async function loadTarget(): Promise<LoadTarget | undefined> {
  const load = values.load ?? "auto";
  const [kind, ...rest] = load.split(":");
  const argument = rest.join(":");
  switch (kind) {
    case "auto": {
      const address = await localNodeContainerd(REPO_ROOT);
      return address ? { kind: "containerd", address } : undefined;
    }
    case "none":
      return undefined;
    case "localkube": {
      const address = await localNodeContainerd(REPO_ROOT);
      if (!address) {
        fail("--load localkube: no real localkube node is up (deno task localkube up starts one)");
      }
      return { kind: "containerd", address };
    }
    case "containerd":
      if (!argument) fail("--load containerd:SOCKET needs the socket path");
      return { kind: "containerd", address: argument };
    case "kind":
      return { kind: "kind", cluster: argument || "kind" };
    case "minikube":
      return { kind: "minikube", profile: argument || "minikube" };
    case "registry":
      if (!argument) fail("--load registry:HOST[:PORT][/PATH] needs the registry");
      return { kind: "registry", registry: argument, insecure: values["insecure-registry"] === true };
    default:
      fail(
        `--load ${load}: expected localkube, containerd:SOCKET, kind[:CLUSTER], minikube[:PROFILE], ` +
          "registry:HOST[:PORT][/PATH] or none",
      );
  }
}

const log = (line: string) => console.log(`[images] ${line}`);
const started = performance.now();
try {
  const target = await loadTarget();
  const ca = await extraCa();
  const engine = await ContainerEngine.find(engineName as EngineName | undefined);
  log(`engine: ${engine.name}${ca !== "none" ? `; extra CA for the build: ${ca}` : ""}`);
  const built = await buildProjectImages({
    engine,
    names: values.only as ProjectImageName[] | undefined,
    tag,
    extraCa: ca,
    log,
  });
  const images = built.map((b) => b.image);
  if (!target) {
    log(
      `built ${
        images.join(", ")
      }; not loaded anywhere (--load kind, minikube, localkube, registry:... loads them)`,
    );
  } else {
    const loadStarted = performance.now();
    const where = target.kind === "containerd"
      ? `containerd at ${target.address}`
      : target.kind === "kind"
      ? `kind cluster ${target.cluster}`
      : target.kind === "minikube"
      ? `minikube profile ${target.profile}`
      : `registry ${target.registry}`;
    log(`loading ${images.join(", ")} into ${where}`);
    const names = await loadImages(engine, images, target);
    log(`loaded in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s: ${names.join(", ")}`);
    if (target.kind === "registry") {
      log(`use them with spec.image: ${names[0]} in a RaftCluster and the operator Deployment's image`);
    }
  }
  log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} catch (error) {
  console.error(`images: ${(error as Error).message}`);
  Deno.exit(1);
}
