import { StorageLockedError } from "./errors.ts";

export const LOCK_FILE = "LOCK";

/**
 * Hold an exclusive advisory lock on `dir`'s LOCK file for as long as the storage is open, so
 * that two processes never write the same WAL. The OS drops the lock if the process dies.
 */
export async function lockDir(dir: string): Promise<Deno.FsFile> {
  const file = await Deno.open(`${dir}/${LOCK_FILE}`, { create: true, write: true });
  if (!(await file.tryLock(true))) {
    file.close();
    throw new StorageLockedError(dir);
  }
  return file;
}
