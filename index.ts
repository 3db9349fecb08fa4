/**
 * esm-kn as a library for web pages (package.json "exports" condition "browser"): the WebGPU engine,
 * ESM-2 (configuration, parameters, forward, classifier head, tokenizer), checkpoint parsing from bytes
 * or Blobs (files a user picked, or fetched), and the knowledge-neuron scores, ablations, study and
 * neuron cards (explainNeurons, logoSvg).
 * Nothing here touches Node built-ins; the Node entry (index.node.ts) adds file-system loaders.
 *
 * Usage: `await initEngine()` once (it takes navigator.gpu's adapter), then build a model with
 * `uploadModel(checkpoint.config, checkpoint.params)` and run `esmForward` inside `tidy`/`noGrad`.
 */

// The engine: device, tensors and memory scopes, autograd, ops, optimiser (engine/index.ts is its door).
export {
  initEngine, rt, NoAdapterError, GpuError, ShapeError, type DeviceInfo,
  Tensor, tensor, zeros, full, empty, filled, type Shape, type DType, tidy, tidyAsync, keep,
  backward, noGrad, noGradAsync, clearTape, tapeLength,
  add, sub, mul, div, neg, exp, log, sqrt, rsqrt, tanh, gelu, relu, sigmoid, square, pow, affine, scale,
  sum, mean, max, reshape, permute, transpose, slice, concat, gather, softmax, layernorm, rotary, clearRotaryCache,
  dropout, dropoutSeed, type DropoutAttrs, crossEntropy, type CrossEntropyOptions, type Reduction,
  matmul, linear, fusedLinear, type LinearEpilogue, type MatmulOptions, type MatmulAttrs, fusedAttentionSupported,
  AdamW, type AdamWOptions, type AdamWParam, type AdamWState, clipGradNorm,
} from './engine/index.js';

// ESM-2: configuration, parameters, the GPU forward with neuron hooks, head, contacts, the classifier
// and its one inference path, tokenizer.
export { type EsmConfig, type EsmConfigInit, type Esm2Name, ESM2_SIZES, makeConfig, esm2Config, configFromFairEsmCfg, configFromHfConfig } from './model/config.js';
export { type ParamSpec, type ParamTensor, type ParamMap, paramSpec, countParams, validateParams, initParams, rotaryInvFreq } from './model/params.js';
export {
  type EsmModel, type EsmBatch, type ForwardOptions, type ForwardResult, type NeuronModule, type NeuronHook,
  NEURON_MODULES, moduleWidth, uploadModel, disposeModel, prepareBatch, esmForward,
} from './model/esm.js';
export { type ClassifierHead, type Pooling, headSpec, initHead, headFromTensors, meanPoolWeights, classify } from './model/head.js';
export { contactMap } from './model/contacts.js';
export {
  type Classifier, type EvalBatching, type EvalWindow, uploadClassifier, disposeClassifier, classifierForward, classifierLogits, classifierProbabilities, softmaxRows,
  windowStarts,
} from './model/classifier.js';
export {
  ESM2_TOKENS, CLS, PAD, EOS, UNK, MASK, MAX_RESIDUES, type SequenceRecord, type EncodedBatch, type TokenizeOptions,
  tokenizeResidues, encodeSequence, encodeBatch, decodeTokens,
} from './model/tokenizer.js';

// Checkpoints from bytes: the three formats over named files, and the byte sources under them.
export {
  type CheckpointFiles, type CheckpointFormat, type LoadedCheckpoint, type StoredHead, PROJECT_JSON,
  detectFilesFormat, loadCheckpointFiles, contactCompanion,
} from './model/checkpoint/load.js';
export {
  type ExportFormat, type ExportSource, type HfExport, type FairEsmExport, EXPORT_FORMATS, hfExport, fairEsmExport,
} from './model/checkpoint/export.js';
export { type ByteSource, memorySource } from './io/source.js';
export { blobSource } from './io/blob_source.js';
export { FormatError } from './io/errors.js';
export { type SafetensorsFile, readSafetensors, readSafetensorsHeader, encodeSafetensors } from './io/safetensors.js';
export { type TorchCheckpoint, readTorchCheckpoint } from './io/pt.js';
export { type Inflater, streamInflate } from './io/zip.js';
export { type PickedFile, blobCheckpointFiles, pickedCheckpointFiles, fetchCheckpointFiles, DEFAULT_MODEL_FILES } from './web/model_files.js';

// Knowledge neurons: scores, selection, ablation, density, the study.
export { type NeuronLayout, neuronLayout, neuronOffset, neuronAt, moduleScores, moduleSize, parseModules } from './kn/layout.js';
export { type ActivationOptions, activationScores } from './kn/activation.js';
export { type IgOptions, type IgPositions } from './kn/ig.js';
export { igScores } from './kn/ig_scores.js';
export { type ResidueIgOptions, type ResidueIgResult, residueIg } from './kn/residue_ig.js';
export { type QuadratureRule, QUADRATURE_RULES, quadrature } from './kn/quadrature.js';
export { type NeuronScores, type ScoreMethod, SCORE_METHODS, classScores, overallScores, summariseCompleteness } from './kn/scores.js';
export { type Ranking, type Selection, RANKINGS, selectTop, selectRandom, topIndices } from './kn/select.js';
export { type Replacement, type ModuleEdit, REPLACEMENTS, ablationEdit, scaleEdit, editHook, editedMetrics } from './kn/ablate.js';
export { type Density, neuronDensity } from './kn/density.js';
export { type ShardInfo, type ShardFile, shardIndices, shardInfo, mergeShards } from './kn/shards.js';
export { type StudyOptions, type StudyResult, runStudy } from './kn/study.js';
// Neuron cards: per-residue evidence, top windows and their logos, enrichment, position profiles, zeroing.
export { type NeuronRef, type RecordEvidence, type PositionOptions, neuronKey, neuronPositions, collectPositions } from './kn/positions.js';
export {
  type WindowMethod, type ExplainOptions, type CardWindow, type ZeroEffect, type NeuronCard, type LogoCluster, type Explanations,
  type ChosenNeuron, chooseNeurons, explainNeurons, neuronCards, jaccardMatrix, unitsName,
} from './kn/explain.js';
export { neuronUnits } from './kn/pairs.js';
export {
  type PositionProfile, type CutoffTies, type LengthCorrelation, type DetectorCall, type EnrichmentRow, type EnrichmentTest, type WindowCandidate,
  NeuronAccumulator, detectorCall, enrichmentTests, adjustEnrichment, ecSubclasses, sequenceWindow,
} from './kn/neuron_card.js';
export { type Logo, type LogoColumn, type LogoLetter, AMINO_ACIDS, sequenceLogo, consensus, logoSimilarity, clusterLogos } from './kn/logo.js';
export { type LogoSvgOptions, logoSvg } from './kn/logo_svg.js';

// Data: task records.
export { type TaskRecord, type TaskName, TASK_NAMES } from './data/dataset.js';
