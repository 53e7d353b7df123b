import assert from "node:assert/strict";
import { rewriteMountedPaths } from "./volume_paths.ts";
import { expandVars } from "./env_expansion.ts";

Deno.test("volume path rewriting", async (t) => {
  const mounts = [
    { mountPath: "/data", hostPath: "/state/volumes/pvc-1" },
    { mountPath: "/data/cache/", hostPath: "/state/pods/p/volumes/cache" },
    { mountPath: "/etc/conf", hostPath: "/state/pods/p/volumes/conf" },
  ];
  await t.step("a value equal to or inside a mountPath moves to the host folder", () => {
    assert.equal(rewriteMountedPaths("/data", mounts), "/state/volumes/pvc-1");
    assert.equal(rewriteMountedPaths("/data/wal/0001", mounts), "/state/volumes/pvc-1/wal/0001");
    assert.equal(rewriteMountedPaths("/etc/conf/app.json", mounts), "/state/pods/p/volumes/conf/app.json");
  });
  await t.step("the longest mountPath wins", () => {
    assert.equal(rewriteMountedPaths("/data/cache/x", mounts), "/state/pods/p/volumes/cache/x");
  });
  await t.step("--flag=<path> is rewritten after the first =", () => {
    assert.equal(
      rewriteMountedPaths("--data-dir=/data/raft", mounts),
      "--data-dir=/state/volumes/pvc-1/raft",
    );
  });
  await t.step("lookalike prefixes and paths inside longer values are left alone", () => {
    assert.equal(rewriteMountedPaths("/database", mounts), "/database");
    assert.equal(rewriteMountedPaths("a:/data", mounts), "a:/data");
    assert.equal(rewriteMountedPaths("8080", mounts), "8080");
  });
});

Deno.test("$(VAR) expansion follows the kubelet's rules", () => {
  const env: Record<string, string> = { POD_IP: "127.100.0.4", NAME: "web-0" };
  const lookup = (name: string) => env[name];
  assert.equal(expandVars("--listen=$(POD_IP):8080", lookup), "--listen=127.100.0.4:8080");
  assert.equal(expandVars("$(NAME).$(NAME)", lookup), "web-0.web-0");
  assert.equal(expandVars("$(MISSING)", lookup), "$(MISSING)");
  assert.equal(expandVars("$$(NAME)", lookup), "$(NAME)");
  assert.equal(expandVars("cost $5 $", lookup), "cost $5 $");
  assert.equal(expandVars("$(UNCLOSED", lookup), "$(UNCLOSED");
});
