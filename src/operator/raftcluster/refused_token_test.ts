import assert from "node:assert/strict";
import { KvError } from "../../client/mod.ts";
import { refusedTokenRecovery } from "./refused_token.ts";
import type { Operation } from "./operations.ts";

const ref = { namespace: "ns", name: "demo", uid: "u" };
const setIdentity: Operation = {
  kind: "setIdentity",
  pod: "demo-0",
  url: "http://10.0.0.6:8080",
  identity: { id: 1, clusterId: "ns.demo.u", bootstrap: true },
};
const refused = new KvError("unauthorized", 401, "POST /admin/identity: the admin token was refused");

Deno.test("a pod without identity that refuses the admin token is deleted, saying why", () => {
  const r = refusedTokenRecovery(ref, setIdentity, refused)!;
  assert.equal(r.deletePod, "demo-0");
  assert.match(
    r.message,
    /^pod demo-0 refuses this cluster's admin token: .* Secret demo-tokens .* deleted to start again/,
  );
});

Deno.test("nothing else deletes a pod: other errors, other operations", () => {
  assert.equal(refusedTokenRecovery(ref, setIdentity, new KvError("unavailable", 0, "no answer")), undefined);
  assert.equal(
    refusedTokenRecovery(ref, setIdentity, new KvError("identity_taken", 409, "taken")),
    undefined,
  );
  assert.equal(refusedTokenRecovery(ref, setIdentity, new Error("401")), undefined);
  const addLearner: Operation = {
    kind: "addLearner",
    leaderUrl: "http://10.0.0.5:8080",
    learner: { id: 2, peer: "p:7000", client: "http://c:8080" },
  };
  assert.equal(
    refusedTokenRecovery(ref, addLearner, refused),
    undefined,
    "a member refusing the token keeps its data",
  );
});
