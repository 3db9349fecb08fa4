/**
 * A ByteSource over a Blob (a browser File the user picked, or a fetched response's body). Reads slice
 * the Blob, so a large checkpoint is read tensor by tensor, never as one ArrayBuffer. Works in Node too
 * (Node 20 has Blob), which is how it is tested.
 */
import { type ByteSource, checkRange } from './source.js';

/** A ByteSource reading `blob`; `name` labels errors. */
export function blobSource(blob: Blob, name: string): ByteSource {
  return {
    name,
    size: blob.size,
    async read(offset, length) {
      checkRange(name, blob.size, offset, length, 'read');
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}
