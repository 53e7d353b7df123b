/**
 * The pod sandbox image, built here from the pause program (no registry is reachable for
 * registry.k8s.io/pause): FROM scratch, one static binary, run as nobody.
 */
import type { ContainerEngine } from "../../images/engine.ts";

export const PAUSE_IMAGE = "localhost/localkube/pause:1";

export async function buildPauseImage(engine: ContainerEngine, pauseBinary: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "localkube-pause-" });
  try {
    await Deno.copyFile(pauseBinary, `${dir}/pause`);
    await Deno.chmod(`${dir}/pause`, 0o755);
    await Deno.writeTextFile(
      `${dir}/Dockerfile`,
      'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n',
    );
    await engine.build({
      dockerfile: `${dir}/Dockerfile`,
      contextDir: dir,
      tag: PAUSE_IMAGE,
      onLine: () => {},
    });
    return PAUSE_IMAGE;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
