/**
 * Picks this agent's pod network, 127.N.0.0/16, so that two localkube instances on one machine
 * never hand out the same address: each claims its N with a file holding its PID, and a claim
 * whose PID is gone is taken over.
 */
import { isAlive } from "../processes.ts";

const CLAIMS_DIR = "/tmp/raft-kv-localkube-podnets";
const FIRST = 100;
const LAST = 250;

export interface PodNetworkClaim {
  secondOctet: number;
  release(): void;
}

export async function claimPodNetwork(): Promise<PodNetworkClaim> {
  Deno.mkdirSync(CLAIMS_DIR, { recursive: true });
  const span = LAST - FIRST + 1;
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const octet = FIRST + (start + i) % span;
    const path = `${CLAIMS_DIR}/127.${octet}`;
    if (await tryClaim(path)) return { secondOctet: octet, release: () => Deno.removeSync(path) };
  }
  throw new Error(
    `every pod network 127.${FIRST}-${LAST}.0.0/16 is claimed by a running agent (see ${CLAIMS_DIR}); stop some`,
  );
}

async function tryClaim(path: string): Promise<boolean> {
  try {
    Deno.writeTextFileSync(path, String(Deno.pid), { createNew: true });
    return true;
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
  const holder = Number(Deno.readTextFileSync(path).trim());
  if (holder && await isAlive(holder)) return false;
  // Stale: its agent died without releasing it. Remove and race for it like a fresh claim.
  Deno.removeSync(path);
  try {
    Deno.writeTextFileSync(path, String(Deno.pid), { createNew: true });
    return true;
  } catch {
    return false;
  }
}
