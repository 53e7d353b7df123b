/** A throwaway CA and a server certificate for 127.0.0.1, made with the system's `openssl`. */
export interface TestCertificate {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/**
 * Writes the certificate files under `dir` and returns their contents, or returns the reason it
 * cannot (openssl missing), so the caller can skip its test loudly instead of silently.
 */
export async function makeTestCertificate(dir: string): Promise<TestCertificate | string> {
  const run = async (...args: string[]) => {
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" }).output();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return "openssl is not installed (apt-get install openssl)";
      throw e;
    }
    if (!out.success) {
      throw new Error(`openssl ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    return undefined;
  };
  const steps = [
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2"]
      .concat(["-subj", "/CN=framework-test-ca"]),
    [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=127.0.0.1",
    ],
  ];
  for (const step of steps) {
    const missing = await run(...step);
    if (missing) return missing;
  }
  await Deno.writeTextFile(`${dir}/ext.cnf`, "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");
  await run(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.crt",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  );
  return {
    caPem: await Deno.readTextFile(`${dir}/ca.crt`),
    certPem: await Deno.readTextFile(`${dir}/server.crt`),
    keyPem: await Deno.readTextFile(`${dir}/server.key`),
  };
}
