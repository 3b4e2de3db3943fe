import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateExamples } from '../data/index.js';
import { initModel } from '../model/init.js';
import { makePolicy, makeScorer } from '../train/setup.js';
import { runSft } from '../train/sft/trainer.js';
import { runRftLoop, type RftLoopConfig } from '../train/grpo/trainer.js';
import { SQL_AGENT_PLAN } from './quickstart.js';
import { agentSource } from './agent-source.js';
import type { Row } from '../contracts/row.js';

const bin = fileURLToPath(new URL('./main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rft-sql-agent-e2e-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const config: RftLoopConfig = { ...SQL_AGENT_PLAN.rft, steps: 2, promptsPerStep: 2, rolloutsPerPrompt: 4, evalSamples: 0, warmupSteps: 0 };

/**
 * A tiny model, SFT'd a little on two teacher traces so that it makes tool calls (its SQL is
 * mostly wrong, which the tools must survive: errors go back to it as tool messages).
 */
const setup = (async () => {
  const { examples } = await generateExamples('sql-agent', { n: 2, seed: 5, outDir: join(dir, 'data'), knobs: { templates: 'orders-between-dates' } });
  initModel(join(dir, 'model'), { arch: 'llama', hidden: 48, layers: 2, heads: 4, kvHeads: 2, intermediate: 96, vocabFrom: 'chars', tieEmbeddings: true, ropeTheta: 10000, maxPositions: 1024, rmsNormEps: 1e-6, seed: 5, dtype: 'F32' }, true);
  const policy = makePolicy({ model: join(dir, 'model'), full: true, loraRank: 4, loraAlpha: 8, loraDropout: 0, targetModules: ['q_proj'], seed: 1 });
  await runSft({
    policy, tokenizer: policy.chat, train: examples.map((e) => e.sft as Row), runDir: join(dir, 'sft'), saveAs: 'model',
    config: { epochs: 100, batchSize: 2, maxLength: 1024, learningRate: 1e-2, schedule: 'constant', warmupSteps: 0, weightDecay: 0, maxGradNorm: 1, seed: 1, evalEvery: 0, maxNewTokens: 8, passThreshold: 1 },
  });
  return { rows: examples.map((e) => e.rft as Row), database: examples[0]!.rft.database as string };
})();

async function grpo(agentSpec: string, runDir: string) {
  const { rows } = await setup;
  const policy = makePolicy({ model: join(dir, 'sft', 'model'), full: true, loraRank: 4, loraAlpha: 8, loraDropout: 0, targetModules: ['q_proj'], seed: 1 });
  const src = await agentSource(agentSpec, policy, policy.chat, { maxConcurrentRollouts: 8, rolloutTimeoutMs: 60_000, seed: 1, contextLength: 1024 });
  const scorer = await makeScorer('{"type": "sql_answer"}', { timeoutMs: 30_000, concurrency: 4 });
  try {
    const result = await runRftLoop({ policy, tokenizer: policy.chat, score: scorer.score, train: rows, source: src.source, config, runDir, saveAs: 'model' });
    const metrics = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    return { result, metrics, src };
  } finally {
    await src.close();
    await scorer.close();
  }
}

test('a few GRPO steps with the built-in SQL agent in process: multi-turn rollouts with tool calls, scored and trained on', async () => {
  const { result, metrics } = await grpo('sql-agent', join(dir, 'rft-local'));
  assert.equal(result.steps, 2);
  assert.equal(metrics.length, 2);
  for (const m of metrics) {
    assert.equal(m.error_fraction, 0, JSON.stringify(m));
    assert.equal(m.invalid_fraction, 0);
    assert.ok(m.sampled_tokens > 0);
    assert.ok(Number.isFinite(m.reward_mean) && m.reward_mean >= 0 && m.reward_mean <= 1);
  }
  // the SFT'd model calls the tools, and the tools' results are inserted between its turns
  assert.ok(metrics.some((m) => m.tool_calls_mean > 0 && m.inserted_tokens > 0 && m.turns_max >= 2), JSON.stringify(metrics.map((m) => [m.tool_calls_mean, m.turns_max, m.inserted_tokens])));
});

test('the same steps with the SQL agent as a remote server (rft agent serve, a separate process) through the rollout gateway', async () => {
  const { database } = await setup;
  const child: ChildProcess = spawn(process.execPath, [bin, 'agent', 'serve', '--agent', 'sql-agent', '--port', '0', '--database', database], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  try {
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`rft agent serve exited with ${code}: ${stderr}`)));
    });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const { result, metrics, src } = await grpo(url, join(dir, 'rft-remote'));
    assert.equal(result.steps, 2);
    for (const m of metrics) {
      assert.equal(m.error_fraction, 0, JSON.stringify(m));
      assert.ok(m.sampled_tokens > 0);
    }
    assert.ok(metrics.some((m) => m.turns_max >= 2 && m.inserted_tokens > 0), JSON.stringify(metrics.map((m) => [m.turns_max, m.inserted_tokens])));
    const c = src.source as unknown as { counters: { finishedByLog: number; timeouts: number } };
    assert.equal(c.counters.finishedByLog, 2 * config.promptsPerStep * config.rolloutsPerPrompt, JSON.stringify(c.counters));
    assert.equal(c.counters.timeouts, 0);
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
  }
});
