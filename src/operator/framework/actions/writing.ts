import type { KubeClient, ObjectAddress } from "../client/kube_client.ts";
import { apiStatusCode, describeApiError } from "../client/api_error.ts";
import type { OperatorStats } from "../engines/stats.ts";
import type { KubeObject } from "../structs/objects.ts";
import { combinePatches, isEmptyPatch, type MergePatch, withoutEmptyObjects } from "../structs/patches.ts";

export interface WriteEnv {
  client: KubeClient;
  stats: OperatorStats;
}

/** Builds a merge patch from the freshest object; undefined or empty means "nothing to write". */
export type PatchBuilder = (fresh: KubeObject) => MergePatch | undefined;

const MAX_ATTEMPTS = 8;

/**
 * Writes a merge patch guarded by the object's resourceVersion, so that a concurrent writer makes it
 * fail with 409 instead of being silently overwritten (lists such as finalizers and conditions are
 * replaced whole by a merge patch). On 409 it re-reads the object and rebuilds the patch from it.
 * Returns the object as written, or undefined when the object is gone.
 */
export async function writeGuarded(
  env: WriteEnv,
  address: ObjectAddress,
  target: "object" | "status",
  current: KubeObject,
  build: PatchBuilder,
): Promise<KubeObject | undefined> {
  let body = current;
  for (let attempt = 1;; attempt++) {
    const built = build(body);
    if (!built || isEmptyPatch(built)) return body;
    const patch = combinePatches(withoutEmptyObjects(built), {
      metadata: { resourceVersion: body.metadata.resourceVersion },
    });
    try {
      return target === "status"
        ? await env.client.patchStatus(address, patch)
        : await env.client.patch(address, patch);
    } catch (error) {
      const code = apiStatusCode(error);
      if (code === 404) {
        if (target === "status" && (await env.client.get(address))) {
          throw new Error(
            `${address.resource.plural} has no status subresource: add "subresources: { status: {} }" ` +
              `to its CRD (${describeApiError(error)})`,
          );
        }
        return undefined;
      }
      if (code !== 409 || attempt >= MAX_ATTEMPTS) throw error;
      env.stats.conflicts++;
      const fresh = await env.client.get(address);
      if (!fresh || fresh.metadata.uid !== current.metadata.uid) return undefined; // gone, or a new namesake
      body = fresh;
    }
  }
}
