/**
 * The NOSPACE alarm made cluster-wide, as etcd does: every member appends every write, so one
 * member with a (nearly) full disk must stop writes for all, or it would fail-stop on ENOSPC in
 * the middle of a Ready. The leader asks each member's /readyz 20 times a second (only while it
 * leads) and refuses writes while any member reports NOSPACE; a member that does not answer
 * counts as no alarm (it is down, not full). Followers forward writes to the leader, so the
 * refusal reaches clients whichever node they talk to.
 */
import type { RaftKvNode } from "../kv/raft_kv_node.ts";
import { HttpError } from "./http_errors.ts";
import { memberFetch } from "../security/cluster_fetch.ts";

/** Whether the member at `clientUrl` reports the NOSPACE alarm; undefined if it did not answer. */
export type AlarmProbe = (clientUrl: string) => Promise<boolean | undefined>;

export const probeReadyz: AlarmProbe = async (clientUrl) => {
  try {
    const url = new URL(clientUrl);
    const r = await memberFetch(`${url.origin}/readyz`, { signal: AbortSignal.timeout(800) });
    const body = await r.json() as { alarms?: string[] };
    return body.alarms?.includes("NOSPACE") === true;
  } catch {
    return undefined;
  }
};

export class ClusterAlarms {
  /** Member id -> when its NOSPACE alarm was first seen (ISO time). */
  private raised = new Map<number, string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private polling = false;

  constructor(private readonly node: () => RaftKvNode | undefined, private readonly probe = probeReadyz) {}

  /**
   * Every 50 ms: writes go on until the leader sees a member's alarm, so the member's reserve must hold
   * what is written meanwhile (26 MB/s of 200 KB values in the disk-full test drained an 8 MiB reserve
   * within the 250 ms poll this had before, and the member stopped on ENOSPC).
   */
  start(intervalMs = 50): void {
    this.timer ??= setInterval(() => void this.poll(), intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round of probes (the timer calls it; tests call it directly). */
  async poll(): Promise<void> {
    const node = this.node();
    if (!node?.isLeader) {
      this.raised.clear();
      return;
    }
    if (this.polling) return;
    this.polling = true;
    try {
      const conf = node.confState();
      const ids = new Set([...conf.voters, ...conf.votersOutgoing, ...conf.learners]);
      ids.delete(node.id);
      const answers = await Promise.all([...ids].map(async (id) => {
        const client = node.memberInfo(id)?.client;
        return [id, client ? await this.probe(client) : undefined] as const;
      }));
      const next = new Map<number, string>();
      for (const [id, alarm] of answers) {
        if (alarm) next.set(id, this.raised.get(id) ?? new Date().toISOString());
      }
      this.raised = next;
    } finally {
      this.polling = false;
    }
  }

  /** Members (other than this leader) whose NOSPACE alarm is up, with the time it was seen. */
  view(): Array<{ node: number; alarm: "NOSPACE"; since: string }> {
    return [...this.raised].map(([node, since]) => ({ node, alarm: "NOSPACE", since }));
  }

  /** On the leader: the 507 a write that adds data gets while any member is out of space. */
  refuseWrites(): void {
    if (!this.raised.size) return;
    const ids = [...this.raised.keys()];
    throw new HttpError(
      507,
      "nospace",
      `the disk of node ${ids.join(", node ")} is (nearly) full (NOSPACE alarm): writes are refused ` +
        `cluster-wide until space is freed there; reads and deletes are served, and the alarm clears by itself`,
      { alarm: "NOSPACE", nodes: ids },
      5,
    );
  }
}
