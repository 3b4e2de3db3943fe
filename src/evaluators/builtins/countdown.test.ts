import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countdownEvaluator } from './countdown.js';
import { evaluateExpression, ExpressionError, formatRational } from './rational-expression.js';
import { rollout } from '../test-helpers.js';

const gt = { numbers: [3, 5, 7, 2], target: 28 };
const ev = countdownEvaluator();
const score = async (answer: string, truth: unknown = gt) => ev.evaluate(rollout(answer, truth));

test('exact rational arithmetic: (1/3)*3 is exactly 1, 7/2 stays a fraction', () => {
  assert.equal(formatRational(evaluateExpression('(1/3)*3').value), '1');
  assert.equal(formatRational(evaluateExpression('7/2').value), '7/2');
  assert.equal(formatRational(evaluateExpression('10 - 4 - 3').value), '3'); // left-associative
  assert.equal(formatRational(evaluateExpression('2*3+4*5').value), '26'); // precedence
  assert.equal(formatRational(evaluateExpression('100/(5-3)/2').value), '25');
  assert.deepEqual(evaluateExpression('(3 + 5) * 2').numbers, [3n, 5n, 2n]);
});

test('the parser refuses anything but integers, + - * / and parentheses', () => {
  for (const bad of ['2**3', '2^3', 'Math.max(1,2)', '1.5*2', '-3+5', '3+', '(3+5', '3 5', 'process', '2;3', '1e3', '', '(((((((((((((((((((((((((((((((((((((((((((((((((((1)))))))))))))))))))))))))))))))))))))))))))))))))))']) {
    assert.throws(() => evaluateExpression(bad), ExpressionError, bad);
  }
  assert.throws(() => evaluateExpression('5/(3-3)'), /division by zero/);
  assert.throws(() => evaluateExpression('1'.repeat(20)), /too long/);
});

test('a correct equation scores 1', async () => {
  const r = await score('<think>7*3 = 21, plus 5 and 2</think><answer>7*3+5+2</answer>');
  assert.equal(r.score, 1, r.reason);
  assert.equal((await score('<answer>(7*3) + 5 + 2 = 28</answer>')).score, 1);
  assert.equal((await score('<answer>(5+2)*(7-3)</answer>')).score, 1);
});

test('the last <answer> counts', async () => {
  assert.equal((await score('<answer>1+1</answer> retry: <answer>7*3+5+2</answer>')).score, 1);
});

test('partial credit: numbers right but wrong value 0.3; numbers reused or missing 0.1; no tag 0', async () => {
  const wrongValue = await score('<answer>3+5+7+2</answer>');
  assert.equal(wrongValue.score, 0.3);
  assert.equal(wrongValue.metrics!.uses_numbers!.score, 1);
  const reused = await score('<answer>7*3+7+1</answer>'); // 7 used twice, 1 not given
  assert.equal(reused.score, 0.1);
  assert.equal(reused.metrics!.uses_numbers!.score, 0);
  const reachesTargetByReuse = await score('<answer>7*3+7</answer>'); // = 28 but reuses 7, omits 5 and 2
  assert.equal(reachesTargetByReuse.score, 0.1);
  assert.equal(reachesTargetByReuse.metrics!.equals_target!.score, 1);
  const missing = await score('<answer>7*3+5</answer>');
  assert.equal(missing.score, 0.1);
  const none = await score('28');
  assert.equal(none.score, 0);
  assert.equal(none.metrics!.format!.score, 0);
});

test('adversarial answers: division by zero, code, claims of the target', async () => {
  const dz = await score('<answer>(3+5+7+2)/(5-5)</answer>');
  assert.equal(dz.score, 0.1);
  assert.match(dz.reason!, /division by zero/);
  const code = await score('<answer>process.exit(1)</answer>');
  assert.equal(code.score, 0.1);
  assert.match(code.reason!, /unexpected character/);
  const falseClaim = await score('<answer>3+5+7+2 = 28</answer>'); // claims the target, computes 17
  assert.equal(falseClaim.score, 0.3);
  const otherTarget = await score('<answer>3+5+7+2 = 17</answer>');
  assert.equal(otherTarget.score, 0.1);
  assert.match(otherTarget.reason!, /not the target/);
  const fractionNotInteger = await score('<answer>7/2</answer>', { numbers: [7, 2], target: 3 });
  assert.equal(fractionNotInteger.score, 0.3); // 7/2 = 3.5 is not 3 (no rounding)
});

test('a malformed ground truth is an invalid result, not a zero', async () => {
  for (const bad of [undefined, 'x', { numbers: [], target: 1 }, { numbers: [1.5], target: 2 }, { numbers: [1, 2] }]) {
    const r = await score('<answer>1+2</answer>', bad ?? null);
    assert.equal(r.valid, false, JSON.stringify(bad));
  }
});

test('the public Countdown layout — "nums" in ground_truth or nums/target as row fields — scores exactly like {numbers, target}', async () => {
  const answers = ['<answer>(5+2)*(7-3)</answer>', '<answer>3+5+7+2</answer>', '<answer>7*3+7</answer>', '<answer>1/0</answer>', 'no tag'];
  for (const a of answers) {
    const ref = await score(a);
    const nums = await ev.evaluate(rollout(a, { nums: [3, 5, 7, 2], target: 28 }));
    const columns = await ev.evaluate(rollout(a, undefined, { nums: [3, 5, 7, 2], target: 28 }));
    const columnsNumbers = await ev.evaluate(rollout(a, undefined, { numbers: [3, 5, 7, 2], target: 28 }));
    for (const r of [nums, columns, columnsNumbers]) {
      assert.equal(r.valid, true, r.reason);
      assert.deepEqual({ score: r.score, metrics: r.metrics }, { score: ref.score, metrics: ref.metrics }, a);
    }
  }
  // ground_truth wins over the row's fields
  assert.equal((await ev.evaluate(rollout('<answer>1+2</answer>', { nums: [1, 2], target: 3 }, { nums: [4, 5], target: 9 }))).score, 1);
  // and errors name the field as the row spells it
  assert.match((await ev.evaluate(rollout('<answer>1</answer>', { nums: [], target: 1 }))).reason!, /ground_truth\.nums must be a non-empty array/);
  assert.match((await ev.evaluate(rollout('<answer>1</answer>', undefined, { nums: [1] }))).reason!, /the row's target must be an integer/);
  assert.match((await ev.evaluate(rollout('<answer>1</answer>', { target: 1 }))).reason!, /no "numbers" \(or "nums"\)/);
});

test('answers outside the grammar never reach the target: other digits, operators, implicit products, empty parentheses', async () => {
  const truth = { numbers: [2, 3, 4], target: 24 };
  for (const a of ['２*3*4', '٢*3*4', '2×3×4', '2*3*4÷1', '2(3*4)', '(2)(3)(4)', '2*3*4*()', '2*3*4+0x0', '2*3*4 % 5', '2*3*4!', '2*3*4e0', '2_0*3*4', '+2*3*4', '2*3*4,5']) {
    const r = await score(`<answer>${a}</answer>`, truth);
    assert.equal(r.metrics!.valid_expression!.score, 0, a);
    assert.equal(r.score, 0.1, a);
  }
  // nested or repeated tags: only the last complete one counts, and it is parsed as it is
  assert.equal((await score('<answer>2*3*4</answer><answer>2+3+4</answer>', truth)).score, 0.3);
  assert.equal((await score('<answer><answer>2*3*4</answer>', truth)).score, 0.1);
});
