/**
 * The program behind the `localkube/echo` test image: a small HTTP server that lets a test look
 * at a pod from the inside.
 *   GET  /healthz                 200 "ok", or 500 after POST /sick
 *   POST /sick                    makes /healthz fail from now on (to trip a liveness probe)
 *   GET  /whoami                  JSON: pid, hostname, pod IP, args, env of interest
 *   GET  /resolve?name=N          JSON: N's A records through the cluster DNS (LOCALKUBE_DNS)
 *   GET  /file?path=P             the file's text (404 if missing)
 *   PUT  /file?path=P             writes the body to the file (parent folders created)
 * Flags: --port <n> (default 8080), --data-dir <dir> (echoed in /whoami, to test path rewriting).
 * It listens on LOCALKUBE_POD_IP (its pod's own loopback address).
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: { port: { type: "string", default: "8080" }, "data-dir": { type: "string", default: "" } },
});
const hostname = Deno.env.get("LOCALKUBE_POD_IP") ?? "127.0.0.1";
let sick = false;

async function resolve(name: string): Promise<Response> {
  const dns = Deno.env.get("LOCALKUBE_DNS");
  if (!dns) return Response.json({ error: "LOCALKUBE_DNS is not set" }, { status: 500 });
  const [ipAddr, port] = dns.split(":");
  try {
    const addresses = await Deno.resolveDns(name, "A", { nameServer: { ipAddr, port: Number(port) } });
    return Response.json({ name, addresses });
  } catch (e) {
    return Response.json({ name, error: (e as Error).message }, { status: 404 });
  }
}

Deno.serve({
  hostname,
  port: Number(values.port),
  onListen: () => console.log(`echo listening on ${hostname}:${values.port}`),
}, async (request) => {
  const url = new URL(request.url);
  const path = url.searchParams.get("path") ?? "";
  switch (`${request.method} ${url.pathname}`) {
    case "GET /healthz":
      return sick ? new Response("sick", { status: 500 }) : new Response("ok");
    case "POST /sick":
      sick = true;
      return new Response("sick from now on");
    case "GET /whoami":
      return Response.json({
        pid: Deno.pid,
        hostname: Deno.env.get("HOSTNAME"),
        podIp: hostname,
        dataDir: values["data-dir"],
        args: Deno.args,
        env: Object.fromEntries(
          Object.entries(Deno.env.toObject()).filter(([k]) =>
            k.startsWith("POD_") || k.startsWith("LOCALKUBE_") || k === "KUBECONFIG"
          ),
        ),
      });
    case "GET /resolve":
      return await resolve(url.searchParams.get("name") ?? "");
    case "GET /file":
      try {
        return new Response(await Deno.readTextFile(path));
      } catch {
        return new Response(`no file ${path}`, { status: 404 });
      }
    case "PUT /file":
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")) || "/", { recursive: true });
      await Deno.writeTextFile(path, await request.text());
      return new Response("written");
  }
  return new Response("not found", { status: 404 });
});
