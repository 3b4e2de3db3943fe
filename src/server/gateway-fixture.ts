/**
 * Shared setup for the gateway and agent tests: a tiny random qwen3 model with the character
 * tokenizer behind a TransformerPolicy (LoRA perturbed so the live adapter changes what is
 * sampled), and a RolloutGateway on 127.0.0.1 serving it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../engine/index.js';
import { DEFAULTS, initModel } from '../model/init.js';
import { loadModel, loadTokenizer } from '../model/load.js';
import { readCheckpoint, writeCheckpoint } from '../model/checkpoint.js';
import { chatTokenizer, TransformerPolicy } from '../model/policy.js';
import type { ChatTokenizer } from '../contracts/tokenizer.js';
import type { RecordedTurn } from '../rollout/gateway-port.js';
import { RolloutGateway, type GatewayOptions } from './gateway.js';

export interface GatewayFixture {
  dir: string;
  policy: TransformerPolicy;
  tokenizer: ChatTokenizer;
  contextLength: number;
  cleanup(): void;
}

export function makePolicyFixture(): GatewayFixture {
  const dir = mkdtempSync(join(tmpdir(), 'rft-gateway-'));
  const modelDir = join(dir, 'tiny');
  initModel(modelDir, { ...DEFAULTS, arch: 'qwen3', hidden: 32, layers: 2, heads: 2, kvHeads: 1, intermediate: 64, maxPositions: 512, seed: 5, initStd: 0.2 });
  const model = loadModel(modelDir);
  const tok = loadTokenizer(modelDir, model);
  const policy = new TransformerPolicy(model, tok, { lora: { r: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj', 'up_proj'] }, seed: 1, baseModelPath: modelDir });
  const rng = new Rng(9);
  for (const L of model.layers) for (const p of Object.values(L.proj)) if (p.lora) for (let i = 0; i < p.lora.B.size; i++) p.lora.B.data[i] = rng.normal() * 0.3;
  return { dir, policy, tokenizer: chatTokenizer(tok), contextLength: model.config.maxPositionEmbeddings, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Writes a scripted model to `modelDir`: its next token depends only on the current one (attention
 * and MLP outputs are zero, lm_head maps each token to its successor, sharply), so after a chat
 * prompt's final "\n" it writes `tokens` (added to the vocabulary, one id each) and then <|im_end|>.
 */
export function writeScriptedModel(modelDir: string, tokens: readonly string[]): void {
  initModel(modelDir, { ...DEFAULTS, arch: 'llama', hidden: 128, layers: 1, heads: 4, kvHeads: 2, intermediate: 64, tieEmbeddings: false, vocabSize: 104 });
  const tj = JSON.parse(readFileSync(join(modelDir, 'tokenizer.json'), 'utf8'));
  const vocab = tj.model.vocab as Record<string, number>;
  const base = Object.keys(vocab).length + tj.added_tokens.filter((a: { content: string }) => !(a.content in vocab)).length;
  tokens.forEach((t, i) => (vocab[t] = base + i));
  writeFileSync(join(modelDir, 'tokenizer.json'), JSON.stringify(tj));
  const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
  const V = base + tokens.length;
  config.vocab_size = V;
  writeFileSync(join(modelDir, 'config.json'), JSON.stringify(config));
  const H = 128;
  if (V > H) throw new Error(`writeScriptedModel: ${V} tokens do not fit one-hot in ${H} dimensions`);
  const { tensors } = readCheckpoint(modelDir);
  const embed = new Float32Array(V * H);
  for (let i = 0; i < V; i++) embed[i * H + i] = 1;
  const next = new Map<number, number>([[vocab['\n']!, base]]);
  for (let i = 0; i < tokens.length; i++) next.set(base + i, i + 1 < tokens.length ? base + i + 1 : 2 /* <|im_end|> */);
  const head = new Float32Array(V * H);
  for (let i = 0; i < V; i++) head[(next.get(i) ?? 2) * H + i] = 10; // the successor has probability ≈ 1 at any temperature ≤ 1
  tensors.set('model.embed_tokens.weight', { shape: [V, H], data: embed });
  tensors.set('lm_head.weight', { shape: [V, H], data: head });
  for (const [name, t] of tensors) if (/o_proj|down_proj/.test(name)) t.data.fill(0);
  writeCheckpoint(modelDir, tensors);
}

/** A scripted model that calls a tool: `<tool_call>`, SCRIPTED_CALL, `</tool_call>`, <|im_end|> — behind a TransformerPolicy (LoRA B = 0). */
export const SCRIPTED_CALL = '{"name": "add", "arguments": {"a": 2, "b": 3}}';
export function makeToolCallingFixture(): GatewayFixture {
  const dir = mkdtempSync(join(tmpdir(), 'rft-gateway-tools-'));
  const modelDir = join(dir, 'scripted');
  writeScriptedModel(modelDir, ['<tool_call>', SCRIPTED_CALL, '</tool_call>']);
  const model = loadModel(modelDir);
  const tok = loadTokenizer(modelDir, model);
  const policy = new TransformerPolicy(model, tok, { lora: { r: 2, alpha: 4, dropout: 0, targetModules: ['q_proj'] }, seed: 1, baseModelPath: modelDir });
  return { dir, policy, tokenizer: chatTokenizer(tok), contextLength: model.config.maxPositionEmbeddings, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startGateway(fx: GatewayFixture, opts: Partial<GatewayOptions> = {}): Promise<RolloutGateway> {
  const g = new RolloutGateway({ policy: fx.policy, tokenizer: fx.tokenizer, contextLength: fx.contextLength, modelName: 'tiny', seed: 7, ...opts });
  await g.listen(0);
  return g;
}

/** Teacher-forced log-probs of each turn's sampled tokens given its prompt, at the sampling temperature. */
export async function teacherForced(fx: GatewayFixture, turns: readonly RecordedTurn[], temperature: number): Promise<number[][]> {
  const lps = await fx.policy.logprobs(turns.map((t) => ({ prompt: t.promptTokens, completion: t.sampledTokens })), { temperature });
  return lps.map((l) => [...l]);
}
