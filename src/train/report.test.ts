import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

test('an agent run gets a chart of turns, tool calls and failures, and its sample rollouts show the conversation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-report-agent-'));
  const step = (i: number) => ({ step: i, reward_mean: 0.5, entropy: 1, kl: 0, zero_variance_fraction: 0, truncated_fraction: 0, turns_mean: 1.5 + i / 10, turns_max: 3, tool_calls_mean: 1, tool_calls_max: 2, tool_error_fraction: 0.25, invalid_fraction: 0.1, time_sample_s: 1, time_eval_s: 0, time_train_s: 1 });
  writeFileSync(join(dir, 'metrics.jsonl'), [1, 2, 3].map((i) => JSON.stringify(step(i))).join('\n') + '\n');
  writeFileSync(join(dir, 'eval.jsonl'), JSON.stringify({ step: 3, pass1: 1, mean_reward: 1, n: 1, k: 0 }) + '\n');
  mkdirSync(join(dir, 'samples'));
  const messages = [
    { role: 'user', content: '2+3?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'add', arguments: '{"a":2,"b":3}' } }] },
    { role: 'tool', tool_call_id: 'c', name: 'add', content: '5' },
    { role: 'assistant', content: 'It is 5.' },
  ];
  writeFileSync(join(dir, 'samples/step-000003.json'), JSON.stringify([{ row: 0, prompt: 'P', completion: 'It is 5.', score: 1, valid: true, greedy: true, messages, finish: 'stop' }]));
  const md = readFileSync(writeReport(dir), 'utf8');
  assert.match(md, /!\[agent\]\(agent\.svg\)/);
  assert.match(readFileSync(join(dir, 'agent.svg'), 'utf8'), /tool errors \(fraction of calls\)/);
  assert.ok(md.includes('P\n--- assistant ---\n→ add({"a":2,"b":3})\n--- tool add ---\n5\n--- assistant ---\nIt is 5.\n```'), md);
});
