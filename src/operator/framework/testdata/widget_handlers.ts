// The handlers of the end-to-end tests. Every call is appended to a journal file (one JSON line), so
// that the tests can count calls across operator processes that get killed and restarted.
import { onCreate, onDelete, onUpdate, resource } from "../intents/decorators.ts";
import { TemporaryError } from "../intents/errors.ts";
import type { HandlerContext } from "../intents/handler_context.ts";
import type { KubeClient } from "../client/kube_client.ts";

export interface WidgetSpec {
  replicas?: number;
  image?: string;
  failTimes?: number;
  waitForGate?: boolean;
  interfere?: boolean;
}

export interface JournalEntry {
  handler: string;
  name: string;
  by: string;
  retry?: number;
  old?: unknown;
  new?: unknown;
}

export interface WidgetHandlerOptions {
  /** The journal file (JSON lines). */
  journal: string;
  /** Who is calling (the operator replica's identity). */
  identity: string;
  /** A file whose existence lets `provision` finish for objects with spec.waitForGate. */
  gate?: string;
  /** A second client, for objects with spec.interfere: writes status while the handler runs. */
  interferer?: KubeClient;
}

export const WIDGET = { group: "example.raftkv.dev", version: "v1", plural: "widgets", kind: "Widget" };

@resource(WIDGET)
export class WidgetHandlers {
  constructor(private readonly options: WidgetHandlerOptions) {}

  async #note(ctx: { name: string }, handler: string, extra: Partial<JournalEntry> = {}) {
    const entry: JournalEntry = { handler, name: ctx.name, by: this.options.identity, ...extra };
    await Deno.writeTextFile(this.options.journal, JSON.stringify(entry) + "\n", { append: true });
  }

  @onCreate()
  async prepare(ctx: HandlerContext<WidgetSpec>) {
    await this.#note(ctx, "prepare");
    ctx.patch.status.handledBy = this.options.identity;
    ctx.setCondition({ type: "Progressing", status: "True", reason: "Provisioning" });
  }

  @onCreate()
  async flaky(ctx: HandlerContext<WidgetSpec>) {
    await this.#note(ctx, "flaky", { retry: ctx.retry });
    const failTimes = ctx.spec.failTimes ?? 0;
    if (ctx.retry < failTimes) {
      throw new TemporaryError(`failing on purpose (${ctx.retry + 1} of ${failTimes})`, 300);
    }
    ctx.patch.status.attempts = ctx.retry + 1;
  }

  @onCreate()
  async provision(ctx: HandlerContext<WidgetSpec>) {
    await this.#note(ctx, "provision-start");
    if (ctx.spec.waitForGate) await this.#waitForGate(ctx.signal);
    if (ctx.spec.interfere && this.options.interferer) {
      // Someone else writes status after we read the object: our status write must get a 409.
      const address = { resource: WIDGET, namespace: ctx.namespace, name: ctx.name };
      await this.options.interferer.patchStatus(address, { status: { external: "kept" } });
    }
    await this.#note(ctx, "provision-end");
    ctx.patch.status.phase = "Provisioned";
    ctx.setCondition({ type: "Progressing", status: "False", reason: "Provisioned" });
    ctx.setCondition({ type: "Ready", status: "True", reason: "Provisioned", message: "all handlers done" });
    await ctx.postEvent("Normal", "Provisioned", `provisioned by ${this.options.identity}`);
  }

  @onUpdate("spec.replicas")
  async scaled(ctx: HandlerContext<WidgetSpec>) {
    await this.#note(ctx, "scaled", { old: ctx.old, new: ctx.new });
    ctx.patch.status.replicasSeen = { old: ctx.old, new: ctx.new };
  }

  @onDelete()
  async removed(ctx: HandlerContext<WidgetSpec>) {
    await this.#note(ctx, "delete");
  }

  async #waitForGate(signal: AbortSignal) {
    const gate = this.options.gate;
    if (!gate) throw new Error("spec.waitForGate needs the operator to be given a gate file");
    while (!signal.aborted) {
      try {
        await Deno.stat(gate);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error("stopped while waiting for the gate");
  }
}

/** The journal's entries, in order. */
export async function readJournal(path: string): Promise<JournalEntry[]> {
  try {
    const text = await Deno.readTextFile(path);
    return text.split("\n").filter(Boolean).map((line) => JSON.parse(line));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}
