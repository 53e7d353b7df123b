import assert from "node:assert/strict";
import { ContainerEngine } from "./engine.ts";

Deno.test("image names are qualified the way containerd, kind and minikube read them", () => {
  const engine = new ContainerEngine("podman");
  assert.equal(engine.qualified("raft-kv:latest"), "docker.io/library/raft-kv:latest");
  assert.equal(engine.qualified("denoland/deno:2.9.6"), "docker.io/denoland/deno:2.9.6");
  assert.equal(engine.qualified("localhost/localkube/pause:1"), "localhost/localkube/pause:1");
  assert.equal(engine.qualified("registry.local:5000/raft-kv:v1"), "registry.local:5000/raft-kv:v1");
});

Deno.test("deno task images refuses bad options before building anything", async () => {
  const main = new URL("./main.ts", import.meta.url).pathname;
  for (
    const [args, message] of [
      [["--engine", "rkt"], /--engine must be docker or podman/],
      [["--only", "etcd"], /--only etcd: the images are raft-kv and raft-operator/],
      [["--load", "ftp:somewhere"], /--load ftp:somewhere: expected/],
      [
        ["--extra-ca", "/nonexistent/ca.pem", "--load", "none"],
        /--extra-ca \/nonexistent\/ca.pem: no such file/,
      ],
    ] as const
  ) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 2, `exit code for ${args.join(" ")}`);
    assert.match(new TextDecoder().decode(out.stderr), message);
  }
});
