/**
 * A content hash of a model's weights (Node): what tells whether two score files came from the same
 * model, wherever its files lay (`neurons merge` compares it; a path says nothing about the weights
 * behind it). SHA-256, hex, over the tensors in code-unit order of their canonical names, each as
 * `name NUL shape-joined-by-commas NUL` then its float32 values' bytes (little-endian on every platform
 * Node runs on). Canonical names make it independent of the file form: the same weights read from a
 * Hugging Face folder, an esm-kn folder or a fair-esm .pt hash alike. The classification head's
 * tensors are included (they decide every score); the contact head is not (it enters no score, and a
 * fair-esm .pt's companion may or may not lie beside a copy), nor the tied lm_head.weight, which loaders
 * drop. Streams the bytes: a 650M-parameter model is hashed without a second copy in memory.
 */
import { createHash } from 'node:crypto';
import type { ParamTensor } from './params.js';

/** The weights' SHA-256 (hex) of a backbone's parameters and, when given, a head's. */
export function weightsSha256(params: ReadonlyMap<string, ParamTensor<Float32Array>>, head?: ReadonlyMap<string, ParamTensor<Float32Array>>): string {
  const all = new Map([...params, ...(head ?? [])]);
  const names = [...all.keys()].filter((n) => !n.startsWith('contact_head.') && n !== 'lm_head.weight').sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const h = createHash('sha256');
  for (const name of names) {
    const t = all.get(name)!;
    h.update(`${name}\0${t.shape.join(',')}\0`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}
