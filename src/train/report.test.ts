import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRftLoop } from './grpo/trainer.js';
import { writeReport } from './report.js';
import { toyConfig, toyPolicy, toyRows, toyScore, toyTokenizer } from './testing/toy-task.js';

test('the report of a run has reward and held-out curves and the evaluation table', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-report-'));
  await runRftLoop({ policy: toyPolicy(), tokenizer: toyTokenizer, score: toyScore, train: toyRows(8), heldout: toyRows(4), config: { ...toyConfig, steps: 6, evalEvery: 3 }, runDir: dir });
  const md = readFileSync(writeReport(dir), 'utf8');
  assert.match(md, /\| step \| eval loss \| pass@1 greedy \| mean reward \| pass@1 sampled \| pass@k \(k\) \|/);
  assert.equal(md.match(/^\| (0|3|6) \|/gm)?.length, 3, 'evaluations at steps 0, 3 and 6');
  const reward = readFileSync(join(dir, 'reward.svg'), 'utf8');
  assert.match(reward, /^<svg/);
  // one polyline for the per-step rewards with 6 points, one for the moving average
  const lines = [...reward.matchAll(/<polyline[^>]*points="([^"]+)"/g)];
  assert.equal(lines.length, 2);
  assert.equal(lines[0][1].split(' ').length, 6);
  assert.match(readFileSync(join(dir, 'heldout.svg'), 'utf8'), /pass@1 \(greedy\)/);
});

test('a run directory without logs is an error that says so', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-report-empty-'));
  assert.throws(() => writeReport(dir), /has no metrics\.jsonl or eval\.jsonl entries yet/);
});

test('an SFT run gets a loss curve and its eval losses', async () => {
  const { runSft } = await import('./sft/trainer.js');
  const dir = mkdtempSync(join(tmpdir(), 'rft-report-sft-'));
  const rows = Array.from({ length: 6 }, (_, i) => ({ messages: [{ role: 'user' as const, content: 'bcd'[i % 3] }, { role: 'assistant' as const, content: 'ab' }] }));
  await runSft({ policy: toyPolicy(), tokenizer: toyTokenizer, train: rows, evalRows: rows, runDir: dir,
    config: { epochs: 2, batchSize: 3, maxLength: 16, learningRate: 0.05, schedule: 'constant', warmupSteps: 0, weightDecay: 0, maxGradNorm: 1, seed: 1, evalEvery: 2, maxNewTokens: 4, passThreshold: 1 } });
  const md = readFileSync(writeReport(dir), 'utf8');
  assert.match(md, /!\[loss\]\(loss\.svg\)/);
  assert.equal(md.match(/^\| (2|4) \| \d\.\d{3} \|/gm)?.length, 2, 'eval losses at steps 2 and 4');
  const svg = readFileSync(join(dir, 'loss.svg'), 'utf8');
  assert.equal([...svg.matchAll(/<polyline/g)].length, 3, 'loss, its moving average, eval loss');
});
