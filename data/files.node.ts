/**
 * Node-only file access for the data layer: reading (gzip-aware) data files and reading and writing
 * split files. Parsing, task selection and split logic stay in the pure modules beside this one.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { writeFileAtomic } from '../io/atomic.js';
import { FormatError } from '../io/errors.js';
import { DEFAULT_TASK, parseDataFile, selectTask, type DataFile, type TaskDataset, type TaskName } from './dataset.js';
import { checkSplit, serializeSplit, type DataSplit } from './split.js';

/** The enzyme data committed with the repository, relative to the repository root. */
export const DEFAULT_DATA_FILE = 'experiments/data/enzymes.tsv.gz';

/** Where the committed splits live, relative to the repository root. */
export const SPLIT_DIR = 'experiments/data/splits';

/** The split file of a task and seed: `<dir>/<task>-seed<seed>.json`. */
export function splitPath(task: TaskName, seed: number, dir = SPLIT_DIR): string {
  return join(dir, `${task}-seed${seed}.json`);
}

async function readBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new FormatError(path, `cannot open (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** Reads a TSV or labelled FASTA data file, gunzipping it when it starts with the gzip magic bytes. */
export async function readDataFile(path: string = DEFAULT_DATA_FILE): Promise<DataFile> {
  let bytes: Uint8Array = await readBytes(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      throw new FormatError(path, `damaged gzip data (${(err as Error).message})`);
    }
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FormatError(path, 'not UTF-8 text');
  }
  return parseDataFile(text, path);
}

/** Reads a data file and selects a task's records. */
export async function loadTask(task: TaskName = DEFAULT_TASK, path: string = DEFAULT_DATA_FILE): Promise<TaskDataset> {
  return selectTask(await readDataFile(path), task);
}

/** Writes a split as JSON, atomically: a failed write leaves the old file (or none), never a partial one. */
export async function writeSplitFile(path: string, split: DataSplit): Promise<void> {
  await writeFileAtomic(path, [new TextEncoder().encode(serializeSplit(split))]);
}

/** Reads a split file and checks it against the task's data (see checkSplit). */
export async function readSplitFile(path: string, dataset: TaskDataset): Promise<DataSplit> {
  const text = (await readBytes(path)).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FormatError(path, `not JSON (${(err as Error).message})`);
  }
  return checkSplit(json, dataset, path);
}

