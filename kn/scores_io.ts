/**
 * Neuron scores on disk (Node): one safetensors file per method, so later steps (select, ablate, the
 * report) reuse them. Tensors: values (E, N) f32, labels (E) i32, residues (E) i32, and for IG
 * completeness (E, P, 3) f32; the metadata entry "esm-kn" holds JSON: method, class names, example
 * ids, the neuron layout and the provenance. Written atomically.
 */
import { FormatError } from '../io/errors.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../io/node_file.js';
import type { HostTensor } from '../io/tensor.js';
import { NEURON_MODULES, type NeuronModule } from '../model/esm.js';
import type { NeuronLayout } from './layout.js';
import { type NeuronScores, SCORE_METHODS, type ScoreMethod } from './scores.js';

const FORMAT = 'esm-kn-neuron-scores';

interface StoredMeta {
  format: string;
  version: number;
  method: ScoreMethod;
  class_names: string[];
  example_ids: string[];
  layout: { num_layers: number; widths: Record<NeuronModule, number> };
  meta: Record<string, unknown>;
}

/** Writes scores to `path` (a .safetensors file). */
export async function saveScores(path: string, s: NeuronScores): Promise<void> {
  const E = s.examples.length;
  const tensors: [string, HostTensor][] = [
    ['values', { dtype: 'f32', shape: [E, s.layout.total], data: s.values }],
    ['labels', { dtype: 'i32', shape: [E], data: Float64Array.from(s.examples, (e) => e.label) }],
    ['residues', { dtype: 'i32', shape: [E], data: Float64Array.from(s.examples, (e) => e.residues) }],
  ];
  if (s.completeness) tensors.push(['completeness', { dtype: 'f32', shape: [E, s.completeness.length / (3 * Math.max(E, 1)), 3], data: s.completeness }]);
  const meta: StoredMeta = {
    format: FORMAT,
    version: 1,
    method: s.method,
    class_names: [...s.classNames],
    example_ids: s.examples.map((e) => e.id),
    layout: { num_layers: s.layout.numLayers, widths: { ...s.layout.widths } },
    meta: { ...s.meta },
  };
  await writeSafetensorsFile(path, tensors, { 'esm-kn': JSON.stringify(meta) });
}

function layoutFrom(file: string, l: StoredMeta['layout']): NeuronLayout {
  const widths = {} as Record<NeuronModule, number>;
  const starts = {} as Record<NeuronModule, number>;
  let total = 0;
  for (const m of NEURON_MODULES) {
    const w = l?.widths?.[m];
    if (!(Number.isInteger(w) && w! > 0)) throw new FormatError(file, `neuron layout has no width for module ${m}`);
    widths[m] = w!;
    starts[m] = total;
    total += l.num_layers * w!;
  }
  if (!(Number.isInteger(l.num_layers) && l.num_layers > 0)) throw new FormatError(file, `neuron layout has ${l.num_layers} layers`);
  return { numLayers: l.num_layers, widths, starts, total };
}

/** Reads scores written by saveScores; FormatError names the file and what is wrong. */
export async function loadScores(path: string): Promise<NeuronScores> {
  const f = await readSafetensorsFile(path);
  let meta: StoredMeta;
  try {
    meta = JSON.parse(f.metadata['esm-kn'] ?? '') as StoredMeta;
  } catch {
    throw new FormatError(path, `not an esm-kn neuron score file (no "esm-kn" metadata)`);
  }
  if (meta.format !== FORMAT) throw new FormatError(path, `format '${meta.format}' is not ${FORMAT}`);
  if (!SCORE_METHODS.includes(meta.method)) throw new FormatError(path, `unknown score method '${meta.method}'`);
  const layout = layoutFrom(path, meta.layout);
  const values = f.tensors.get('values');
  const labels = f.tensors.get('labels');
  const residues = f.tensors.get('residues');
  const E = meta.example_ids.length;
  if (!values || !(values.data instanceof Float32Array) || values.shape.join() !== [E, layout.total].join()) {
    throw new FormatError(path, `values must be f32 [${E}, ${layout.total}], got ${values ? `${values.dtype} [${values.shape}]` : 'nothing'}`);
  }
  if (!labels || labels.shape.join() !== String(E) || !residues || residues.shape.join() !== String(E)) throw new FormatError(path, `labels and residues must be [${E}]`);
  const C = meta.class_names.length;
  const examples = meta.example_ids.map((id, i) => {
    const label = labels.data[i]!;
    if (!(Number.isInteger(label) && label >= 0 && label < C)) throw new FormatError(path, `example '${id}' has class ${label}, outside [0, ${C})`);
    return { id, label, residues: residues.data[i]! };
  });
  const c = f.tensors.get('completeness');
  const pairs = NEURON_MODULES.length * layout.numLayers;
  if (c && (!(c.data instanceof Float32Array) || c.shape.join() !== [E, pairs, 3].join())) {
    throw new FormatError(path, `completeness must be f32 [${E}, ${pairs}, 3], got ${c.dtype} [${c.shape}]`);
  }
  return {
    method: meta.method,
    layout,
    classNames: meta.class_names,
    examples,
    values: values.data,
    completeness: c ? (c.data as Float32Array) : undefined,
    meta: meta.meta ?? {},
  };
}
