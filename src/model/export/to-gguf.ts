/**
 * A Transformer (base, or base with its adapter merged) as a GGUF file llama.cpp loads:
 * architecture metadata, tokenizer metadata and tensors under llama.cpp's names.
 *
 * llama.cpp runs the "llama" architecture with interleaved RoPE (pairs (2i, 2i+1)) while HF Llama
 * rotates halves (i, i + D/2); the reference converter (convert_hf_to_gguf.py, LlamaModel.permute)
 * reorders the rows of q_proj / k_proj within each head so the two agree: new row 2i + j of a head
 * is old row j·D/2 + i. Qwen2/Qwen3 run with NeoX (half-rotation) RoPE in llama.cpp: no permutation.
 */
import { Tensor16 } from '../../engine/index.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Transformer } from '../transformer.js';
import type { ModelTokenizer } from '../tokenizer.js';
import { GgufError, meta, writeGguf, type GgmlType, type GgufTensor, type MetaValue } from './gguf.js';
import { ggufTokenizerMetadata } from './gguf-tokenizer.js';

export interface GgufExportOptions {
  /** Storage type of the matrices (norms and biases stay F32, as the reference converter keeps them). */
  dtype?: GgmlType;
  name?: string;
}

/** Rows of a (nHead·D, ...) matrix or (nHead·D) bias reordered from half-rotation to interleaved RoPE layout. */
export function permuteRope(data: Float32Array, nHead: number, rowLen: number): Float32Array {
  const rows = data.length / rowLen;
  const D = rows / nHead;
  if (!Number.isInteger(D) || D % 2 !== 0) throw new GgufError(`cannot permute ${rows} rows into ${nHead} heads of even size`);
  const out = new Float32Array(data.length);
  const half = D / 2;
  for (let h = 0; h < nHead; h++)
    for (let i = 0; i < half; i++)
      for (let j = 0; j < 2; j++) {
        const src = (h * D + j * half + i) * rowLen;
        const dst = (h * D + 2 * i + j) * rowLen;
        out.set(data.subarray(src, src + rowLen), dst);
      }
  return out;
}

/** llama3 rope scaling as llama.cpp takes it: one frequency divisor per rotated pair (rope_freqs.weight). */
function llama3RopeFactors(m: Transformer): Float32Array {
  const c = m.config;
  const s = c.ropeScaling!;
  const half = c.headDim / 2;
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const freq = 1 / Math.pow(c.ropeTheta, (2 * i) / c.headDim);
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) out[i] = 1;
    else if (wavelen > lowWavelen) out[i] = s.factor;
    else {
      const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      out[i] = 1 / ((1 - smooth) / s.factor + smooth);
    }
  }
  return out;
}

export function ggufTensors(m: Transformer, dtype: GgmlType): GgufTensor[] {
  const c = m.config;
  const out: GgufTensor[] = [];
  const get = (name: string) => {
    const t = m.params.get(name);
    if (!t) throw new GgufError(`the model has no ${name}`);
    return t;
  };
  const add = (gname: string, hf: string, transform?: (d: Float32Array, rowLen: number) => Float32Array) => {
    if (!m.params.has(hf)) return;
    const t = get(hf);
    const rowLen = t.shape.length === 2 ? t.shape[1]! : 1;
    const values = t instanceof Tensor16 ? t.toFloat32() : t.data; // 16-bit base weights widen exactly
    const data = transform ? transform(values, rowLen) : values;
    out.push({ name: gname, shape: [...t.shape], type: t.shape.length === 2 ? dtype : 'F32', data });
  };
  const permute = c.arch === 'llama';
  add('token_embd.weight', 'model.embed_tokens.weight');
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}.`;
    const b = `blk.${l}.`;
    add(`${b}attn_norm.weight`, `${p}input_layernorm.weight`);
    for (const [g, hf, heads] of [['attn_q', 'q_proj', c.numHeads], ['attn_k', 'k_proj', c.numKvHeads]] as const) {
      const tf = permute ? (d: Float32Array, rowLen: number) => permuteRope(d, heads, rowLen) : undefined;
      add(`${b}${g}.weight`, `${p}self_attn.${hf}.weight`, tf);
      add(`${b}${g}.bias`, `${p}self_attn.${hf}.bias`, tf);
    }
    add(`${b}attn_v.weight`, `${p}self_attn.v_proj.weight`);
    add(`${b}attn_v.bias`, `${p}self_attn.v_proj.bias`);
    add(`${b}attn_output.weight`, `${p}self_attn.o_proj.weight`);
    add(`${b}attn_output.bias`, `${p}self_attn.o_proj.bias`);
    add(`${b}attn_q_norm.weight`, `${p}self_attn.q_norm.weight`);
    add(`${b}attn_k_norm.weight`, `${p}self_attn.k_norm.weight`);
    add(`${b}ffn_norm.weight`, `${p}post_attention_layernorm.weight`);
    add(`${b}ffn_gate.weight`, `${p}mlp.gate_proj.weight`);
    add(`${b}ffn_up.weight`, `${p}mlp.up_proj.weight`);
    add(`${b}ffn_down.weight`, `${p}mlp.down_proj.weight`);
  }
  add('output_norm.weight', 'model.norm.weight');
  if (!c.tieWordEmbeddings) add('output.weight', 'lm_head.weight');
  if (c.ropeScaling) out.push({ name: 'rope_freqs.weight', shape: [c.headDim / 2], type: 'F32', data: llama3RopeFactors(m) });
  return out;
}

export function ggufModelMetadata(m: Transformer, dtype: GgmlType, name: string): Map<string, MetaValue> {
  const c = m.config;
  const a = c.arch;
  const md = new Map<string, MetaValue>();
  md.set('general.architecture', meta.str(a));
  md.set('general.name', meta.str(name));
  md.set('general.file_type', meta.u32(dtype === 'F32' ? 0 : 1));
  md.set('general.alignment', meta.u32(32));
  md.set(`${a}.context_length`, meta.u32(c.maxPositionEmbeddings));
  md.set(`${a}.embedding_length`, meta.u32(c.hiddenSize));
  md.set(`${a}.block_count`, meta.u32(c.numLayers));
  md.set(`${a}.feed_forward_length`, meta.u32(c.intermediateSize));
  md.set(`${a}.attention.head_count`, meta.u32(c.numHeads));
  md.set(`${a}.attention.head_count_kv`, meta.u32(c.numKvHeads));
  md.set(`${a}.attention.key_length`, meta.u32(c.headDim));
  md.set(`${a}.attention.value_length`, meta.u32(c.headDim));
  md.set(`${a}.rope.dimension_count`, meta.u32(c.headDim));
  md.set(`${a}.rope.freq_base`, meta.f32(c.ropeTheta));
  md.set(`${a}.attention.layer_norm_rms_epsilon`, meta.f32(c.rmsNormEps));
  md.set(`${a}.vocab_size`, meta.u32(c.vocabSize));
  return md;
}

/** Writes model + tokenizer (from the model folder's tokenizer.json) as one GGUF file. */
export function exportGguf(m: Transformer, tok: ModelTokenizer, tokenizerDir: string, out: string, opts: GgufExportOptions = {}): { tensors: number; metadata: number } {
  const dtype = opts.dtype ?? 'F32';
  const tjPath = join(tokenizerDir, 'tokenizer.json');
  if (!existsSync(tjPath)) throw new GgufError(`${tokenizerDir}: no tokenizer.json to export`);
  const tokenizer = JSON.parse(readFileSync(tjPath, 'utf8')) as Record<string, unknown>;
  const md = ggufModelMetadata(m, dtype, opts.name ?? 'rft-model');
  const tm = ggufTokenizerMetadata({
    tokenizer,
    vocabSize: m.config.vocabSize,
    bosTokenId: tok.bosTokenId,
    eosTokenId: tok.eosTokenIds[0] ?? m.config.eosTokenIds[0] ?? null,
    padTokenId: tok.padTokenId,
    chatTemplate: tok.chatTemplateSource,
    pre: m.config.arch === 'llama' ? 'default' : 'qwen2',
  });
  for (const [k, v] of tm) md.set(k, v);
  const tensors = ggufTensors(m, dtype);
  writeGguf(out, md, tensors);
  return { tensors: tensors.length, metadata: md.size };
}
