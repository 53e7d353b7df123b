/**
 * Leader snapshots being received, staged in files instead of memory: the transport writes each
 * chunk here as it arrives (PeerTransportOptions.stageSnapshot) and delivers the snap message
 * with empty data; the driver then decodes the image from its file a piece at a time and the
 * store copies it into its snapshot file (FileNodeStore.saveStagedSnapshot). So a follower that
 * needs a large snapshot holds one chunk of it in memory, not the image, the way TiKV receives a
 * region snapshot into files before applying it.
 *
 *   <dataDir>/snapshot-incoming/<term>-<index>.<n>.part being received (removed if the stream breaks)
 *   <dataDir>/snapshot-incoming/<term>-<index>.image   complete, CRC checked by the transport
 *
 * Staged images are not durable state: the directory is emptied when the node starts, and an
 * image is removed once a snapshot at its index or later is installed.
 */
import type { SnapshotMeta } from "../raft/mod.ts";
import type { SnapshotStage } from "../transport/snapshot_stream.ts";

export interface StagedImage {
  path: string;
  size: number;
  index: number;
}

export class IncomingSnapshots {
  private readonly staged = new Map<string, StagedImage>();
  private streams = 0;

  constructor(readonly dir: string) {}

  /** Removes whatever an earlier run left (a crash mid-receive, an image never installed). */
  async reset(): Promise<void> {
    await Deno.remove(this.dir, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    this.staged.clear();
  }

  /** A file for the image of `meta`, written chunk by chunk. */
  async stage(meta: SnapshotMeta, size: number): Promise<SnapshotStage> {
    await Deno.mkdir(this.dir, { recursive: true });
    const name = `${meta.term}-${meta.index}`;
    // Its own part file: a resent stream of the same snapshot may start before the broken one
    // it replaces has cleaned up after itself.
    const part = `${this.dir}/${name}.${++this.streams}.part`;
    const file = await Deno.open(part, { write: true, create: true, truncate: true });
    let closed = false;
    const close = () => {
      if (!closed) file.close();
      closed = true;
    };
    return {
      write: async (bytes) => {
        for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
      },
      finish: async () => {
        close();
        const path = `${this.dir}/${name}.image`;
        await Deno.rename(part, path);
        this.staged.set(name, { path, size, index: meta.index });
      },
      abort: async () => {
        close();
        await Deno.remove(part).catch(() => {});
      },
    };
  }

  /** The staged image of `meta`, if it was received whole. */
  image(meta: SnapshotMeta): StagedImage | undefined {
    return this.staged.get(`${meta.term}-${meta.index}`);
  }

  /** Removes the staged images a snapshot at `index` makes useless (its own included). */
  async discardUpTo(index: number): Promise<void> {
    for (const [name, image] of [...this.staged]) {
      if (image.index > index) continue;
      this.staged.delete(name);
      await Deno.remove(image.path).catch(() => {});
    }
  }
}
