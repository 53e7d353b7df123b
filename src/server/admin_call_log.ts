/**
 * The admin calls that changed (or tried to change) something on this node, with who sent them:
 * `GET /admin/calls`. Callers name themselves with `X-Raft-Admin-Caller` (the operator sends its
 * replica's identity) and may say what for with `X-Raft-Admin-Step` (the operator: its workflow
 * step). Each record also holds the configuration index before the call and the one it answered,
 * so an audit can check that every configuration change was made by exactly one call, one after
 * the other: what the operator's fencing test reads. Kept in the data directory (admin-calls.jsonl),
 * so the record survives a restart of the pod.
 */
import type { Context, Next } from "hono";
import type { NodeHolder } from "./node_holder.ts";

export const CALLER_HEADER = "x-raft-admin-caller";
export const STEP_HEADER = "x-raft-admin-step";
const FILE = "admin-calls.jsonl";
/** The log is cut back to its newest half past this many records (an operator issues a few per change). */
const MAX_RECORDS = 4000;

export interface AdminCallRecord {
  /** Order of the calls on this node (1, 2, ...; never reused, across restarts). */
  seq: number;
  /** When the call started and ended (ISO time of this host). */
  at: string;
  end: string;
  /** This node's id when the call came in (undefined before it was given its identity). */
  node?: number;
  caller?: string;
  step?: string;
  method: string;
  path: string;
  status: number;
  /** The node led when the call came in: it made the change itself (else it forwarded the call). */
  leader: boolean;
  /** The configuration index before the call, and the one the answer gave (with `changed`). */
  confIndexBefore?: number;
  index?: number;
  changed?: boolean;
  /** A configuration change made here: the configuration index it was proposed on. */
  previousIndex?: number;
}

export class AdminCallLog {
  #records: AdminCallRecord[] = [];
  #loaded?: Promise<void>;
  #writing: Promise<void> = Promise.resolve();

  constructor(private readonly holder: NodeHolder, private readonly warn: (message: string) => void) {}

  get #path(): string {
    return `${this.holder.config.dataDir}/${FILE}`;
  }

  async #load(): Promise<void> {
    const text = await Deno.readTextFile(this.#path).catch(() => "");
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      try {
        this.#records.push(JSON.parse(line));
      } catch {
        // a line cut short by a crash: the others still count
      }
    }
  }

  async records(): Promise<AdminCallRecord[]> {
    await (this.#loaded ??= this.#load());
    return [...this.#records];
  }

  /** Hono middleware for the admin app: records every call but GETs, after it was answered. */
  middleware = async (c: Context, next: Next): Promise<void> => {
    if (c.req.method === "GET") return await next();
    await (this.#loaded ??= this.#load());
    const node = this.holder.node;
    const started = new Date().toISOString();
    const before = node ? { leader: node.isLeader, confIndex: node.confIndex } : undefined;
    await next();
    const record: AdminCallRecord = {
      seq: (this.#records.at(-1)?.seq ?? 0) + 1,
      at: started,
      end: new Date().toISOString(),
      node: this.holder.identity?.nodeId,
      caller: c.req.header(CALLER_HEADER),
      step: c.req.header(STEP_HEADER),
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      status: c.res.status,
      leader: before?.leader ?? false,
      confIndexBefore: before?.confIndex,
    };
    if (c.res.status === 200) {
      const body = await c.res.clone().json().catch(() => undefined) as Record<string, unknown> | undefined;
      if (typeof body?.index === "number") record.index = body.index;
      if (typeof body?.changed === "boolean") record.changed = body.changed;
      if (typeof body?.previousIndex === "number") record.previousIndex = body.previousIndex;
    }
    this.#records.push(record);
    const cut = this.#records.length > MAX_RECORDS;
    if (cut) this.#records = this.#records.slice(-MAX_RECORDS / 2);
    const lines = (cut ? this.#records : [record]).map((r) => JSON.stringify(r) + "\n").join("");
    this.#writing = this.#writing.then(() =>
      Deno.writeTextFile(this.#path, lines, { append: !cut }).catch((e) =>
        this.warn(`could not record an admin call in ${this.#path}: ${(e as Error).message}`)
      )
    );
    await this.#writing;
  };
}
