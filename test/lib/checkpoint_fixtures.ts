/**
 * Checkpoint bytes in the three forms for a tiny random ESM-2, in memory: a fair-esm .pt (+ its
 * contact-regression companion), a Hugging Face folder (config.json + model.safetensors or
 * pytorch_model.bin) and an esm-kn folder with a classification head. The loaders' tests and the
 * page tests feed these as files or Blobs.
 */
import { makeConfig } from '../../model/config.js';
import { concatBytes } from '../../io/bytes.js';
import { Namespace, OrderedDict } from '../../io/pickle_values.js';
import { writeTorchCheckpoint } from '../../io/pt_write.js';
import { encodeSafetensors } from '../../io/safetensors.js';
import type { HostTensor } from '../../io/tensor.js';
import { canonicalToHfName, initParams } from '../../model/params.js';

/** The tiny model: 2 layers, dim 32, 4 heads. */
export const TINY_CONFIG = makeConfig({ numLayers: 2, embedDim: 32, attentionHeads: 4 });
export const TINY_PARAMS = initParams(TINY_CONFIG, 5, { mode: 'test' });

const host = (t: { shape: readonly number[]; data: Float32Array }): HostTensor => ({ dtype: 'f32', shape: t.shape, data: t.data });

/** fair-esm files: the main .pt and its companion, by name. */
export function fairEsmFiles(stem = 'tiny'): Map<string, Uint8Array> {
  const sd = new OrderedDict<string, HostTensor>();
  for (const [name, t] of TINY_PARAMS) {
    if (name.startsWith('contact_head.')) continue;
    sd.set((name.startsWith('lm_head.') ? 'encoder.' : 'encoder.sentence_encoder.') + name, host(t));
  }
  sd.set('encoder.lm_head.weight', host(TINY_PARAMS.get('embed_tokens.weight')!));
  const cfg = new Namespace({ encoder_layers: 2, encoder_embed_dim: 32, encoder_attention_heads: 4, token_dropout: true });
  const reg = new OrderedDict<string, HostTensor>(['weight', 'bias'].map((k) => [`contact_head.regression.${k}`, host(TINY_PARAMS.get(`contact_head.regression.${k}`)!)] as [string, HostTensor]));
  return new Map([
    [`${stem}.pt`, concatBytes(writeTorchCheckpoint(new Map<string, unknown>([['model', sd], ['cfg', new Map([['model', cfg]])]])))],
    [`${stem}-contact-regression.pt`, concatBytes(writeTorchCheckpoint(new Map([['model', reg]])))],
  ]);
}

/** A Hugging Face folder's files; weights as safetensors or as a torch pytorch_model.bin. */
export function hfFiles(weights: 'safetensors' | 'bin' = 'safetensors'): Map<string, Uint8Array> {
  const config = {
    num_hidden_layers: 2, hidden_size: 32, num_attention_heads: 4, intermediate_size: 128, vocab_size: 33,
    position_embedding_type: 'rotary', token_dropout: true, layer_norm_eps: 1e-5, mask_token_id: 32, pad_token_id: 1,
    emb_layer_norm_before: false, hidden_act: 'gelu',
  };
  const tensors: [string, HostTensor][] = [...TINY_PARAMS].filter(([n]) => !n.includes('inv_freq')).map(([n, t]) => [canonicalToHfName(n), host(t)]);
  const bytes = weights === 'safetensors'
    ? concatBytes(encodeSafetensors(tensors))
    : concatBytes(writeTorchCheckpoint(new OrderedDict<string, HostTensor>(tensors)));
  return new Map([
    ['config.json', new TextEncoder().encode(JSON.stringify(config))],
    [weights === 'safetensors' ? 'model.safetensors' : 'pytorch_model.bin', bytes],
  ]);
}
