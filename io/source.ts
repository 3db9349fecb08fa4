/**
 * Random-access byte sources. Readers take a ByteSource instead of one big buffer so a multi-gigabyte
 * checkpoint is read tensor by tensor. Reads are async because browsers read a File only asynchronously.
 */
import { FormatError } from './errors.js';

/** A read-only, random-access sequence of bytes: a file on disk, a browser File, or memory. */
export interface ByteSource {
  /** The file name (or a label) used in error messages. */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Resolves to exactly `length` bytes starting at `offset`. Rejects with a FormatError naming the
   * source when the range runs past the end. The result may share memory with the source: don't write to it.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Throws a FormatError unless [offset, offset + length) lies inside a source of `size` bytes. */
export function checkRange(name: string, size: number, offset: number, length: number, what: string): void {
  if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0)) {
    throw new FormatError(name, `${what}: invalid range at ${offset} of ${length} bytes`);
  }
  if (offset + length > size) {
    throw new FormatError(name, `${what}: bytes [${offset}, ${offset + length}) exceed file size ${size} (truncated?)`);
  }
}

/** A ByteSource over bytes already in memory; reads are zero-copy views. */
export function memorySource(bytes: Uint8Array, name = '<memory>'): ByteSource {
  return {
    name,
    size: bytes.length,
    async read(offset, length) {
      checkRange(name, bytes.length, offset, length, 'read');
      return bytes.subarray(offset, offset + length);
    },
  };
}
