// One suite every built-in must pass: whatever the output and ground truth, the result is a
// well-formed EvaluationResult (score in [0, 1], valid a boolean) and evaluate never throws.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Evaluator } from '../contracts/evaluation.js';
import { normaliseResult } from './define.js';
import { BUILTINS } from './registry.js';
import { loadEvaluator } from './spec/load.js';
import { rollout } from './test-helpers.js';

const outputs = [
  '',
  ' ',
  '<answer></answer>',
  '<think>' + 'x'.repeat(20_000) + '</think><answer>1+2</answer>',
  '```json\n{"a": [1, {"b": null}]}\n```',
  '[RESULT]NaN[/RESULT] \\boxed{}',
  'function f() { return 1 }',
  'SELECT 1',
  '\u0000\uFFFF\uD800 💥 ٣ <answer>١+٢</answer>',
  '{{item.ground_truth}} {{sample.output_text}}',
];
const truths: unknown[] = [undefined, null, '42', 42, ['a', 'b'], { numbers: [1, 2], target: 3 }, { sql: 'SELECT 1' }, { tests: [{ args: [], expected: 1 }] }, { a: [1] }];

const evaluators: Evaluator[] = [];
after(async () => {
  await Promise.all(evaluators.map((e) => e.close?.()));
});

for (const name of Object.keys(BUILTINS)) {
  test(`${name}: every output and ground truth gives a well-formed result`, async () => {
    const spec = name === 'llm-judge' ? { type: name, rubric: 'r', base_url: 'http://127.0.0.1:9/v1', model: 'm', retries: 0, timeout_ms: 200 } : name;
    const ev = await loadEvaluator(spec);
    evaluators.push(ev);
    const outs = name === 'code' || name === 'llm-judge' ? outputs.slice(0, 4).concat(outputs[6]!) : outputs;
    for (const gt of truths) {
      for (const out of outs) {
        const r = await ev.evaluate(rollout(out, gt));
        assert.deepEqual(normaliseResult(r), r, `${name} on ${JSON.stringify(out).slice(0, 40)} / ${JSON.stringify(gt)}`);
        assert.ok(r.score >= 0 && r.score <= 1);
      }
    }
  });
}
