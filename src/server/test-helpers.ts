/** Shared setup for the server tests: a tiny random model (and adapters) in a temp folder, and a running server. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../engine/index.js';
import { DEFAULTS, initModel, type InitSpec } from '../model/init.js';
import { loadModel, loadTokenizer } from '../model/load.js';
import { addLora, removeLora, saveAdapter } from '../model/lora.js';
import { InferenceServer, type ServerOptions } from './http.js';

export interface Fixture {
  dir: string;
  modelDir: string;
  adapterDirs: string[];
  cleanup(): void;
}

/** A 2-layer qwen3 model with the character tokenizer, and two random adapters (B ≠ 0 so they change the output). */
export function makeFixture(extra: Partial<InitSpec> = {}): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'rft-serve-'));
  const modelDir = join(dir, 'tiny');
  initModel(modelDir, { ...DEFAULTS, arch: 'qwen3', hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 128, maxPositions: 512, seed: 3, initStd: 0.2, ...extra });
  const m = loadModel(modelDir);
  const adapterDirs = [1, 2].map((seed) => {
    const rng = new Rng(seed);
    const a = addLora(m, { r: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj', 'o_proj', 'up_proj', 'down_proj'] }, rng);
    for (const p of a.parameters()) if (p.name!.endsWith('lora_B.weight')) for (let i = 0; i < p.size; i++) p.data[i] = 0.5 * rng.normal();
    const d = join(dir, `adapter${seed}`);
    saveAdapter(m, d);
    removeLora(m);
    return d;
  });
  return { dir, modelDir, adapterDirs, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startServer(modelDir: string, opts: Partial<ServerOptions> = {}): Promise<{ server: InferenceServer; url: string }> {
  const model = loadModel(modelDir);
  const tokenizer = loadTokenizer(modelDir, model);
  const server = new InferenceServer({ model, tokenizer, modelName: 'tiny', ...opts });
  const { port } = await server.listen(0, '127.0.0.1');
  return { server, url: `http://127.0.0.1:${port}` };
}
