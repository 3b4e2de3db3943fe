import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closestKey, configFromFlags } from './flags.js';
import { rftFields } from '../train/config/rft.js';

const required = { model: 'm', dataset: 'd.jsonl', out: 'o' };
function withFile(content: unknown): string {
  const p = join(mkdtempSync(join(tmpdir(), 'rft-flags-')), 'cfg.json');
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return p;
}
const fails = (file: string, opts: Record<string, unknown> = {}) => {
  try {
    configFromFlags(rftFields, { config: file, ...opts }, 'train');
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail('expected the configuration to be refused');
};

test('--config accepts the flag names in camelCase (lr, warmup) and the long keys, and an evaluator given as an object', () => {
  const spec = { type: 'numeric', rel_tol: 0.01 };
  const c = configFromFlags(rftFields, { config: withFile({ ...required, lr: 0.01, warmup: 3, rolloutsPerPrompt: 4, evaluator: spec }) }, 'train');
  assert.equal(c.learningRate, 0.01);
  assert.equal(c.warmupSteps, 3);
  assert.equal(c.rolloutsPerPrompt, 4);
  assert.deepEqual(c.evaluator, spec);
  const long = configFromFlags(rftFields, { config: withFile({ ...required, evaluator: 'numeric', learningRate: 0.02, warmupSteps: 1 }) }, 'train');
  assert.deepEqual([long.learningRate, long.warmupSteps], [0.02, 1]);
  // flags override the file
  const over = configFromFlags(rftFields, { config: withFile({ ...required, evaluator: 'numeric', lr: 0.01 }), lr: '0.5' }, 'train');
  assert.equal(over.learningRate, 0.5);
});

test('--config: an unknown key is refused with the closest known one; one option under two names is refused; every problem at once', () => {
  const m = fails(withFile({ ...required, evaluator: 'numeric', lerningRate: 1, 'rollouts-per-prompt': 4, stepz: 3, zzzzzzzz: 1, rewardScaling: 'nope' }));
  assert.match(m, /unknown key "lerningRate" \(did you mean "learningRate"\?\)/);
  assert.match(m, /unknown key "rollouts-per-prompt" \(did you mean "rolloutsPerPrompt"\?\)/);
  assert.match(m, /unknown key "stepz" \(did you mean "steps"\?\)/);
  assert.match(m, /unknown key "zzzzzzzz"(?! \(did)/);
  assert.match(m, /rewardScaling \(--reward-scaling\): expected one of: group, batch, none/);
  assert.match(fails(withFile({ ...required, evaluator: 'numeric', lr: 1, learningRate: 2 })), /"lr" and "learningRate" both set learningRate; keep one/);
  assert.match(fails(withFile({ ...required, evaluator: 42 })), /evaluator \(--evaluator\): expected a SPEC string or a JSON object/);
});

test('--config: malformed JSON is reported with its line and column', () => {
  const file = withFile('{\n  "model": "m",\n  "lr": ,\n}');
  assert.equal(fails(file), `--config ${file}: invalid JSON at line 3, column 9: value expected`);
  assert.match(fails(withFile('[1]')), /expected a JSON object/);
});

test('closestKey: case and separators first, then a near spelling, else nothing', () => {
  const keys = ['learningRate', 'lr', 'steps', 'seed'];
  assert.equal(closestKey('learning_rate', keys), 'learningRate');
  assert.equal(closestKey('LR', keys), 'lr');
  assert.equal(closestKey('setps', keys), 'steps');
  assert.equal(closestKey('temperature', keys), undefined);
});
