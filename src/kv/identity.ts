/**
 * A node's identity lives in its data directory: the node id and cluster id it was given once,
 * durably. A directory without one is an uninitialized node, waiting to be given an identity
 * (by flags or by the admin API). Ids are never reused: a wiped directory gets a new id.
 *
 * The "awaiting-learner" marker guards against lost storage: a node that starts with empty
 * storage and joins an existing cluster must not vote or campaign until it has been added as a
 * learner *in this incarnation*: each identity carries a random incarnation nonce, and the
 * add-learner change names it. A voter whose disk was wiped and restarted under its old id gets a
 * new nonce; replaying the log it sees only its old incarnation's learner stage, so it stays out
 * of elections (instead of voting twice in a term) until it is re-added under a new id.
 */
import { atomicWriteFile, syncDir } from "../storage/atomic_write.ts";
import type { NodeId } from "../raft/mod.ts";

export interface NodeIdentity {
  nodeId: NodeId;
  clusterId: string;
  /** Random, new for every data directory that receives an identity. */
  incarnation: string;
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
    typeof id.incarnation !== "string"
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
  const identity: NodeIdentity = {
    nodeId,
    clusterId,
    incarnation: crypto.randomUUID(),
    createdAt: new Date().toISOString(),
  };
  await Deno.mkdir(dataDir, { recursive: true });
  await atomicWriteFile(
    dataDir,
    IDENTITY_FILE,
    new TextEncoder().encode(JSON.stringify(identity, null, 2) + "\n"),
  );
  return identity;
}

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
