import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobSpecError, parseRftJobSpec, parseSftJobSpec, rftTrainerConfig, sftTrainerConfig, type SpecIssue } from './spec.js';
import { rftFields } from '../train/config/rft.js';
import { sftFields } from '../train/config/sft.js';

function issuesOf(fn: () => unknown): SpecIssue[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof JobSpecError, `expected a JobSpecError, got ${e}`);
    return e.issues;
  }
  assert.fail('the spec was accepted');
}

const minimal = { dataset: 'accounts/me/datasets/d1', evaluator: 'numeric', trainingConfig: { baseModel: '/models/tiny' } };

test('a bad RFT spec is refused with every problem and its JSON path at once', () => {
  const issues = issuesOf(() =>
    parseRftJobSpec({
      evaluator: 3,
      trainingConfig: { baseModel: 'm', learningRate: -1, lr: 0.1, loraRank: 2.5 },
      inferenceParameters: { temperature: 'hot', responseCandidatesCount: 1 },
      lossConfig: { method: 'PPO' },
      color: 'blue',
    }),
  );
  const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
  assert.deepEqual(Object.keys(byPath).sort(), [
    'color', 'dataset', 'evaluator', 'inferenceParameters.responseCandidatesCount', 'inferenceParameters.temperature',
    'lossConfig.method', 'trainingConfig.learningRate', 'trainingConfig.loraRank', 'trainingConfig.lr',
  ]);
  assert.match(byPath.dataset!, /^required/);
  assert.equal(byPath.color, 'unknown field');
  assert.equal(byPath['trainingConfig.learningRate'], 'must be ≥ 0');
  assert.equal(byPath['inferenceParameters.responseCandidatesCount'], 'must be ≥ 2');
  assert.match(byPath['lossConfig.method']!, /GRPO, DAPO/);
  assert.match(byPath.evaluator!, /resource name, a built-in evaluator name, or an inline spec/);
});

test('Fireworks field names map onto the trainer options', () => {
  const { options } = parseRftJobSpec({
    ...minimal,
    trainingConfig: { baseModel: 'm', epochs: 2, learningRate: 3e-5, loraRank: 8, batchSize: 6, learningRateWarmupSteps: 4, optimizerWeightDecay: 0.01, maxContextLength: 512 },
    inferenceParameters: { maxOutputTokens: 64, temperature: 0.7, topP: 0.9, topK: 20, responseCandidatesCount: 4 },
    lossConfig: { method: 'GSPO_TOKEN', klBeta: 0.02 },
    maxConcurrentRollouts: 3,
  });
  assert.deepEqual(options, {
    epochs: 2, learningRate: 3e-5, loraRank: 8, promptsPerStep: 6, warmupSteps: 4, weightDecay: 0.01, maxNewTokens: 64, temperature: 0.7, topP: 0.9, topK: 20,
    rolloutsPerPrompt: 4, lossType: 'grpo', importanceSampling: 'sequence', klBeta: 0.02, maxConcurrentRollouts: 3, evaluatorConcurrency: 3,
  });
  assert.equal(parseRftJobSpec({ ...minimal, lossConfig: { method: 'DAPO' } }).options.clipEpsilonHigh, 0.28, "DAPO's clip-higher default");
  assert.equal(parseRftJobSpec({ ...minimal, trainingConfig: { baseModel: 'm', clipEpsilonHigh: 0.3 }, lossConfig: { method: 'DAPO' } }).options.clipEpsilonHigh, 0.3);
});

test('trainingConfig accepts every `rft train` option by its camelCase name, except the ones the job provides', () => {
  const owned = ['model', 'adapter', 'dataset', 'evalDataset', 'evaluator', 'agent', 'out'];
  const sample: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(rftFields)) {
    if (owned.includes(k)) continue;
    sample[k] = f.default ?? (f.kind === 'integer' || f.kind === 'number' ? Math.max(f.min ?? 1, 1) : f.kind === 'boolean' ? true : f.kind === 'enum' ? f.values![0] : f.kind === 'list' ? ['x'] : 'x');
  }
  const { options } = parseRftJobSpec({ ...minimal, trainingConfig: { baseModel: 'm', ...sample } });
  assert.deepEqual(options, sample);
  for (const k of owned) {
    const issues = issuesOf(() => parseRftJobSpec({ ...minimal, trainingConfig: { baseModel: 'm', [k]: 'x' } }));
    assert.deepEqual(issues, [{ path: `trainingConfig.${k}`, message: 'unknown field' }]);
  }
});

test('the same option given under two names is refused unless both agree', () => {
  const issues = issuesOf(() =>
    parseRftJobSpec({ ...minimal, trainingConfig: { baseModel: 'm', temperature: 0.5, batchSize: 2, promptsPerStep: 3 }, inferenceParameters: { temperature: 0.7 } }),
  );
  assert.deepEqual(issues.map((i) => i.path).sort(), ['inferenceParameters.temperature', 'trainingConfig.batchSize']);
  assert.match(issues.find((i) => i.path === 'inferenceParameters.temperature')!.message, /conflicts with trainingConfig.temperature/);
  assert.equal(parseRftJobSpec({ ...minimal, trainingConfig: { baseModel: 'm', temperature: 0.5 }, inferenceParameters: { temperature: 0.5 } }).options.temperature, 0.5);
});

test('cross-field checks: context length vs completion length, carve-out vs an evaluation dataset', () => {
  const issues = issuesOf(() =>
    parseRftJobSpec({ ...minimal, evaluationDataset: 'e', evalAutoCarveout: true, trainingConfig: { baseModel: 'm', maxContextLength: 64 }, inferenceParameters: { maxOutputTokens: 64 } }),
  );
  assert.deepEqual(issues.map((i) => i.path).sort(), ['evalAutoCarveout', 'trainingConfig.maxContextLength']);
});

test('evaluators: resource names, built-ins and inline specs pass; server file paths and inline modules are refused', () => {
  for (const evaluator of ['accounts/me/evaluators/e1', 'numeric', { type: 'numeric', rel_tol: 0.01 }, '{"type":"numeric"}']) parseRftJobSpec({ ...minimal, evaluator });
  assert.deepEqual(issuesOf(() => parseRftJobSpec({ ...minimal, evaluator: './grader.ts' })).map((i) => i.path), ['evaluator', 'evaluator']);
  const nested = issuesOf(() => parseRftJobSpec({ ...minimal, evaluator: { type: 'weighted', components: [{ evaluator: { type: 'module', path: '/etc/x.js' }, weight: 1 }] } }));
  assert.deepEqual(nested.map((i) => i.path), ['evaluator.components[0].evaluator.type']);
});

test('the trainer configuration of a job: defaults filled in, paths from the resolved resources', () => {
  const { options } = parseRftJobSpec({ ...minimal, trainingConfig: { baseModel: 'm', steps: 3 } });
  const c = rftTrainerConfig(options, { model: '/m', dataset: '/d.jsonl', evaluator: 'numeric', out: '/run' });
  assert.equal(c.steps, 3);
  assert.equal(c.model, '/m');
  assert.equal(c.rolloutsPerPrompt, rftFields.rolloutsPerPrompt.default);
  assert.equal(c.evalDataset, undefined);
});

test('SFT specs: top-level Fireworks fields plus every `rft sft` option; a LoRA warm start is refused when mapped', () => {
  const { options } = parseSftJobSpec({ dataset: 'd', baseModel: 'm', epochs: 2, batchSize: 4, maxContextLength: 256, learningRateWarmupSteps: 1, schedule: 'cosine' });
  assert.deepEqual(options, { epochs: 2, batchSize: 4, schedule: 'cosine', warmupSteps: 1, maxLength: 256 });
  const c = sftTrainerConfig(options, { model: '/m', dataset: '/d', out: '/o', evalDataset: '/e' });
  assert.equal(c.eval, '/e');
  assert.equal(c.loraRank, sftFields.loraRank.default);
  assert.deepEqual(issuesOf(() => parseSftJobSpec({ dataset: 'd', baseModel: 'm', maxLength: 100, maxContextLength: 200 })).map((i) => i.path), ['maxContextLength']);
  assert.deepEqual(issuesOf(() => sftTrainerConfig({}, { model: '/m', adapter: '/a', dataset: '/d', out: '/o' })).map((i) => i.path), ['warmStartFrom']);
});
