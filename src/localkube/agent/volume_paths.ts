/**
 * Containers run as plain host processes with no mount namespace, so a volume cannot appear at its
 * `mountPath`. Instead every container arg and env value that names a path inside a mount is
 * rewritten to the host folder that backs the volume:
 *   - the whole value equals the mountPath or starts with `<mountPath>/`, or
 *   - it has the form `<anything>=<path>` (a `--flag=/data/x` arg) and the part after the first `=` does.
 * The longest matching mountPath wins. Paths elsewhere in a value (`a:/data`) are left alone.
 */

export interface MountedFolder {
  mountPath: string;
  /** The host folder that backs the volume (already including any `subPath`). */
  hostPath: string;
}

export function rewriteMountedPaths(value: string, mounts: readonly MountedFolder[]): string {
  const whole = rewritePath(value, mounts);
  if (whole !== undefined) return whole;
  const eq = value.indexOf("=");
  if (eq === -1) return value;
  const afterEq = rewritePath(value.slice(eq + 1), mounts);
  return afterEq === undefined ? value : value.slice(0, eq + 1) + afterEq;
}

function rewritePath(path: string, mounts: readonly MountedFolder[]): string | undefined {
  let best: MountedFolder | undefined;
  for (const mount of mounts) {
    const root = mount.mountPath.replace(/\/+$/, "") || "/";
    const inside = path === root || path.startsWith(root === "/" ? "/" : root + "/");
    if (inside && (!best || root.length > best.mountPath.replace(/\/+$/, "").length)) best = mount;
  }
  if (!best) return undefined;
  const root = best.mountPath.replace(/\/+$/, "");
  return best.hostPath.replace(/\/+$/, "") + path.slice(root.length);
}
