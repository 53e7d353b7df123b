import { syncDir } from "./atomic_write.ts";

/**
 * How much of a large file goes per step when it is removed (removeGradually). With a WAL saving
 * on the same disk while a 100 MB file was removed and the directory fsynced (`deno task bench
 * snapshot-fsync`, 2 runs of 3-4 alternating rounds), the slowest save took 15-30 ms when the file
 * was removed at once, 2.7-6.7 ms when it was cut by 8 MiB at a time (one outlier of 29 ms in 11
 * rounds); the removal took 34-48 ms instead of 27-32. 4 MiB cuts were no better and slower.
 */
export const REMOVE_CHUNK_BYTES = 8 * 1024 * 1024;

/** The suffix of a file being removed gradually (RaftStorage removes leftovers when it opens). */
export const REMOVING_SUFFIX = ".removing";

/**
 * Removes `dir/name` a piece at a time: shortens it by `chunkBytes` with an fdatasync after each
 * cut, then unlinks what is left. Freeing ~100 MB of blocks in one go (an old snapshot file)
 * makes one large journal commit, and on a file system mounted with `discard` (this machine's, and
 * common on cloud disks) the blocks are trimmed in that commit: every fdatasync of the WAL on that
 * disk waits for it. RocksDB deletes large files in chunks for the same reason (DeleteScheduler,
 * bytes_max_delete_chunk). The file is first renamed to `name` + REMOVING_SUFFIX, so that a crash
 * midway leaves no shortened file under its own name.
 */
export async function removeGradually(
  dir: string,
  name: string,
  chunkBytes = REMOVE_CHUNK_BYTES,
): Promise<void> {
  // A file of one chunk or less goes at once (no rename and directory fsync for nothing).
  if ((await Deno.stat(`${dir}/${name}`)).size <= chunkBytes) return await Deno.remove(`${dir}/${name}`);
  const removing = `${dir}/${name}${REMOVING_SUFFIX}`;
  await Deno.rename(`${dir}/${name}`, removing);
  await syncDir(dir);
  {
    using file = await Deno.open(removing, { write: true });
    for (let size = (await file.stat()).size - chunkBytes; size > 0; size -= chunkBytes) {
      await file.truncate(size);
      await file.syncData();
    }
  }
  await Deno.remove(removing);
}
