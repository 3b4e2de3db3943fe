/**
 * Countdown: combine the given numbers with + - * / (each used exactly once) to reach a target.
 * Instances are solvable by construction: we build a random expression tree over the numbers
 * with exact arithmetic and take its value as the target, retrying until it lands in range.
 *
 * Row: ground_truth { numbers: int[], target: int }; answer format <think>…</think><answer>EQUATION</answer>.
 */
import { Rational, R } from '../rational.js';
import type { Rng } from '../random.js';
import type { KnobSpec, KnobValues, TaskExample, TaskGenerator } from './types.js';

export type Op = '+' | '-' | '*' | '/';
const PREC: Record<Op, number> = { '+': 1, '-': 1, '*': 2, '/': 2 };

/** Expression tree: a leaf is one of the given numbers. */
export type Expr = { kind: 'num'; value: number } | { kind: 'op'; op: Op; left: Expr; right: Expr };

/** Prints with only the parentheses the precedence rules need: (a+b)*c, a-(b-c), a/(b*c). */
export function formatExpr(e: Expr): string {
  if (e.kind === 'num') return String(e.value);
  const p = PREC[e.op];
  const side = (child: Expr, right: boolean): string => {
    const s = formatExpr(child);
    if (child.kind === 'num') return s;
    const cp = PREC[child.op];
    const needs = cp < p || (right && cp === p && (e.op === '-' || e.op === '/'));
    return needs ? `(${s})` : s;
  };
  return `${side(e.left, false)} ${e.op} ${side(e.right, true)}`;
}

export interface CountdownKnobs {
  count: number;
  numMin: number;
  numMax: number;
  targetMin: number;
  targetMax: number;
  ops: Op[];
  fractions: boolean;
  /** 'verbose': full instructions and reasoning sentences; 'compact': short prompt and terse steps (small models, fewer tokens). */
  style: 'verbose' | 'compact';
  /** compact style: end the prompt with the answer-format sentence (off: fewer tokens for a model trained from scratch on the format). */
  formatHint: boolean;
}

export const countdownKnobs: KnobSpec[] = [
  { name: 'count', type: 'int', description: 'how many numbers (2-6)', default: 4 },
  { name: 'num-min', type: 'int', description: 'smallest number', default: 1 },
  { name: 'num-max', type: 'int', description: 'largest number', default: 99 },
  { name: 'target-min', type: 'int', description: 'smallest target', default: 1 },
  { name: 'target-max', type: 'int', description: 'largest target', default: 100 },
  { name: 'ops', type: 'string', description: 'allowed operators, e.g. "+-*/" or "+-"', default: '+-*/' },
  { name: 'fractions', type: 'bool', description: 'allow non-integer intermediate results (e.g. 7/2*4)', default: false },
  { name: 'style', type: 'string', description: '"verbose" (full instructions and reasoning) or "compact" (short prompt, terse steps: fewer tokens for small models)', default: 'verbose' },
  { name: 'format-hint', type: 'bool', description: 'compact style: end the prompt with "Answer in <think></think><answer></answer>." (false: 40 fewer tokens, for a model trained from scratch on the format)', default: true },
];

export function parseCountdownKnobs(k: KnobValues): CountdownKnobs {
  const knobs: CountdownKnobs = {
    count: k['count'] as number,
    numMin: k['num-min'] as number,
    numMax: k['num-max'] as number,
    targetMin: k['target-min'] as number,
    targetMax: k['target-max'] as number,
    ops: [...new Set((k['ops'] as string).replace(/\s+/g, '').split(''))] as Op[],
    fractions: k['fractions'] as boolean,
    style: k['style'] as CountdownKnobs['style'],
    formatHint: k['format-hint'] as boolean,
  };
  if (knobs.style !== 'verbose' && knobs.style !== 'compact') throw new RangeError(`--style must be "verbose" or "compact", got ${JSON.stringify(k['style'])}`);
  if (!knobs.formatHint && knobs.style !== 'compact') throw new RangeError('--format-hint false applies to --style compact (the verbose prompt states the format in its instructions)');
  if (knobs.count < 2 || knobs.count > 6) throw new RangeError(`--count must be 2..6, got ${knobs.count}`);
  if (knobs.numMin < 1 || knobs.numMax < knobs.numMin) throw new RangeError(`--num-min/--num-max must satisfy 1 <= min <= max, got ${knobs.numMin}..${knobs.numMax}`);
  if (knobs.targetMax < knobs.targetMin) throw new RangeError(`--target-min must be <= --target-max, got ${knobs.targetMin}..${knobs.targetMax}`);
  const bad = knobs.ops.filter((o) => !(o in PREC));
  if (bad.length > 0 || knobs.ops.length === 0) throw new RangeError(`--ops takes characters from "+-*/", got ${JSON.stringify(k['ops'])}`);
  return knobs;
}

interface Item {
  value: Rational;
  expr: Expr;
}

/** One combination step of the construction, for the teacher's reasoning. */
interface Step {
  a: Rational;
  op: Op;
  b: Rational;
  result: Rational;
}

function apply(op: Op, a: Rational, b: Rational): Rational | undefined {
  switch (op) {
    case '+':
      return a.add(b);
    case '-':
      return a.sub(b);
    case '*':
      return a.mul(b);
    case '/':
      return b.num === 0n ? undefined : a.div(b);
  }
}

/**
 * Tries to build one tree over `numbers` whose value is an integer target in range.
 * Intermediates stay positive (as in the game), and integral unless fractions are allowed.
 */
function buildTree(numbers: number[], knobs: CountdownKnobs, rng: Rng): { expr: Expr; target: number; steps: Step[] } | undefined {
  let items: Item[] = numbers.map((n) => ({ value: R(n), expr: { kind: 'num', value: n } }));
  const steps: Step[] = [];
  while (items.length > 1) {
    const [i, j] = rng.sample(items.map((_, x) => x), 2) as [number, number];
    const a = items[i]!;
    const b = items[j]!;
    let made: Item | undefined;
    for (const op of rng.shuffle(knobs.ops)) {
      const v = apply(op, a.value, b.value);
      if (v === undefined || v.num <= 0n) continue;
      if (!knobs.fractions && !v.isInteger()) continue;
      made = { value: v, expr: { kind: 'op', op, left: a.expr, right: b.expr } };
      steps.push({ a: a.value, op, b: b.value, result: v });
      break;
    }
    if (!made) return undefined;
    items = items.filter((_, x) => x !== i && x !== j);
    items.push(made);
  }
  const root = items[0]!;
  if (!root.value.isInteger()) return undefined;
  const target = Number(root.value.num);
  if (target < knobs.targetMin || target > knobs.targetMax) return undefined;
  return { expr: root.expr, target, steps };
}

export function countdownPrompt(numbers: number[], target: number, ops: Op[]): string {
  return (
    `Using the numbers [${numbers.join(', ')}], create an equation that equals ${target}. ` +
    `You can use the operations ${ops.join(' ')} and parentheses, and each number must be used exactly once. ` +
    `Show your reasoning in <think> </think> tags and give the final equation in <answer> </answer> tags, ` +
    `for example <answer>(1 + 2) / 3</answer>.`
  );
}

/** The short form of the task, for small models: the same facts and answer format in few tokens. */
export function compactCountdownPrompt(numbers: number[], target: number, formatHint = true): string {
  const task = `Make ${target} from ${numbers.join(' ')}.`;
  return formatHint ? `${task} Answer in <think></think><answer></answer>.` : task;
}

export function makeCountdown(rng: Rng, knobs: CountdownKnobs): TaskExample {
  for (let attempt = 0; attempt < 2000; attempt++) {
    const numbers = Array.from({ length: knobs.count }, () => rng.int(knobs.numMin, knobs.numMax));
    for (let t = 0; t < 20; t++) {
      const tree = buildTree(numbers, knobs, rng);
      if (!tree) continue;
      const compact = knobs.style === 'compact';
      const equation = compact ? formatExpr(tree.expr).replace(/ /g, '') : formatExpr(tree.expr);
      const think = compact
        ? tree.steps.map((s) => `${s.a}${s.op}${s.b}=${s.result}`).join(' ')
        : `I need to reach ${tree.target} with ${numbers.join(', ')}. ` +
          tree.steps.map((s) => `${s.a} ${s.op} ${s.b} = ${s.result}.`).join(' ') +
          ` That uses every number once, so ${equation} = ${tree.target}.`;
      const prompt = compact ? compactCountdownPrompt(numbers, tree.target, knobs.formatHint) : countdownPrompt(numbers, tree.target, knobs.ops);
      const ground_truth = { numbers, target: tree.target };
      return {
        rft: { messages: [{ role: 'user', content: prompt }], ground_truth },
        sft: { messages: [{ role: 'user', content: prompt }, { role: 'assistant', content: `<think>${think}</think><answer>${equation}</answer>` }], ground_truth },
      };
    }
  }
  throw new RangeError(
    `could not build a countdown instance with ${knobs.count} numbers in ${knobs.numMin}..${knobs.numMax}, ops "${knobs.ops.join('')}" and a target in ${knobs.targetMin}..${knobs.targetMax}: widen the target range or allow more operators`,
  );
}

export const countdown: TaskGenerator = {
  name: 'countdown',
  description: 'reach a target number with + - * / using each given number once (solvable by construction)',
  knobs: countdownKnobs,
  async setup(k) {
    const knobs = parseCountdownKnobs(k);
    return { make: (rng) => makeCountdown(rng, knobs), files: [] };
  },
};
