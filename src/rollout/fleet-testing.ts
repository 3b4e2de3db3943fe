/**
 * Test fixtures for the fleet: a tiny random model in a temp folder, random LoRA adapters, and
 * `rft serve` child processes on 127.0.0.1 (the real CLI, as a fleet would run it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../engine/index.js';
import { DEFAULTS, initModel } from '../model/init.js';
import { loadModel } from '../model/load.js';
import { addLora, removeLora, saveAdapter } from '../model/lora.js';
import type { Transformer } from '../model/transformer.js';

export interface FleetFixture {
  dir: string;
  modelDir: string;
  /** Writes a random adapter (B ≠ 0, so it changes the output) drawn from `seed` into dir. */
  writeAdapter(dir: string, seed: number): void;
  cleanup(): void;
}

export function makeFleetFixture(): FleetFixture {
  const dir = mkdtempSync(join(tmpdir(), 'rft-fleet-'));
  const modelDir = join(dir, 'tiny');
  initModel(modelDir, { ...DEFAULTS, arch: 'qwen3', hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 128, maxPositions: 512, seed: 3, initStd: 0.2 });
  let m: Transformer | null = null;
  return {
    dir,
    modelDir,
    writeAdapter(out, seed) {
      m ??= loadModel(modelDir);
      const rng = new Rng(seed);
      const a = addLora(m, { r: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj', 'o_proj', 'up_proj', 'down_proj'] }, rng);
      for (const p of a.parameters()) if (p.name!.endsWith('lora_B.weight')) for (let i = 0; i < p.size; i++) p.data[i] = 0.5 * rng.normal();
      saveAdapter(m, out);
      removeLora(m);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM, and wait for the exit. */
  stop(): Promise<void>;
}

/** `rft serve --model DIR --port 0 --allow-runtime-lora ...extra` in a child process; resolves once it listens. */
export async function spawnServe(modelDir: string, extra: string[] = []): Promise<ServeProcess> {
  const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  const child = spawn(process.execPath, [main, 'serve', '--model', modelDir, '--name', 'tiny', '--port', '0', '--allow-runtime-lora', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /on (http:\/\/\S+)\/v1/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.on('exit', () => reject(new Error(`rft serve exited early: ${err}`)));
  });
  const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
  return {
    url,
    child,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
