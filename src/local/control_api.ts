/**
 * The supervisor's control API, on 127.0.0.1 only: what `deno task local status|scale|kill|
 * pause|resume|restart|down` talk to. No token: it never listens beyond loopback.
 */
import { Hono } from "hono";
import type { LocalSupervisor, NodeCommand } from "./supervisor.ts";

const COMMANDS: NodeCommand[] = ["kill", "pause", "resume", "restart"];

export function controlApi(sup: LocalSupervisor, onShutdown: () => void): Hono {
  const app = new Hono();
  app.onError((e, c) => c.json({ error: e.message }, 400));
  app.get("/state", (c) => c.json({ state: sup.state, settled: sup.settled(), pids: sup.pids() }));
  app.post("/desired", async (c) => {
    const { replicas } = await c.req.json() as { replicas?: unknown };
    sup.setDesired(Number(replicas));
    return c.json({ desiredReplicas: sup.state.desiredReplicas });
  });
  app.post("/nodes/:id/:command", async (c) => {
    const command = c.req.param("command") as NodeCommand;
    if (!COMMANDS.includes(command)) {
      return c.json({ error: `unknown command ${command} (${COMMANDS.join(", ")})` }, 400);
    }
    return c.json({ message: await sup.command(Number(c.req.param("id")), command) });
  });
  app.post("/shutdown", (c) => {
    setTimeout(onShutdown, 10);
    return c.json({ message: "shutting down" });
  });
  return app;
}
