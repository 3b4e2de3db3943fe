import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FULL_PLAN, withOverrides } from './quickstart.js';
import { planOverrideProblems } from './quickstart-plan.js';

const bin = fileURLToPath(new URL('./main.js', import.meta.url));

test('plan overrides: unknown nested keys are refused with their path and the closest name', () => {
  assert.deepEqual(planOverrideProblems(FULL_PLAN, { rft: { stepz: 200 } }), ['unknown plan field "rft.stepz" (did you mean "rft.steps"?)']);
  assert.deepEqual(planOverrideProblems(FULL_PLAN, { rft: { loss: { klbeta: 0.1 } } }), ['unknown plan field "rft.loss.klbeta" (did you mean "rft.loss.klBeta"?)']);
  assert.match(planOverrideProblems(FULL_PLAN, { zzzzzz: 1 })[0], /^unknown plan field "zzzzzz"; fields: task, knobs, /);
  // optional model fields the default plan leaves out are known, and every trainer option (bench/diversity's variants)
  assert.deepEqual(planOverrideProblems(FULL_PLAN, { model: { headDim: 32, attentionBias: true } }), []);
  for (const rft of [{ loss: { entropyCoef: 0.01 } }, { refResetEvery: 40, loss: { klBeta: 0.02 } }, { policyUpdates: 2, loss: { lossMode: 'kl_cov' } },
    { advantage: { estimator: 'pass_at_k', passK: 4, passThreshold: 1 } }, { advantage: { estimator: 'w_reinforce', wReinforceLambda: 0.1 } }, { advantage: { unlikelinessBeta: 0.25 } }]) {
    assert.deepEqual(planOverrideProblems(FULL_PLAN, { rft }), [], JSON.stringify(rft));
  }
  assert.deepEqual(planOverrideProblems(FULL_PLAN, { rft: { advantage: { estimator: 'best' }, loss: { lossMode: 'x' } } }), [
    'rft.advantage.estimator: expected one of: grpo, pass_at_k, w_reinforce, got "best"',
    'rft.loss.lossMode: expected one of: vanilla, clip_cov, kl_cov, got "x"',
  ]);
});

test('plan overrides: wrong types and out-of-range values are refused, every one with its path', () => {
  const problems = planOverrideProblems(FULL_PLAN, {
    trainSize: 'lots', heldoutSize: 0, rftFull: 'yes', sft: 3, lora: { targetModules: [1] }, rft: { steps: 0, temperature: -1, schedule: 'sometimes', loss: { epsilonHigh: -0.1 } },
  });
  assert.deepEqual(problems, [
    'trainSize: expected a number, got "lots"',
    'heldoutSize: expected a whole number ≥ 1, got 0',
    'rftFull: expected true or false, got "yes"',
    'sft: expected an object, got 3',
    'lora.targetModules: expected an array of strings, got [1]',
    'rft.steps: must be ≥ 1, got 0',
    'rft.temperature: must be ≥ 0, got -1',
    'rft.schedule: expected one of: constant, linear, cosine, got "sometimes"',
    'rft.loss.epsilonHigh: must be ≥ 0, got -0.1',
  ]);
  assert.throws(() => withOverrides(FULL_PLAN, { trainSize: 2.5 }), /^Error: trainSize: expected a whole number ≥ 1, got 2\.5$/);
  assert.throws(() => withOverrides(FULL_PLAN, { knobs: { count: 'many' } }), /knobs: /);
  // a valid override still goes through
  assert.equal(withOverrides(FULL_PLAN, { knobs: { count: 4 }, rft: { steps: 5 } }).knobs.count, 4);
});

test('plan overrides: the diversity options are plan fields (off by default), checked against the rft option table', () => {
  const plan = withOverrides(FULL_PLAN, { rft: { refResetEvery: 40, loss: { entropyCoef: 0.01, lossMode: 'clip_cov' }, advantage: { estimator: 'pass_at_k', passK: 4 } } });
  assert.equal(plan.rft.refResetEvery, 40);
  assert.equal(plan.rft.loss.entropyCoef, 0.01);
  assert.equal(plan.rft.loss.klBeta, FULL_PLAN.rft.loss.klBeta, 'the rest of rft.loss stays');
  assert.deepEqual(plan.rft.advantage, { ...FULL_PLAN.rft.advantage, estimator: 'pass_at_k', passK: 4 });
  assert.deepEqual(FULL_PLAN.rft.advantage?.estimator, 'grpo');
  assert.deepEqual(planOverrideProblems(FULL_PLAN, { rft: { advantage: { estimator: 'bogus', passK: 0 }, loss: { lossMode: 'clip', entropyCoef: -1 } } }), [
    'rft.advantage.estimator: expected one of: grpo, pass_at_k, w_reinforce, got "bogus"',
    'rft.advantage.passK: must be ≥ 1, got 0',
    'rft.loss.lossMode: expected one of: vanilla, clip_cov, kl_cov, got "clip"',
    'rft.loss.entropyCoef: must be ≥ 0, got -1',
  ]);
});

test('rft quickstart --plan with a wrong type or an unknown nested key: refused before anything is written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-quickstart-plan-check-'));
  const cases: [unknown, RegExp][] = [
    [{ rft: { stepz: 200 } }, /--plan .*p0\.json: unknown plan field "rft\.stepz" \(did you mean "rft\.steps"\?\)/],
    [{ trainSize: 'lots' }, /--plan .*p1\.json: trainSize: expected a number, got "lots"/],
  ];
  cases.forEach(([plan, message], i) => {
    writeFileSync(join(dir, `p${i}.json`), JSON.stringify(plan));
    const r = spawnSync(process.execPath, [bin, 'quickstart', '--plan', join(dir, `p${i}.json`), '--out', join(dir, 'run')], { encoding: 'utf8', cwd: dir });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, message);
  });
  writeFileSync(join(dir, 'broken.json'), '{\n  "rft": {"steps": 3,}\n}');
  const r = spawnSync(process.execPath, [bin, 'quickstart', '--plan', join(dir, 'broken.json'), '--out', join(dir, 'run')], { encoding: 'utf8', cwd: dir });
  assert.match(r.stderr, /--plan .*broken\.json: invalid JSON at line 2, column 22: property name expected/);
  assert.ok(!existsSync(join(dir, 'run')) && !existsSync(join(dir, 'data')), `left behind: ${readdirSync(dir).join(', ')}`);
});
