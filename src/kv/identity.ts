/**
 * A node's identity lives in its data directory: the node id and cluster id it was given once,
 * durably. A directory without one is an uninitialized node, waiting to be given an identity
 * (by flags or by the admin API). Ids are never reused: a wiped directory gets a new id.
 *
 * The identity says who a node is, not what it remembers: whether it may vote is decided by its
 * Raft storage's own incarnation (file_node_store.ts), so that a lost `raft/` directory is a new
 * incarnation even when this file survives. Older versions kept the incarnation here, with an
 * `awaiting-learner` marker beside it; those are read only to adopt storage written by them.
 */
import { atomicWriteFile, syncDir } from "../storage/atomic_write.ts";
import type { NodeId } from "../raft/mod.ts";

export interface NodeIdentity {
  nodeId: NodeId;
  clusterId: string;
  /** Only in identities written by older versions: their storage's incarnation. */
  incarnation?: string;
  createdAt: string;
}

const IDENTITY_FILE = "identity.json";
const AWAITING_LEARNER_FILE = "awaiting-learner";

export async function readIdentity(dataDir: string): Promise<NodeIdentity | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dataDir}/${IDENTITY_FILE}`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  const id = JSON.parse(text) as NodeIdentity;
  if (
    !Number.isSafeInteger(id.nodeId) || id.nodeId <= 0 || typeof id.clusterId !== "string" ||
    (id.incarnation !== undefined && typeof id.incarnation !== "string")
  ) {
    throw new Error(
      `${dataDir}/${IDENTITY_FILE} is damaged (${
        text.slice(0, 80)
      }): remove the data directory and re-add the node with a new id`,
    );
  }
  return id;
}

export async function writeIdentity(
  dataDir: string,
  nodeId: NodeId,
  clusterId: string,
): Promise<NodeIdentity> {
  const identity: NodeIdentity = { nodeId, clusterId, createdAt: new Date().toISOString() };
  await Deno.mkdir(dataDir, { recursive: true });
  await atomicWriteFile(
    dataDir,
    IDENTITY_FILE,
    new TextEncoder().encode(JSON.stringify(identity, null, 2) + "\n"),
  );
  return identity;
}

/** The marker of storage written by older versions (see file_node_store.ts). */
export async function isAwaitingLearner(dataDir: string): Promise<boolean> {
  try {
    await Deno.stat(`${dataDir}/${AWAITING_LEARNER_FILE}`);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

export async function setAwaitingLearner(dataDir: string, awaiting: boolean): Promise<void> {
  const path = `${dataDir}/${AWAITING_LEARNER_FILE}`;
  if (awaiting) {
    await atomicWriteFile(
      dataDir,
      AWAITING_LEARNER_FILE,
      new TextEncoder().encode("joined with empty storage\n"),
    );
  } else {
    await Deno.remove(path).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    await syncDir(dataDir);
  }
}
