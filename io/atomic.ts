/**
 * Atomic file writes (Node only): the data goes to a temporary file in the destination's directory,
 * is fsynced, and is renamed over the destination. A crash or error leaves either the old file or the
 * new one, never a half-written one, and the temporary file is removed on error.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FormatError } from './errors.js';

// Node refuses single writes past 2 GiB; larger chunks go down in pieces.
const MAX_WRITE = 1 << 30;

/** Writes the chunks to `path` atomically; the chunks may be produced lazily. */
export async function writeFileAtomic(path: string, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  // An unwritable destination is named as the user gave it, not by the temporary file's name.
  const handle = await open(tmp, 'wx').catch((e: NodeJS.ErrnoException) => {
    throw new FormatError(path, `cannot be written (${e.code ?? e.message}${e.code === 'ENOENT' ? `: no folder ${dir}` : ''})`);
  });
  let closed = false;
  let renamed = false;
  try {
    for await (const chunk of chunks) {
      for (let off = 0; off < chunk.length; ) {
        const { bytesWritten } = await handle.write(chunk, off, Math.min(chunk.length - off, MAX_WRITE));
        off += bytesWritten;
      }
    }
    await handle.sync();
    closed = true;
    await handle.close();
    await rename(tmp, path);
    renamed = true;
  } finally {
    if (!closed) await handle.close().catch(() => undefined);
    if (!renamed) await unlink(tmp).catch(() => undefined);
  }
  // Make the rename itself durable; some platforms cannot fsync a directory, which costs only durability.
  const d = await open(dir, 'r').catch(() => null);
  if (d) {
    await d.sync().catch(() => undefined);
    await d.close();
  }
}
