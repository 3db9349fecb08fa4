/**
 * What every knowledge-neuron command starts from (Node): a fine-tuned classifier on the GPU, its
 * task's records and the split fine-tuning used (the committed split for the repo's data), checked
 * against each other before any GPU work beyond loading.
 */
import { TASK_NAMES, type TaskName, selectTask, taskSpec } from '../data/dataset.js';
import { readDataFile } from '../data/files.node.js';
import { FormatError } from '../io/errors.js';
import { type SplitData, defaultDataFile, splitDataset } from '../train/data.js';
import { type Classifier, disposeClassifier } from '../model/classifier.js';
import { classifierTask, loadClassifier } from '../train/evaluate.js';

/** A loaded classifier with its task's split data. */
export interface StudySetup {
  readonly clf: Classifier;
  readonly task: TaskName;
  readonly classNames: readonly string[];
  readonly split: SplitData;
  /** Where the split came from: the committed file or the computed split's seed. */
  readonly splitSource: string;
  /** Model as the user named it ('default' or a path). */
  readonly modelName: string;
}

/**
 * Loads `modelArg` and the task's split of `dataArg` ('default': the repo's enzyme file). The task
 * defaults to the model's own, the split seed to the model's fine-tuning seed (else 0).
 */
export async function loadStudySetup(modelArg: string, dataArg: string, taskArg?: string, splitSeedArg?: number): Promise<StudySetup> {
  if (taskArg !== undefined && !(TASK_NAMES as readonly string[]).includes(taskArg)) throw new Error(`unknown task '${taskArg}' (tasks: ${TASK_NAMES.join(', ')})`);
  // Bad data is reported before the model is loaded onto the GPU.
  const data = await readDataFile(dataArg === 'default' ? defaultDataFile() : dataArg);
  const clf = await loadClassifier(modelArg);
  try {
    const task = (taskArg as TaskName | undefined) ?? classifierTask(clf) ?? 'ec';
    const names = taskSpec(task).classNames;
    if (names.join('\n') !== clf.labels.join('\n')) {
      throw new FormatError(modelArg, `its head predicts ${clf.labels.length} classes (${clf.labels.join(', ')}), task ${task} has ${names.length}; pass the model's --task`);
    }
    const provenance = clf.checkpoint.meta.provenance as { seeds?: { split_seed?: number } } | undefined;
    const split = await splitDataset(selectTask(data, task), splitSeedArg ?? provenance?.seeds?.split_seed ?? 0);
    const splitSource = split.splitFile ?? `stratified 80/10/10 split computed with seed ${split.splitSeed}`;
    return { clf, task, classNames: names, split, splitSource, modelName: modelArg };
  } catch (e) {
    disposeClassifier(clf);
    throw e;
  }
}
