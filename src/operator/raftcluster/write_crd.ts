/**
 * Writes crds/raftcluster.yaml from crd.ts:
 *   deno run --allow-write=crds src/operator/raftcluster/write_crd.ts
 */
import { raftClusterCrdYaml } from "./crd.ts";

const target = new URL("../../../crds/raftcluster.yaml", import.meta.url);
await Deno.writeTextFile(target, raftClusterCrdYaml());
console.log(`wrote ${target.pathname}`);
