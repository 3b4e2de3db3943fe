/**
 * The LLM-judge and score_model evaluators end to end against a real `rft serve` child process
 * (no stub): the served model is a scripted one that answers every chat with "SCORE: 7", so the
 * expected grades are known by hand: 7 on [0, 10] → 0.7, 7 on [1, 9] → 0.75.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { llmJudgeEvaluator } from '../evaluators/builtins/llm-judge.js';
import { loadEvaluator } from '../evaluators/spec/load.js';
import type { Rollout } from '../contracts/evaluation.js';
import { writeScriptedModel } from '../server/gateway-fixture.js';

const main = fileURLToPath(new URL('./main.js', import.meta.url));
let dir: string;
let child: ChildProcess;
let baseUrl: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rft-judge-'));
  const modelDir = join(dir, 'judge');
  writeScriptedModel(modelDir, ['SCORE: 7']);
  child = spawn(process.execPath, [main, 'serve', '--model', modelDir, '--port', '0', '--api-key', 'judge-key', '--name', 'judge'], { stdio: ['ignore', 'ignore', 'pipe'] });
  baseUrl = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
      const m = / on (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`rft serve exited (${code}): ${err}`)));
  });
});
after(() => {
  child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const rollout: Rollout = { row: { messages: [{ role: 'user', content: 'What is 2+2?' }], ground_truth: '4' }, messages: [{ role: 'user', content: 'What is 2+2?' }, { role: 'assistant', content: '4' }], output: '4' };

test('llm-judge against rft serve: the served model grades, the score is normalised', async () => {
  const r = await llmJudgeEvaluator({ rubric: 'Correct answers get 10.', baseUrl, model: 'judge', apiKey: 'judge-key', backoffMs: 5 }).evaluate(rollout);
  assert.equal(r.valid, true, r.reason);
  assert.equal(r.score, 0.7);
  assert.equal(r.metrics!.judge!.score, 7);
});

test('llm-judge against rft serve: a score outside the range and a wrong API key are invalid with the reason', async () => {
  const out = await llmJudgeEvaluator({ rubric: 'r', range: [0, 5], baseUrl, model: 'judge', apiKey: 'judge-key' }).evaluate(rollout);
  assert.equal(out.valid, false);
  assert.match(out.reason!, /score 7 is outside \[0, 5\]/);
  const denied = await llmJudgeEvaluator({ rubric: 'r', baseUrl, model: 'judge', apiKey: 'wrong' }).evaluate(rollout);
  assert.equal(denied.valid, false);
  assert.match(denied.reason!, /HTTP 401/);
  const noModel = await llmJudgeEvaluator({ rubric: 'r', baseUrl, model: 'not-served', apiKey: 'judge-key' }).evaluate(rollout);
  assert.equal(noModel.valid, false);
  assert.match(noModel.reason!, /HTTP 404.*not-served/);
});

test('score_model grader (OpenAI grader spec) against rft serve', async () => {
  const ev = await loadEvaluator({
    type: 'score_model', name: 'quality', model: 'judge', base_url: baseUrl, api_key: 'judge-key', range: [1, 9],
    input: [{ role: 'system', content: 'Grade 1-9.' }, { role: 'user', content: 'Q: {{item.messages}} A: {{sample.output_text}}' }],
  });
  const r = await ev.evaluate(rollout);
  assert.equal(r.valid, true, r.reason);
  assert.equal(r.score, 0.75);
});
