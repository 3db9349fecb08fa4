/**
 * Node-only wrappers: files as ByteSources, zlib as the inflater, and read/write helpers for each
 * format. The parsers themselves stay free of Node built-ins so the same code runs in browsers.
 */
import { open, readFile } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { writeFileAtomic } from './atomic.js';
import { FormatError } from './errors.js';
import { parseFasta, type FastaRecord } from './fasta.js';
import { encodeNpz, readNpz, type NpyArray } from './npz.js';
import { readTorchCheckpoint, type TorchCheckpoint, type TorchReadOptions } from './pt.js';
import { encodeSafetensors, readSafetensors, type SafetensorsFile } from './safetensors.js';
import { checkRange, type ByteSource } from './source.js';
import type { HostTensor } from './tensor.js';
import type { Inflater } from './zip.js';

/** A ByteSource over an open file; close it when done (withFileSource does). */
export interface FileSource extends ByteSource {
  close(): Promise<void>;
}

const MAX_READ = 1 << 30; // Node caps one read at 2 GiB

/** Opens a file for random-access reads. A missing or unreadable file is a FormatError naming it. */
export async function openFileSource(path: string): Promise<FileSource> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new FormatError(path, `cannot open (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const size = (await handle.stat()).size;
  return {
    name: path,
    size,
    async read(offset, length) {
      checkRange(path, size, offset, length, 'read');
      // A Buffer of its own (not from Node's shared pool), exposed as a plain Uint8Array so that
      // .slice() copies as readers expect.
      const buf = Buffer.allocUnsafeSlow(length);
      for (let got = 0; got < length; ) {
        const { bytesRead } = await handle.read(buf, got, Math.min(length - got, MAX_READ), offset + got);
        if (bytesRead === 0) throw new FormatError(path, `file ended at ${offset + got} while reading ${length} bytes at ${offset} (changed while reading?)`);
        got += bytesRead;
      }
      return new Uint8Array(buf.buffer, buf.byteOffset, length);
    },
    close: () => handle.close(),
  };
}

/** Runs `fn` with the file open, closing it afterwards. */
export async function withFileSource<T>(path: string, fn: (source: FileSource) => Promise<T>): Promise<T> {
  const source = await openFileSource(path);
  try {
    return await fn(source);
  } finally {
    await source.close();
  }
}

/** zlib's raw inflate, capped at the entry's declared size. */
export const nodeInflate: Inflater = (data, size) => {
  const out = inflateRawSync(data, { maxOutputLength: Math.max(1, size) });
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
};

/** Reads a torch.save checkpoint from disk (see readTorchCheckpoint). */
export function readTorchCheckpointFile(path: string, options: TorchReadOptions = {}): Promise<TorchCheckpoint> {
  return withFileSource(path, (s) => readTorchCheckpoint(s, { inflate: nodeInflate, ...options }));
}

/** Reads a safetensors file from disk. */
export function readSafetensorsFile(path: string, options: { filter?: (name: string) => boolean } = {}): Promise<SafetensorsFile> {
  return withFileSource(path, (s) => readSafetensors(s, options));
}

/** Writes a safetensors file atomically. */
export function writeSafetensorsFile(
  path: string,
  tensors: Iterable<readonly [string, HostTensor]>,
  metadata: Record<string, string> = {},
): Promise<void> {
  return writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Reads an .npz archive from disk. */
export function readNpzFile(path: string): Promise<Map<string, HostTensor>> {
  return withFileSource(path, (s) => readNpz(s, { inflate: nodeInflate }));
}

/** Writes float32 arrays as an .npz archive atomically. */
export function writeNpzFile(path: string, arrays: Iterable<readonly [string, NpyArray]>): Promise<void> {
  return writeFileAtomic(path, encodeNpz(arrays));
}

/** Reads and parses a FASTA file (UTF-8). */
export async function readFastaFile(path: string): Promise<FastaRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new FormatError(path, `cannot open (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseFasta(text, path);
}
