/**
 * esm-kn as a library for Node (package.json "exports" condition "node"): everything the browser entry
 * (index.ts) exports, the same engine and kernels, plus what needs the file system: checkpoints from
 * a path, the project's checkpoint writer, file readers/writers of the tensor formats, the classifier
 * loader and fine-tuning runs. The GPU comes from Dawn (the `webgpu` package) on the first initEngine().
 */
export * from './index.js';

// Checkpoints and tensor files on disk.
export { loadCheckpoint, saveProjectCheckpoint, exportCheckpoint, detectFormat, type ProjectCheckpoint } from './model/checkpoint/node.js';
export { loadScores, saveScores } from './kn/scores_io.js';
export { nodeInflate, openFileSource, readSafetensorsFile, writeSafetensorsFile, readTorchCheckpointFile, readNpzFile, readFastaFile } from './io/node_file.js';

// Training and evaluation.
export { loadClassifier, classifierTask, evaluateClassifier } from './train/evaluate.js';
export { type FinetuneOptions, finetune, resumeFinetune } from './train/finetune.js';
