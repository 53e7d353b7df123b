import assert from "node:assert/strict";
import { onCreate, onDelete, onResume, onUpdate, resource, timer } from "./decorators.ts";
import { ABSENT, matchesFilters, PRESENT } from "./filters.ts";
import { readRegistry } from "./registry.ts";
import { detectCause, selectHandlers } from "./causes.ts";
import type { HandlerContext } from "./handler_context.ts";
import { essenceOf } from "../structs/diffs.ts";
import type { KubeObject } from "../structs/objects.ts";

const ref = { group: "example.raftkv.dev", version: "v1", plural: "widgets" };

@resource({ ...ref, kind: "Widget" })
class Handlers {
  log: string[] = [];
  @onCreate({ labels: { tier: "gold" } })
  created(ctx: HandlerContext) {
    this.log.push(`created ${ctx.name}`);
  }
  @onUpdate()
  updated() {}
  @onUpdate("spec.replicas")
  scaled() {}
  @onUpdate("spec.replicas", { annotations: { paused: ABSENT } })
  @onUpdate("spec.image")
  rolled() {}
  @onDelete()
  deleted() {}
  @onResume()
  resumed() {}
  @timer(1000, { initialDelayMs: 5 })
  ticked() {}
}

function widget(fields: Partial<KubeObject> & { labels?: Record<string, string> } = {}): KubeObject {
  const { labels, ...rest } = fields;
  return {
    apiVersion: "example.raftkv.dev/v1",
    kind: "Widget",
    metadata: { name: "w", namespace: "default", uid: "u1", resourceVersion: "1", labels },
    spec: { replicas: 1, image: "a" },
    ...rest,
  };
}

Deno.test("decorators register handlers with ids, options and bound methods", async () => {
  const instance = new Handlers();
  const registry = readRegistry(instance);
  assert.deepEqual(registry.resource, { ...ref, kind: "Widget" });
  assert.deepEqual(registry.handlers.map((h) => h.id), [
    "create/created",
    "update/updated",
    "update/scaled/spec.replicas",
    "update/rolled/spec.image",
    "update/rolled/spec.replicas",
    "delete/deleted",
    "resume/resumed",
    "timer/ticked",
  ]);
  const ticked = registry.handlers.find((h) => h.id === "timer/ticked")!;
  assert.deepEqual([ticked.intervalMs, ticked.initialDelayMs], [1000, 5]);
  await registry.handlers[0].call({ name: "w9" } as HandlerContext);
  assert.deepEqual(instance.log, ["created w9"], "the method runs bound to its instance");
});

Deno.test("decorator misuse fails loudly at class definition or registration", () => {
  class NoResource {
    @onCreate()
    created() {}
  }
  assert.throws(() => readRegistry(new NoResource()), /has no @resource decorator/);
  assert.throws(() => {
    class Twice {
      @onUpdate("spec.x")
      @onUpdate("spec.x")
      m() {}
    }
    return Twice;
  }, /declared twice/);
  assert.throws(() => {
    class Static {
      @onCreate()
      static m() {}
    }
    return Static;
  }, /public instance methods/);
  assert.throws(() => timer(0), /positive number/);
  assert.throws(() => resource({ ...ref, plural: "" }), /"plural" is required/);
});

Deno.test("a subclass inherits and overrides its parent's handlers", () => {
  @resource(ref)
  class Base {
    @onCreate()
    created() {
      return "base";
    }
  }
  class Child extends Base {
    @onDelete()
    deleted() {}
    override created() {
      return "child";
    }
  }
  const registry = readRegistry(new Child());
  assert.deepEqual(registry.handlers.map((h) => h.id), ["create/created", "delete/deleted"]);
  assert.equal(registry.handlers[0].call({} as HandlerContext), "child");
});

Deno.test("filters: values, PRESENT, ABSENT, predicates and `when`, all of them must match", () => {
  const body = widget({ labels: { tier: "gold", zone: "a" } });
  body.metadata.annotations = { paused: "yes" };
  assert.ok(matchesFilters({}, body));
  assert.ok(matchesFilters({ labels: { tier: "gold" } }, body));
  assert.ok(!matchesFilters({ labels: { tier: "silver" } }, body));
  assert.ok(matchesFilters({ labels: { zone: PRESENT, missing: ABSENT } }, body));
  assert.ok(!matchesFilters({ labels: { missing: PRESENT } }, body));
  assert.ok(!matchesFilters({ annotations: { paused: ABSENT } }, body));
  assert.ok(matchesFilters({ labels: { zone: (v) => v === "a" || v === "b" } }, body));
  assert.ok(
    !matchesFilters({ labels: { tier: "gold" }, when: (b) => (b.spec?.replicas as number) > 3 }, body),
  );
  assert.ok(matchesFilters({ when: (b) => b.spec?.image === "a" }, body));
});

Deno.test("causes: finalizer first, then create, update with per-field selection, resume, delete", () => {
  const { handlers } = readRegistry(new Handlers());
  const finalizer = "test/finalizer";
  const cause = (body: KubeObject, lastHandled?: Record<string, unknown>, resumed = true) =>
    detectCause({ body, handlers, finalizer, lastHandled, resumed });

  const fresh = widget({ labels: { tier: "gold" } });
  assert.deepEqual(cause(fresh), { kind: "finalizer", add: true });
  fresh.metadata.finalizers = [finalizer];
  const created = cause(fresh);
  assert.equal(created.kind, "create");
  assert.deepEqual(selectHandlers(created, handlers, fresh).map((s) => s.handler.id), ["create/created"]);
  const silver = { ...fresh, metadata: { ...fresh.metadata, labels: { tier: "silver" } } };
  assert.deepEqual(selectHandlers(cause(silver), handlers, silver), [], "filters apply to selection");

  const handled = essenceOf(fresh);
  assert.deepEqual(cause(fresh, handled), { kind: "none" });
  const statusOnly = { ...fresh, status: { phase: "Ready" } };
  assert.deepEqual(cause(statusOnly, handled), { kind: "none" }, "status is not part of the essence");

  const scaled = { ...fresh, spec: { replicas: 3, image: "a" } };
  const update = cause(scaled, handled);
  assert.equal(update.kind, "update");
  const selected = selectHandlers(update, handlers, scaled);
  assert.deepEqual(selected.map((s) => [s.handler.id, s.old, s.new]), [
    ["update/updated", handled, essenceOf(scaled)],
    ["update/scaled/spec.replicas", 1, 3],
    ["update/rolled/spec.replicas", 1, 3],
  ]);
  assert.deepEqual(selected[1].diff, [{ op: "change", path: ["spec", "replicas"], old: 1, new: 3 }]);

  const firstSight = cause(scaled, handled, false);
  assert.equal(firstSight.kind, "update");
  assert.ok(selectHandlers(firstSight, handlers, scaled).some((s) => s.reason === "resume"));
  assert.equal(cause(fresh, handled, false).kind, "resume");

  const deleting = { ...fresh, metadata: { ...fresh.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" } };
  assert.equal(cause(deleting, handled).kind, "delete");
  const released = { ...deleting, metadata: { ...deleting.metadata, finalizers: [] } };
  assert.equal(cause(released, handled).kind, "none", "without our finalizer a deletion is not ours");
});
