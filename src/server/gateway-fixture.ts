/**
 * Shared setup for the gateway and agent tests: a tiny random qwen3 model with the character
 * tokenizer behind a TransformerPolicy (LoRA perturbed so the live adapter changes what is
 * sampled), and a RolloutGateway on 127.0.0.1 serving it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../engine/index.js';
import { DEFAULTS, initModel } from '../model/init.js';
import { loadModel, loadTokenizer } from '../model/load.js';
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
