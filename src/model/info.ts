/** A summary of a model folder without loading its weights (for `rft model info`). */
import { readConfig, parameterCount } from './config.js';
import { checkpointFiles, readCheckpointHeaders } from './checkpoint.js';
import { ModelTokenizer } from './tokenizer.js';
import { expectedWeights } from './weights.js';

export interface ModelInfo {
  dir: string;
  architecture: string;
  sizes: {
    vocab_size: number; hidden_size: number; intermediate_size: number; num_hidden_layers: number;
    num_attention_heads: number; num_key_value_heads: number; head_dim: number; max_position_embeddings: number;
  };
  rope: { theta: number; scaling: string | null };
  tie_word_embeddings: boolean;
  parameters: number;
  /** Parameters the config implies (differs from `parameters` only for odd checkpoints). */
  expected_parameters: number;
  dtypes: Record<string, number>;
  files: string[];
  tokenizer: { size: number; eos: { id: number; token: string | null }[]; bos: number | null; pad: number | null; chat_template: boolean; kind: string } | null;
  warnings: string[];
}

export function modelInfo(dir: string): ModelInfo {
  const c = readConfig(dir);
  const { files } = checkpointFiles(dir);
  const headers = readCheckpointHeaders(dir);
  const dtypes: Record<string, number> = {};
  let params = 0;
  for (const t of headers.values()) {
    const n = t.shape.reduce((a, d) => a * d, 1);
    params += n;
    dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + n;
  }
  const warnings: string[] = [];
  const want = expectedWeights(c);
  const missing = [...want.keys()].filter((n) => !headers.has(n));
  if (missing.length) warnings.push(`${missing.length} tensor(s) the config implies are missing, e.g. ${missing[0]}`);
  let tokenizer: ModelInfo['tokenizer'] = null;
  try {
    const t = ModelTokenizer.load(dir, c.eosTokenIds);
    tokenizer = {
      size: t.size,
      eos: t.eosTokenIds.map((id) => ({ id, token: t.idToToken(id) ?? null })),
      bos: t.bosTokenId,
      pad: t.padTokenId,
      chat_template: t.hasChatTemplate,
      kind: t.modelType,
    };
    if (t.size > c.vocabSize) warnings.push(`tokenizer has ${t.size} tokens but vocab_size is ${c.vocabSize}`);
  } catch (e) {
    warnings.push(`tokenizer: ${(e as Error).message}`);
  }
  return {
    dir,
    architecture: c.architecture,
    sizes: {
      vocab_size: c.vocabSize, hidden_size: c.hiddenSize, intermediate_size: c.intermediateSize, num_hidden_layers: c.numLayers,
      num_attention_heads: c.numHeads, num_key_value_heads: c.numKvHeads, head_dim: c.headDim, max_position_embeddings: c.maxPositionEmbeddings,
    },
    rope: { theta: c.ropeTheta, scaling: c.ropeScaling ? `llama3 (factor ${c.ropeScaling.factor})` : null },
    tie_word_embeddings: c.tieWordEmbeddings,
    parameters: params,
    expected_parameters: parameterCount(c),
    dtypes,
    files,
    tokenizer,
    warnings,
  };
}

/** Human-readable form of modelInfo. */
export function formatModelInfo(i: ModelInfo): string {
  const s = i.sizes;
  const human = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}K` : String(n));
  const lines = [
    `${i.dir}: ${i.architecture}`,
    `  parameters   ${human(i.parameters)} (${i.parameters})  stored as ${Object.entries(i.dtypes).map(([d, n]) => `${d}${Object.keys(i.dtypes).length > 1 ? ` ${human(n)}` : ''}`).join(', ')}`,
    `  layers       ${s.num_hidden_layers} × (hidden ${s.hidden_size}, heads ${s.num_attention_heads}/${s.num_key_value_heads} kv × ${s.head_dim}, mlp ${s.intermediate_size})`,
    `  vocab        ${s.vocab_size}${i.tie_word_embeddings ? ' (tied embeddings)' : ''}`,
    `  rope         theta ${i.rope.theta}${i.rope.scaling ? `, ${i.rope.scaling}` : ''}, max positions ${s.max_position_embeddings}`,
    `  files        ${i.files.join(', ')}`,
  ];
  if (i.tokenizer) {
    const t = i.tokenizer;
    lines.push(`  tokenizer    ${t.kind}, ${t.size} tokens, eos ${t.eos.map((e) => `${e.id} ${JSON.stringify(e.token)}`).join(', ') || 'none'}${t.bos !== null ? `, bos ${t.bos}` : ''}${t.chat_template ? ', chat template' : ', no chat template'}`);
  }
  for (const w of i.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n') + '\n';
}
