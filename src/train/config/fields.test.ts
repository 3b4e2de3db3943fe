import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coerceFlag, markdownTable, parseConfig } from './fields.js';
import { rftFields } from './rft.js';

const minimal = { model: 'm', dataset: 'd.jsonl', evaluator: 'countdown', out: 'runs/x' };

test('defaults fill every optional field', () => {
  const c = parseConfig(rftFields, minimal, 'test');
  assert.equal(c.rolloutsPerPrompt, 8);
  assert.equal(c.lossType, 'grpo');
  assert.deepEqual(c.targetModules, ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
});

test('every problem is reported at once with its flag', () => {
  assert.throws(
    () => parseConfig(rftFields, { ...minimal, rolloutsPerPrompt: 1, lossType: 'ppo', learningRate: 'x', bogus: 1 }, 'job.json'),
    (e: Error) => {
      assert.match(e.message, /invalid configuration in job\.json/);
      assert.match(e.message, /rolloutsPerPrompt \(--rollouts-per-prompt\): must be ≥ 2/);
      assert.match(e.message, /lossType \(--loss-type\): expected one of: grpo, bnpo, dr_grpo, dapo/);
      assert.match(e.message, /learningRate \(--lr\): expected a number/);
      assert.match(e.message, /unknown option\(s\): bogus/);
      return true;
    },
  );
});

test('a missing required field is named', () => {
  assert.throws(() => parseConfig(rftFields, { model: 'm' }, 'cli'), /dataset \(--dataset\)/);
});

test('flags are coerced to the field type with a clear error', () => {
  assert.equal(coerceFlag('learningRate', rftFields.learningRate, '3e-5'), 3e-5);
  assert.deepEqual(coerceFlag('targetModules', rftFields.targetModules, 'q_proj, v_proj'), ['q_proj', 'v_proj']);
  assert.throws(() => coerceFlag('learningRate', rftFields.learningRate, 'fast'), /--lr expects a number, got "fast"/);
});

test('the markdown table lists each flag with its default', () => {
  const t = markdownTable(rftFields);
  assert.match(t, /\| `--rollouts-per-prompt` \| integer \| `8` \|/);
  assert.match(t, /\| `--model` \| string \| \(required\) \|/);
});
