/**
 * The NOSPACE alarm (after etcd's space quota): before the data directory's filesystem is full,
 * writes that add data are refused with 507 and a message naming the cause, while reads and
 * deletes go on; the alarm clears by itself once space returns. The reserve must hold what is
 * still written while the alarm is up (deletes, configuration changes, a snapshot), so that a
 * write failing with ENOSPC in the middle of a Ready (which still fail-stops the node) stays
 * the exception.
 */
import { statfsSync } from "node:fs";
import { HttpError } from "./http_errors.ts";

export interface DiskSpace {
  freeBytes: number;
  totalBytes: number;
}

export interface DiskAlarmView {
  raised: boolean;
  reserveBytes: number;
  freeBytes?: number;
  totalBytes?: number;
  /** When the alarm was last raised (ISO time), while it is up. */
  since?: string;
  /** Why free space cannot be measured (the alarm then never rises). */
  checkError?: string;
  refusedWrites: number;
}

/**
 * Free space of the filesystem holding `dir`, as an unprivileged process sees it (f_bavail). A
 * data directory not created yet (a node waiting for its identity) is measured at its nearest
 * existing parent, where it will be created.
 */
export function measureDiskSpace(dir: string): DiskSpace {
  for (let path = dir;;) {
    try {
      const s = statfsSync(path);
      return {
        freeBytes: Number(s.bavail) * Number(s.bsize),
        totalBytes: Number(s.blocks) * Number(s.bsize),
      };
    } catch (e) {
      const parent = path.replace(/\/+[^/]*\/*$/, "") || "/";
      if ((e as { code?: string }).code !== "ENOENT" || parent === path) throw e;
      path = parent;
    }
  }
}

/** "64MiB", "512KiB", "1GiB", "10MB" or plain bytes. */
export function parseByteSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$/i.exec(text);
  if (!m) throw new Error(`"${text}" is not a size (examples: 67108864, 64MiB, 512KiB, 1GiB)`);
  const unit = (m[2] ?? "b").toLowerCase();
  const factor = {
    b: 1,
    kb: 1e3,
    kib: 1024,
    mb: 1e6,
    mib: 1024 ** 2,
    gb: 1e9,
    gib: 1024 ** 3,
  }[unit]!;
  return Math.round(Number(m[1]) * factor);
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** Clears only this far above the reserve, so that a disk hovering at the edge does not flap. */
const CLEAR_MARGIN = 1.1;

export class DiskSpaceAlarm {
  private raisedAt: Date | undefined;
  private last: DiskSpace | undefined;
  private lastCheckAt = -Infinity;
  private checkError: string | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  refusedWrites = 0;

  constructor(
    readonly dir: string,
    readonly reserveBytes: number,
    private readonly log: (level: "info" | "warn" | "error", line: string) => void,
    private readonly measure: (dir: string) => DiskSpace = measureDiskSpace,
    /** A write checks again if the last measurement is older than this. */
    private readonly maxAgeMs = 100,
  ) {}

  /**
   * Checks now and then every `intervalMs`, so the alarm also clears with no traffic. Often, because a
   * follower's appends do not pass refuseWrites(): at tens of MB/s of replicated writes, the reserve
   * must outlast this interval plus the leader's poll (cluster_alarms.ts). statfs costs microseconds.
   */
  start(intervalMs = 50): void {
    this.check();
    this.timer ??= setInterval(() => this.check(), intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  get raised(): boolean {
    return this.raisedAt !== undefined;
  }

  check(): void {
    this.lastCheckAt = performance.now();
    let space: DiskSpace;
    try {
      space = this.measure(this.dir);
    } catch (e) {
      const why = e instanceof Deno.errors.NotCapable
        ? "free space cannot be measured without --allow-sys=statfs: the disk alarm is off"
        : `cannot measure free space of ${this.dir}: ${(e as Error).message}`;
      if (why !== this.checkError) this.log("warn", why);
      this.checkError = why;
      return;
    }
    this.checkError = undefined;
    this.last = space;
    if (!this.raisedAt && space.freeBytes < this.reserveBytes) {
      this.raisedAt = new Date();
      this.log(
        "error",
        `NOSPACE alarm raised: ${this.describe()}; writes are refused, reads and deletes served`,
      );
    } else if (this.raisedAt && space.freeBytes >= this.reserveBytes * CLEAR_MARGIN) {
      this.raisedAt = undefined;
      this.log("info", `NOSPACE alarm cleared: ${formatBytes(space.freeBytes)} free again; writes accepted`);
    }
  }

  private describe(): string {
    const free = this.last ? formatBytes(this.last.freeBytes) : "unknown";
    return `${free} free on the filesystem of ${this.dir}, below the reserve of ${
      formatBytes(this.reserveBytes)
    }`;
  }

  /** Throws the 507 a write that adds data gets while the alarm is up. */
  refuseWrites(): void {
    if (performance.now() - this.lastCheckAt > this.maxAgeMs) this.check();
    if (!this.raisedAt) return;
    this.refusedWrites++;
    throw new HttpError(
      507,
      "nospace",
      `the disk is (nearly) full: ${this.describe()}. Writes are refused until space is freed; reads and ` +
        `deletes are served, and the alarm clears by itself`,
      { alarm: "NOSPACE" },
      5,
    );
  }

  view(): DiskAlarmView {
    return {
      raised: this.raised,
      reserveBytes: this.reserveBytes,
      ...(this.last ?? {}),
      ...(this.raisedAt ? { since: this.raisedAt.toISOString() } : {}),
      ...(this.checkError ? { checkError: this.checkError } : {}),
      refusedWrites: this.refusedWrites,
    };
  }
}
