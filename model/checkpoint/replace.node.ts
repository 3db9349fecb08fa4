/**
 * Replacing an earlier export in a folder (Node; `esm-kn export --force`). Writing one form over
 * another would leave the other form's files behind (an hf config.json beside a fresh fair-esm .pt,
 * say), and the folder would still load as the old form. So the new export is written completely into
 * a staging folder inside the destination first (an export that fails leaves the destination as it
 * was), then the files of any earlier export (isExportFileName: known names only, never the user's
 * other files) are removed, and the new files are renamed in, the one a loader detects the form by
 * last. Each rename is atomic; the whole swap is a few metadata operations, not one atomic step.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FormatError } from '../../io/errors.js';
import { type ExportFormat, type ExportSource, isExportFileName } from './export.js';
import { exportCheckpoint } from './node.js';

/** Name prefix of the staging folder; one left by a killed process can be deleted. */
export const EXPORT_STAGING_PREFIX = '.esm-kn-export-';

/**
 * Writes `ckpt` as `format` into `dir` (created if needed) as exportCheckpoint does, replacing the files
 * of any earlier export there and keeping every other file. Returns the paths written, as exportCheckpoint.
 */
export async function exportReplacing(ckpt: ExportSource, format: ExportFormat, dir: string, label: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const staging = mkdtempSync(join(dir, EXPORT_STAGING_PREFIX));
  try {
    const staged = await exportCheckpoint(ckpt, format, staging, label);
    // exportCheckpoint lists a fair-esm export's .pt (the file a loader detects the form by) first.
    const names = (format === 'fair-esm' ? [...staged.slice(1), staged[0]!] : staged).map((p) => basename(p));
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (!isExportFileName(name) || names.includes(name) || lstatSync(path).isDirectory()) continue;
      try {
        unlinkSync(path);
      } catch (e) {
        throw new FormatError(path, `cannot remove this earlier export's file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    }
    for (const name of names) {
      try {
        renameSync(join(staging, name), join(dir, name));
      } catch (e) {
        throw new FormatError(join(dir, name), `cannot be replaced (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    }
    return staged.map((p) => join(dir, basename(p)));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
