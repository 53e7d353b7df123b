import assert from "node:assert/strict";
import { resolveSpec, SpecError } from "./spec.ts";
import { raftClusterCrd } from "./crd.ts";

const base = { replicas: 3 };

Deno.test("spec.tls and spec.auth resolve: operator CA by default, cert-manager issuer when named", () => {
  assert.equal(resolveSpec(base).tls, undefined);
  assert.equal(resolveSpec(base).auth, false);
  assert.equal(resolveSpec({ ...base, tls: { enabled: false } }).tls, undefined);
  assert.deepEqual(resolveSpec({ ...base, tls: { enabled: true } }).tls, { rotate: 0 });
  assert.deepEqual(resolveSpec({ ...base, tls: { enabled: true, rotate: 2 } }).tls, { rotate: 2 });
  assert.deepEqual(
    resolveSpec({ ...base, tls: { enabled: true, issuerRef: { name: "my-ca", kind: "ClusterIssuer" } } }).tls,
    { rotate: 0, issuerRef: { name: "my-ca", kind: "ClusterIssuer", group: "cert-manager.io" } },
  );
  assert.equal(resolveSpec({ ...base, tls: { enabled: true }, auth: { enabled: true } }).auth, true);
});

Deno.test("bad spec.tls / spec.auth input is refused with a message naming the field and the fix", () => {
  const refused = (spec: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(
      () => resolveSpec({ ...base, ...spec }),
      (e: Error) => e instanceof SpecError && pattern.test(e.message),
    );
  refused({ tls: true }, /spec\.tls must be an object such as \{enabled: true\}/);
  refused({ tls: { enabled: "yes" } }, /spec\.tls\.enabled must be true or false, got "yes"/);
  refused({ tls: { enabled: true, rotate: -1 } }, /spec\.tls\.rotate must be a whole number >= 0/);
  refused({ tls: { enabled: true, rotate: 1.5 } }, /spec\.tls\.rotate must be a whole number/);
  refused(
    { tls: { enabled: true, issuer: "x" } },
    /spec\.tls\.issuer is not a field: spec\.tls takes enabled, issuerRef and rotate/,
  );
  refused(
    { tls: { enabled: true, issuerRef: "my-ca" } },
    /spec\.tls\.issuerRef must name a cert-manager issuer/,
  );
  refused(
    { tls: { enabled: true, issuerRef: { name: "My CA" } } },
    /spec\.tls\.issuerRef must name a cert-manager issuer/,
  );
  refused(
    { tls: { enabled: true, issuerRef: { name: "ca", kind: "Vault" } } },
    /spec\.tls\.issuerRef\.kind must be Issuer or ClusterIssuer, got "Vault"/,
  );
  refused(
    { tls: { enabled: true, issuerRef: { name: "ca" }, rotate: 1 } },
    /with spec\.tls\.issuerRef the issuer owns the CA/,
  );
  refused({ tls: { enabled: false, rotate: 1 } }, /need spec\.tls\.enabled: true/);
  refused(
    { auth: { enabled: true } },
    /spec\.auth needs spec\.tls\.enabled: true: without TLS the tokens would travel in clear text/,
  );
  refused({ auth: true }, /spec\.auth must be an object such as \{enabled: true\}/);
  refused(
    { tls: { enabled: true }, auth: { enabled: 1 } },
    /spec\.auth\.enabled must be true or false, got 1/,
  );
  refused({ tls: { enabled: true }, auth: { users: [] } }, /spec\.auth\.users is not a field/);
});

Deno.test("the CRD declares spec.tls and spec.auth, keeps tls.enabled fixed and rotate growing", () => {
  // deno-lint-ignore no-explicit-any
  const crd = raftClusterCrd() as any;
  const schema = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec as {
    properties: Record<string, { properties: Record<string, unknown> }>;
    "x-kubernetes-validations": { rule: string; message: string }[];
  };
  assert.deepEqual(Object.keys(schema.properties.tls.properties).sort(), ["enabled", "issuerRef", "rotate"]);
  assert.deepEqual(Object.keys(schema.properties.auth.properties), ["enabled"]);
  const messages = schema["x-kubernetes-validations"].map((r) => r.message);
  assert.ok(messages.some((m) => /spec\.tls\.enabled cannot change after creation/.test(m)));
  assert.ok(messages.some((m) => /spec\.tls\.rotate only grows/.test(m)));
});
