/**
 * Writes the committed splits experiments/data/splits/<task>-seed<seed>.json for every task from
 * experiments/data/enzymes.tsv.gz. Run from the repository root:
 *   node scripts/build.mjs && node dist/experiments/data/make_splits.js [--seed N]
 * The output depends only on the data's content and the seed; test/data_split.test.ts checks that the
 * committed files equal what this writes.
 */
import { mkdir } from 'node:fs/promises';
import { describeLeftOut, selectTask, TASK_NAMES } from '../../data/dataset.js';
import { DEFAULT_DATA_FILE, readDataFile, SPLIT_DIR, splitPath, writeSplitFile } from '../../data/files.node.js';
import { DEFAULT_SPLIT_SEED, describeSplit, makeSplit } from '../../data/split.js';
import { FormatError } from '../../io/errors.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--seed');
  const seed = at >= 0 ? Number(args[at + 1]) : DEFAULT_SPLIT_SEED;
  const data = await readDataFile(DEFAULT_DATA_FILE);
  await mkdir(SPLIT_DIR, { recursive: true });
  for (const task of TASK_NAMES) {
    const dataset = selectTask(data, task);
    const split = makeSplit(dataset, { seed });
    const path = splitPath(task, seed);
    await writeSplitFile(path, split);
    console.log(`${path}: ${dataset.records.length} records; ${describeLeftOut(dataset).join('; ') || 'none left out'}`);
    for (const line of describeSplit(split)) console.log(`  ${line}`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof FormatError ? err.message : err);
  process.exit(1);
});
