/**
 * The tensors a config implies, by their Hugging Face names and shapes. Used to initialise a new
 * model and to check a checkpoint before loading it (every tensor present, no unknown extra, shapes right).
 */
import type { ModelConfig } from './config.js';
import type { NamedTensor, NamedTensor16 } from './safetensors.js';

export type WeightKind = 'linear' | 'bias' | 'norm' | 'embedding';
export interface WeightSpec {
  shape: number[];
  kind: WeightKind;
}

/** name → shape/kind, in model order. Linear weights are (out, in) as in torch.nn.Linear. */
export function expectedWeights(c: ModelConfig): Map<string, WeightSpec> {
  const m = new Map<string, WeightSpec>();
  const h = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  m.set('model.embed_tokens.weight', { shape: [c.vocabSize, h], kind: 'embedding' });
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}.`;
    m.set(`${p}input_layernorm.weight`, { shape: [h], kind: 'norm' });
    const proj: [string, number, number][] = [['q_proj', q, h], ['k_proj', kv, h], ['v_proj', kv, h], ['o_proj', h, q]];
    for (const [name, out, inp] of proj) {
      m.set(`${p}self_attn.${name}.weight`, { shape: [out, inp], kind: 'linear' });
      const bias = name === 'o_proj' ? c.oBias : c.qkvBias;
      if (bias) m.set(`${p}self_attn.${name}.bias`, { shape: [out], kind: 'bias' });
    }
    if (c.qkNorm) {
      m.set(`${p}self_attn.q_norm.weight`, { shape: [c.headDim], kind: 'norm' });
      m.set(`${p}self_attn.k_norm.weight`, { shape: [c.headDim], kind: 'norm' });
    }
    m.set(`${p}post_attention_layernorm.weight`, { shape: [h], kind: 'norm' });
    m.set(`${p}mlp.gate_proj.weight`, { shape: [c.intermediateSize, h], kind: 'linear' });
    m.set(`${p}mlp.up_proj.weight`, { shape: [c.intermediateSize, h], kind: 'linear' });
    m.set(`${p}mlp.down_proj.weight`, { shape: [h, c.intermediateSize], kind: 'linear' });
  }
  m.set('model.norm.weight', { shape: [h], kind: 'norm' });
  if (!c.tieWordEmbeddings) m.set('lm_head.weight', { shape: [c.vocabSize, h], kind: 'linear' });
  return m;
}

export class WeightsError extends Error {}

/**
 * Checks loaded tensors against the config. Tolerated: a tied model that still stores
 * `lm_head.weight` (some exports do; it must equal the embedding, so it is dropped), and
 * `rotary_emb.inv_freq` buffers (recomputed from the config). Everything else must match exactly.
 */
export function checkWeights<T extends NamedTensor | NamedTensor16>(c: ModelConfig, tensors: Map<string, T>, where: string): Map<string, T> {
  const want = expectedWeights(c);
  const out = new Map<string, T>();
  const missing: string[] = [];
  for (const [name, spec] of want) {
    const t = tensors.get(name);
    if (!t) {
      missing.push(name);
      continue;
    }
    if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i]))
      throw new WeightsError(`${where}: tensor "${name}" has shape ${JSON.stringify(t.shape)} but config.json implies ${JSON.stringify(spec.shape)}`);
    if ('bits' in t && spec.kind !== 'linear' && spec.kind !== 'embedding')
      throw new WeightsError(`${where}: tensor "${name}" (a ${spec.kind}) must be F32; only linear and embedding weights stay 16-bit`);
    out.set(name, t);
  }
  if (missing.length) {
    const hint = missing.includes('lm_head.weight') ? ' (lm_head.weight is missing: is tie_word_embeddings wrong in config.json?)' : '';
    throw new WeightsError(`${where}: ${missing.length} tensor(s) missing, e.g. ${missing.slice(0, 3).join(', ')}${hint}`);
  }
  const extra = [...tensors.keys()].filter((n) => !want.has(n) && !n.endsWith('rotary_emb.inv_freq') && !(n === 'lm_head.weight' && c.tieWordEmbeddings));
  if (extra.length) throw new WeightsError(`${where}: unexpected tensor(s) for ${c.architecture}: ${extra.slice(0, 3).join(', ')}${extra.length > 3 ? ` and ${extra.length - 3} more` : ''}; the checkpoint does not match config.json`);
  return out;
}

/** Whether a tensor of this config may stay 16-bit when frozen: the linear and embedding matrices. */
export function mayStay16(c: ModelConfig, name: string): boolean {
  const kind = expectedWeights(c).get(name)?.kind;
  return kind === 'linear' || kind === 'embedding' || (name === 'lm_head.weight' && c.tieWordEmbeddings);
}
