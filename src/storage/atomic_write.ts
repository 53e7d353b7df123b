/** fsync a directory, which makes the creation, rename or removal of its entries durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

/**
 * Replace `path` with `bytes` so that a crash leaves either the old file or the whole new one:
 * write a temp file, fsync it, rename it over `path`, fsync the directory.
 */
export function atomicWriteFile(
  dir: string,
  name: string,
  bytes: Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  return atomicWriteFilePieces(dir, name, [bytes], options);
}

/** Largest single write: each is an async operation, so the event loop runs between them. */
const WRITE_PIECE_BYTES = 4 * 1024 * 1024;

/**
 * atomicWriteFile of the concatenation of `pieces`, without concatenating them in memory. `mode`
 * (e.g. 0o600 for a file holding secrets) is set before any byte is written.
 */
export async function atomicWriteFilePieces(
  dir: string,
  name: string,
  pieces: Uint8Array[],
  options: { mode?: number } = {},
): Promise<void> {
  const path = `${dir}/${name}`;
  const tmp = `${path}.tmp`;
  const file = await Deno.open(tmp, { create: true, write: true, truncate: true, mode: options.mode });
  try {
    if (options.mode !== undefined) await Deno.chmod(tmp, options.mode); // a leftover tmp keeps its old mode
    for (const piece of pieces) {
      for (let at = 0; at < piece.length; at += WRITE_PIECE_BYTES) {
        await writeAll(file, piece.subarray(at, at + WRITE_PIECE_BYTES));
      }
    }
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(tmp, path);
  await syncDir(dir);
}
