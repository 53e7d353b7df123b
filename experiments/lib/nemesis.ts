/**
 * The fault schedule of a Jepsen-style run: repeatedly pick a fault, hold it, heal it. Faults:
 * partitions (isolate the leader, a minority/majority split, a bridge node that sees both
 * halves), SIGKILL (the supervisor restarts the node), SIGSTOP/SIGCONT pauses, and membership
 * changes (scale up and down) started while another fault may be active. Every fault and heal is
 * printed on the timeline and noted in the history.
 *
 * Random faults alone almost never break the unsafe modes: the violation needs a membership change
 * in flight, new members that are still empty, an old member that lags, and a partition that puts
 * that member with the new ones and the rest of the old majority on the other side, all within the
 * ~100 ms a change takes on loopback. "membership-partition" builds that coincidence on purpose,
 * as the bug schedules do: the new members are cut off from the leader before they exist, the
 * change is started, an old follower is cut off once it has applied it, then {leader, other} | rest.
 */
import type { HistoryRecorder } from "../../src/check/history.ts";
import type { ExperimentCluster } from "./cluster_harness.ts";

export type FaultKind = "partition" | "kill" | "pause" | "membership" | "membership-partition";
export const FAULT_KINDS: FaultKind[] = ["partition", "kill", "pause", "membership", "membership-partition"];

export class Nemesis {
  readonly timeline: Array<{ atMs: number; event: string }> = [];
  private readonly t0 = performance.now();
  private paused = new Set<number>();
  private safeShapes = 0;

  constructor(
    private readonly cluster: ExperimentCluster,
    private readonly recorder: HistoryRecorder,
    private readonly kinds: FaultKind[],
    private readonly random: () => number,
  ) {}

  private note(event: string): void {
    const atMs = Math.round(performance.now() - this.t0);
    this.timeline.push({ atMs, event });
    this.recorder.note(event);
    console.log(`  ${(atMs / 1000).toFixed(1).padStart(6)}s  ${event}`);
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }

  /** Fisher-Yates: a fixed number of draws, so a seed replays the same schedule. */
  private shuffled(ids: number[]): number[] {
    const out = [...ids];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** Runs faults until `endAt` (performance.now() time), then heals everything. */
  async run(endAt: number): Promise<void> {
    while (performance.now() < endAt - 1500) {
      await this.sleep(500 + this.random() * 1500);
      const kind = this.pick(this.kinds);
      try {
        await this.inject(kind);
      } catch (e) {
        this.note(`(${kind} fault skipped: ${(e as Error).message})`);
      }
      await this.sleep(1000 + this.random() * 2000);
      await this.healAll();
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }

  private async inject(kind: FaultKind): Promise<void> {
    const c = this.cluster;
    const ids = c.nodes.map((n) => n.id);
    switch (kind) {
      case "partition": {
        const leader = await c.leader();
        const shape = this.pick(["isolate-leader", "majority-minority", "bridge"] as const);
        if (shape === "isolate-leader" && leader) {
          await c.partition([[leader], ids.filter((i) => i !== leader)]);
          this.note(`partition: isolate leader ${leader} from [${ids.filter((i) => i !== leader)}]`);
        } else if (shape === "bridge" && ids.length >= 3) {
          const [bridge, ...rest] = this.shuffled(ids);
          const half = Math.floor(rest.length / 2);
          const a = rest.slice(0, half), b = rest.slice(half);
          await c.partition([a, b]); // the bridge node is in neither group: it still talks to both
          this.note(`partition: bridge node ${bridge} between [${a}] and [${b}]`);
        } else {
          const order = this.shuffled(ids);
          const minority = order.slice(0, Math.floor((ids.length - 1) / 2));
          const majority = order.slice(minority.length);
          await c.partition([minority, majority]);
          this.note(`partition: minority [${minority}] | majority [${majority}]`);
        }
        return;
      }
      case "kill": {
        const victim = this.random() < 0.5 ? (await c.leader()) ?? this.pick(ids) : this.pick(ids);
        await c.sup.command(victim, "kill");
        this.note(
          `kill -9 node ${victim}${victim === (await c.leader()) ? "" : ""} (the supervisor restarts it)`,
        );
        return;
      }
      case "pause": {
        const victim = this.pick(ids);
        await c.sup.command(victim, "pause");
        this.paused.add(victim);
        this.note(`pause node ${victim} (SIGSTOP)`);
        return;
      }
      case "membership-partition":
        return await this.membershipDuringPartition();
      case "membership": {
        const now = c.sup.state.desiredReplicas;
        const next = now >= 5 ? 3 : now + 1;
        c.sup.setDesired(next);
        this.note(`membership: resize ${now} -> ${next} (through the planner, while faults come and go)`);
        return;
      }
    }
  }

  /**
   * A 3 -> 5 change with a partition between the old members while it is in flight, in one of
   * two shapes (the bug schedules'): "empty voters" (the new members are cut off from the leader
   * before they start, an old follower is cut off once it has applied the change, then
   * {leader, other} | {follower, new members}) and "adoption window" (the split falls right after
   * an old follower adopted C_new and before the leader did). Each unsafe mode gets the shape that
   * exposes it; safe mode gets both in turn, and must show nothing.
   */
  private async membershipDuringPartition(): Promise<void> {
    const c = this.cluster;
    if (c.sup.state.desiredReplicas !== 3 || c.sup.state.reconfig.phase !== "Idle" || c.nodes.length !== 3) {
      if (c.sup.state.desiredReplicas !== 3) c.sup.setDesired(3);
      throw new Error("needs an idle 3-member cluster (resizing back to 3 first)");
    }
    const leader = await c.leader();
    if (leader === undefined) throw new Error("no leader");
    const followers = this.shuffled(c.nodes.map((n) => n.id).filter((id) => id !== leader));
    const first = c.sup.state.reconfig.nextNodeId;
    const added = [first, first + 1];
    const mode = c.sup.state.safetyMode;
    const shape = mode === "unsafe-early-vote"
      ? "empty voters"
      : mode === "unsafe-no-joint"
      ? "adoption window"
      : (this.safeShapes++ % 2 === 0 ? "empty voters" : "adoption window");
    const votersOf = async (id: number) =>
      ((await c.status(id).catch(() => undefined))?.conf as { voters?: number[] } | undefined)?.voters ?? [];
    const adopted = async (id: number) => {
      const voters = await votersOf(id);
      return added.every((a) => voters.includes(a));
    };
    if (shape === "empty voters") {
      const [lagging, other] = followers;
      await c.partition([[leader], added]);
      c.sup.setDesired(5);
      this.note(
        `membership-partition: nodes ${added} cut off from leader ${leader} before they start; resize 3 -> 5`,
      );
      const deadline = performance.now() + 4000;
      while (performance.now() < deadline && !(await adopted(lagging))) await this.sleep(20);
      await c.partition([[leader], [lagging, ...added]]);
      this.note(`membership-partition: node ${lagging} cut off from leader ${leader} (it lags from here)`);
      await this.sleep(600);
      await c.partition([[leader, other], [lagging, ...added]]);
      this.note(
        `membership-partition: [${leader},${other}] | [${lagging},${added}] while the change is in flight`,
      );
      return;
    }
    c.sup.setDesired(5);
    this.note(
      `membership-partition: resize 3 -> 5; waiting for an old follower to adopt it before leader ${leader}`,
    );
    // Safe mode has no such window (C_new comes through the log, after the joint configuration).
    const deadline = performance.now() + (mode === "unsafe-no-joint" ? 10_000 : 3000);
    while (performance.now() < deadline) {
      const ahead: number[] = [];
      for (const f of followers) if (await adopted(f)) ahead.push(f);
      if (ahead.length && !(await adopted(leader))) {
        const other = followers.find((f) => !ahead.includes(f)) ?? followers[0];
        const side = [...ahead.filter((f) => f !== other), ...added];
        await c.partition([[leader, other], side]);
        this.note(
          `membership-partition: [${leader},${other}] | [${side}]: node ${ahead} runs C_new, ${leader} C_old`,
        );
        return;
      }
      await this.sleep(10);
    }
    const others = followers.slice(1);
    await c.partition([[leader, followers[0]], [...others, ...added]]);
    this.note(
      `membership-partition: no adoption window seen; [${leader},${followers[0]}] | [${others},${added}]`,
    );
  }

  async healAll(): Promise<void> {
    for (const id of this.paused) {
      await this.cluster.sup.command(id, "resume").catch(() => {});
      this.note(`resume node ${id} (SIGCONT)`);
    }
    this.paused.clear();
    await this.cluster.heal();
    this.note("heal: all links restored");
  }
}
