/**
 * Turning what the page has into a checkpoint's files (model/checkpoint/load.ts): the files a user
 * picked (several files, or a folder whose entries carry webkitRelativePath), or the embedded default
 * model fetched from the static site. Blobs only, so it runs in Node tests as well.
 */
import type { CheckpointFiles } from '../model/checkpoint/load.js';
import { blobSource } from '../io/blob_source.js';
import { FormatError } from '../io/errors.js';

/** A picked file: its Blob and the path it had inside a picked folder ('' when picked alone). */
export interface PickedFile {
  readonly blob: Blob;
  readonly name: string;
  readonly relativePath: string;
}

/** CheckpointFiles over named Blobs (relative path -> Blob); errors name files as `prefix` + path. */
export function blobCheckpointFiles(name: string, isFolder: boolean, blobs: ReadonlyMap<string, Blob>, prefix = isFolder ? `${name}/` : ''): CheckpointFiles {
  const paths = [...blobs.keys()];
  const label = (p: string) => `${prefix}${p}`;
  return {
    name,
    isFolder,
    paths,
    label,
    async withFile(p, fn) {
      const blob = blobs.get(p);
      if (!blob) throw new FormatError(label(p), 'missing');
      return fn(blobSource(blob, label(p)));
    },
  };
}

/**
 * The checkpoint a user picked. From a folder picker every entry's relativePath starts with the
 * folder's name, which is dropped (files in subfolders are ignored); from a file picker, a .pt comes
 * first so that a fair-esm checkpoint picked with its contact companion loads as one model.
 */
export function pickedCheckpointFiles(picked: readonly PickedFile[]): CheckpointFiles {
  if (picked.length === 0) throw new FormatError('model', 'no files picked');
  const blobs = new Map<string, Blob>();
  const folder = picked.every((f) => f.relativePath.includes('/'));
  if (folder) {
    const top = picked[0]!.relativePath.split('/')[0]!;
    for (const f of picked) {
      const parts = f.relativePath.split('/');
      if (parts.length === 2) blobs.set(parts[1]!, f.blob);
    }
    return blobCheckpointFiles(top, true, blobs);
  }
  const sorted = [...picked].sort((a, b) => rank(a.name) - rank(b.name));
  for (const f of sorted) blobs.set(f.name, f.blob);
  const several = picked.length > 1;
  const pt = sorted[0]!.name.endsWith('.pt');
  // A .pt with its companion is named by the .pt; loose folder files by the list of names.
  const name = pt || !several ? sorted[0]!.name : picked.map((f) => f.name).join(', ');
  return blobCheckpointFiles(name, several && !pt, blobs, '');
}

/** Main .pt first, its companion after, everything else last. */
function rank(name: string): number {
  if (name.endsWith('-contact-regression.pt')) return 1;
  return name.endsWith('.pt') ? 0 : 2;
}

/** The embedded default model's files under the site root. */
export const DEFAULT_MODEL_FILES = ['esm-kn.json', 'model.safetensors'];

/** Fetches a model folder served with the page (e.g. 'models/default') as CheckpointFiles. */
export async function fetchCheckpointFiles(base: string, files: readonly string[] = DEFAULT_MODEL_FILES): Promise<CheckpointFiles> {
  const blobs = new Map<string, Blob>();
  for (const f of files) {
    const url = `${base}/${f}`;
    let res: Response;
    try {
      res = await fetch(url);
    } catch (e) {
      throw new FormatError(url, `cannot fetch (${(e as Error).message})`);
    }
    if (!res.ok) throw new FormatError(url, `cannot fetch (HTTP ${res.status})`);
    blobs.set(f, await res.blob());
  }
  return blobCheckpointFiles(base, true, blobs);
}
