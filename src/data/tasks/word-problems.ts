/**
 * Word problems (percentages, discounts, tax, rates, unit prices, work rates) with teacher
 * solutions `[WORK]…[/WORK][RESULT]…[/RESULT]`.
 *
 * Row: ground_truth "<number as a string>" (e.g. "200", "12.5"), plus extra fields
 * `template` (its id) and `params` (the numbers the question states).
 */
import type { Rng } from '../random.js';
import { FAMILIES, TEMPLATES, type Family, type Template } from './word-problem-templates.js';
import type { KnobSpec, KnobValues, TaskExample, TaskGenerator } from './types.js';

export const SYSTEM_PROMPT =
  'Solve the problem. Show your calculation inside [WORK] [/WORK] and give only the final number inside [RESULT] [/RESULT].';

export const wordProblemKnobs: KnobSpec[] = [
  { name: 'difficulty', type: 'string', description: 'solution steps: "1", "2", "3" or a range like "1-3"', default: '1-2' },
  { name: 'templates', type: 'list', description: `template families (comma-separated): ${FAMILIES.join(', ')}`, default: [...FAMILIES] },
];

/** The templates the knobs allow; throws a RangeError naming a bad knob or an empty selection. */
export function selectTemplates(k: KnobValues): Template[] {
  const m = /^(\d)(?:-(\d))?$/.exec(String(k['difficulty']).trim());
  if (!m) throw new RangeError(`--difficulty must be a step count like "2" or a range like "1-3", got ${JSON.stringify(k['difficulty'])}`);
  const lo = Number(m[1]);
  const hi = Number(m[2] ?? m[1]);
  const families = k['templates'] as string[];
  const unknown = families.filter((f) => !FAMILIES.includes(f as Family));
  if (unknown.length > 0) throw new RangeError(`unknown --templates ${unknown.join(', ')}: choose from ${FAMILIES.join(', ')}`);
  const chosen = TEMPLATES.filter((t) => t.steps >= lo && t.steps <= hi && families.includes(t.family));
  if (chosen.length === 0) {
    const have = TEMPLATES.filter((t) => families.includes(t.family)).map((t) => `${t.id} (${t.steps})`);
    throw new RangeError(`no word-problem template has ${lo === hi ? lo : `${lo}-${hi}`} steps in ${families.join(', ')}; available: ${have.join(', ')}`);
  }
  return chosen;
}

export function makeWordProblem(rng: Rng, templates: readonly Template[]): TaskExample {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const t = rng.pick(templates);
    const p = t.make(rng);
    if (!p) continue;
    const answer = p.answer.toDecimal(2)!;
    const extra = { template: t.id, params: p.params };
    const prompt = [{ role: 'system' as const, content: SYSTEM_PROMPT }, { role: 'user' as const, content: p.question }];
    return {
      rft: { messages: prompt, ground_truth: answer, ...extra },
      sft: { messages: [...prompt, { role: 'assistant', content: `[WORK]${p.work.join('\n')}[/WORK][RESULT]${answer}[/RESULT]` }], ground_truth: answer, ...extra },
    };
  }
  throw new RangeError('could not make a clean word problem in 1000 tries (a template rejects all its numbers)');
}

export const wordProblems: TaskGenerator = {
  name: 'word-problems',
  description: 'percentages, discounts, tax, rates, unit prices and work rates with worked [WORK]/[RESULT] solutions',
  knobs: wordProblemKnobs,
  async setup(k) {
    const templates = selectTemplates(k);
    return { make: (rng) => makeWordProblem(rng, templates), files: [] };
  },
};
