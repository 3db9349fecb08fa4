/**
 * Neurons of an ESM-2 model: in every layer, the output units of each linear map (model/esm.ts
 * NEURON_MODULES): query, key, value, attn_out and ffn_out (D each) and ffn_in (F = 4D, after the GELU).
 *
 * Every score vector in kn/ is flat over all neurons of the model, module-major then layer:
 * neuron w of `module` in `layer` is element offset(module, layer) + w. One flat row per example keeps
 * the GPU accumulation to one buffer and the files to one tensor.
 */
import type { EsmConfig } from '../model/config.js';
import { NEURON_MODULES, type NeuronModule, moduleWidth } from '../model/esm.js';

/** Where each module's neurons sit in a flat score row. */
export interface NeuronLayout {
  readonly numLayers: number;
  readonly widths: Readonly<Record<NeuronModule, number>>;
  /** First element of each module (its layer 0) in a row. */
  readonly starts: Readonly<Record<NeuronModule, number>>;
  /** N: neurons in the whole model. */
  readonly total: number;
}

/** The layout of a model's neurons. */
export function neuronLayout(config: EsmConfig): NeuronLayout {
  const widths = {} as Record<NeuronModule, number>;
  const starts = {} as Record<NeuronModule, number>;
  let total = 0;
  for (const m of NEURON_MODULES) {
    widths[m] = moduleWidth(config, m);
    starts[m] = total;
    total += config.numLayers * widths[m];
  }
  return { numLayers: config.numLayers, widths, starts, total };
}

/** Element of neuron 0 of (module, layer) in a flat row. */
export function neuronOffset(layout: NeuronLayout, module: NeuronModule, layer: number): number {
  if (!(Number.isInteger(layer) && layer >= 0 && layer < layout.numLayers)) throw new Error(`layer ${layer} outside [0, ${layout.numLayers})`);
  return layout.starts[module] + layer * layout.widths[module];
}

/** Maps a flat neuron index to (module, layer, index). */
export function neuronAt(layout: NeuronLayout, flat: number): { module: NeuronModule; layer: number; index: number } {
  for (const m of NEURON_MODULES) {
    const W = layout.widths[m];
    const rel = flat - layout.starts[m];
    if (rel >= 0 && rel < layout.numLayers * W) return { module: m, layer: Math.floor(rel / W), index: rel % W };
  }
  throw new Error(`neuron ${flat} outside the layout of ${layout.total}`);
}

/** One module's scores as a (layers, W) view into a flat row. */
export function moduleScores(layout: NeuronLayout, row: Float64Array, module: NeuronModule): Float64Array {
  const start = layout.starts[module];
  return row.subarray(start, start + layout.numLayers * layout.widths[module]);
}

/** Neurons of one module type over all layers. */
export function moduleSize(layout: NeuronLayout, module: NeuronModule): number {
  return layout.numLayers * layout.widths[module];
}

/** Checks that a layout read from a file fits a model. */
export function sameLayout(a: NeuronLayout, b: NeuronLayout): boolean {
  return a.numLayers === b.numLayers && NEURON_MODULES.every((m) => a.widths[m] === b.widths[m]);
}

/** Parses a module list (e.g. from --modules); every entry must be a neuron module. */
export function parseModules(names: readonly string[]): NeuronModule[] {
  for (const n of names) {
    if (!(NEURON_MODULES as readonly string[]).includes(n)) throw new Error(`unknown module '${n}' (modules: ${NEURON_MODULES.join(', ')})`);
  }
  return NEURON_MODULES.filter((m) => names.includes(m));
}
