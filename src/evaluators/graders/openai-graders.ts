/**
 * OpenAI grader objects (the `grader` of OpenAI's reinforcement fine-tuning), parsed into
 * evaluators:
 * - `string_check` {input, reference, operation: eq|ne|like|ilike} → 1 or 0 (like = contains,
 *   ilike = contains ignoring case);
 * - `text_similarity` {input, reference, evaluation_metric, pass_threshold?} → the similarity
 *   (fuzzy_match, bleu, gleu, rouge_1…rouge_5, rouge_l; meteor and cosine are not supported);
 * - `score_model` {input: messages, model, range?, sampling_params?} → the model's score scaled
 *   from `range` (default [0, 1]) to [0, 1];
 * - `label_model` {input: messages, model, labels, passing_labels} → 1 if the label passes;
 * - `multi` {graders: {name: grader}, calculate_output: formula} → the formula over the graders'
 *   scores (each grader's own scale: a score_model's raw score, 1/0 for string checks).
 * Templates `{{item.*}}`, `{{sample.output_text}}`, `{{sample.output_json.*}}` fill input/reference.
 */
import type { EvaluationResult, Evaluator, MetricResult, Rollout } from '../../contracts/evaluation.js';
import { readEndpoint, readRange } from '../builtins/llm-judge.js';
import { round } from '../builtins/common.js';
import { describeValue, Options, type Issues } from '../spec/issues.js';
import { bleu, fuzzySimilarity, gleu, rougeL, rougeN } from '../text/similarity.js';
import { FormulaError, parseFormula } from './formula.js';
import { chatCompletion, finalJsonObject, JudgeError, parseScore, type JudgeEndpoint } from './openai-client.js';
import { checkTemplate, renderTemplate, TemplateError } from './template.js';

export const OPENAI_GRADER_TYPES = ['string_check', 'text_similarity', 'score_model', 'label_model', 'multi'] as const;

const SIMILARITY: Record<string, (a: string, b: string) => number> = {
  fuzzy_match: fuzzySimilarity,
  bleu,
  gleu,
  rouge_1: (a, b) => rougeN(a, b, 1),
  rouge_2: (a, b) => rougeN(a, b, 2),
  rouge_3: (a, b) => rougeN(a, b, 3),
  rouge_4: (a, b) => rougeN(a, b, 4),
  rouge_5: (a, b) => rougeN(a, b, 5),
  rouge_l: rougeL,
};

/** A grader's score on its own scale (for `multi`) and its [0,1] result. */
interface RawGrade {
  raw: number;
  result: EvaluationResult;
}

type Grader = { name: string; grade(r: Rollout): Promise<RawGrade> };

function templated(o: Options, key: string): string {
  const t = o.string(key, { required: true });
  for (const p of checkTemplate(t)) o.issues.add(o.at(key), p);
  return t;
}

interface MessageTemplate {
  role: string;
  content: string;
}

function readMessages(o: Options, key: string): MessageTemplate[] {
  const v = o.raw(key);
  if (typeof v === 'string') {
    for (const p of checkTemplate(v)) o.issues.add(o.at(key), p);
    return [{ role: 'user', content: v }];
  }
  if (!Array.isArray(v) || v.length === 0) {
    o.issues.add(o.at(key), `must be a non-empty array of {role, content} messages, got ${describeValue(v)}`);
    return [];
  }
  return v.flatMap((m, i) => {
    const path = `${o.at(key)}[${i}]`;
    const content = m && typeof m === 'object' ? (m as { content?: unknown }).content : undefined;
    const text = typeof content === 'string' ? content : content && typeof content === 'object' && typeof (content as { text?: unknown }).text === 'string' ? (content as { text: string }).text : undefined;
    if (!m || typeof m !== 'object' || typeof (m as { role?: unknown }).role !== 'string' || text === undefined) {
      o.issues.add(path, 'must be {"role": "system"|"user"|"assistant"|"developer", "content": "..."}');
      return [];
    }
    for (const p of checkTemplate(text)) o.issues.add(`${path}.content`, p);
    return [{ role: (m as { role: string }).role, content: text }];
  });
}

function render(messages: MessageTemplate[], r: Rollout) {
  return messages.map((m) => ({ role: m.role === 'developer' ? 'system' : m.role, content: renderTemplate(m.content, r) }));
}

function grade(raw: number, score: number, reason: string, extra: Record<string, MetricResult> = {}): RawGrade {
  return { raw, result: { score: round(score, 6), valid: true, reason, metrics: extra } };
}

function failed(reason: string): RawGrade {
  return { raw: NaN, result: { score: 0, valid: false, reason } };
}

/** Turns a thrown template or endpoint error into an invalid grade. */
async function guarded(f: () => Promise<RawGrade> | RawGrade): Promise<RawGrade> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof TemplateError || e instanceof JudgeError || e instanceof FormulaError) return failed(e.message);
    throw e;
  }
}

function buildGrader(o: Options, issues: Issues, fallbackName: string): Grader | undefined {
  const type = o.oneOf('type', OPENAI_GRADER_TYPES, { required: true });
  const name = (typeof o.obj.name === 'string' && o.obj.name) || fallbackName;
  switch (type) {
    case 'string_check': {
      const input = templated(o, 'input');
      const reference = templated(o, 'reference');
      const op = o.oneOf('operation', ['eq', 'ne', 'like', 'ilike'] as const, { required: true });
      o.done();
      return {
        name,
        grade: (r) =>
          guarded(() => {
            const a = renderTemplate(input, r);
            const b = renderTemplate(reference, r);
            const ok = op === 'eq' ? a === b : op === 'ne' ? a !== b : op === 'like' ? a.includes(b) : a.toLowerCase().includes(b.toLowerCase());
            return grade(ok ? 1 : 0, ok ? 1 : 0, `${op}: ${ok ? 'pass' : 'fail'}`);
          }),
      };
    }
    case 'text_similarity': {
      const input = templated(o, 'input');
      const reference = templated(o, 'reference');
      const metricName = o.string('evaluation_metric', { required: true });
      const threshold = o.number('pass_threshold', { min: 0, max: 1 });
      const fn = SIMILARITY[metricName];
      if (metricName && !fn) {
        const note = metricName === 'meteor' || metricName === 'cosine' ? ' (not supported by rft: it needs WordNet / embeddings)' : '';
        issues.add(o.at('evaluation_metric'), `unknown metric ${JSON.stringify(metricName)}${note}; supported: ${Object.keys(SIMILARITY).join(', ')}`);
      }
      o.done();
      return {
        name,
        grade: (r) =>
          guarded(() => {
            const s = fn!(renderTemplate(input, r), renderTemplate(reference, r));
            const extra: Record<string, MetricResult> = threshold === undefined ? {} : { passed: { score: s >= threshold ? 1 : 0 } };
            return grade(s, s, `${metricName} ${s.toFixed(3)}${threshold === undefined ? '' : s >= threshold ? ' ≥ ' + threshold : ' < ' + threshold}`, extra);
          }),
      };
    }
    case 'score_model': {
      const messages = readMessages(o, 'input');
      const range = readRange(o) ?? [0, 1];
      const endpoint = readEndpoint(o);
      const sampling = readSampling(o);
      const threshold = o.number('pass_threshold');
      o.done();
      return {
        name,
        grade: (r) =>
          guarded(async () => {
            const reply = await chatCompletion(endpoint, withScoreInstruction(render(messages, r), range), sampling);
            const raw = parseScore(reply);
            if (raw === undefined) return failed(`no score in the model's reply: ${JSON.stringify(reply.slice(0, 120))}`);
            if (raw < range[0] || raw > range[1]) return failed(`the model's score ${raw} is outside [${range[0]}, ${range[1]}]`);
            const extra: Record<string, MetricResult> = threshold === undefined ? {} : { passed: { score: raw >= threshold ? 1 : 0 } };
            return grade(raw, (raw - range[0]) / (range[1] - range[0]), reply.trim().slice(0, 200), extra);
          }),
      };
    }
    case 'label_model': {
      const messages = readMessages(o, 'input');
      const labels = o.stringArray('labels', { required: true, nonEmpty: true }) ?? [];
      const passing = o.stringArray('passing_labels', { required: true, nonEmpty: true }) ?? [];
      for (const p of passing) if (labels.length && !labels.includes(p)) issues.add(o.at('passing_labels'), `${JSON.stringify(p)} is not one of the labels`);
      const endpoint: JudgeEndpoint = readEndpoint(o);
      const sampling = readSampling(o);
      o.done();
      return {
        name,
        grade: (r) =>
          guarded(async () => {
            const reply = await chatCompletion(endpoint, withLabelInstruction(render(messages, r), labels), sampling);
            const label = parseLabel(reply, labels);
            if (label === undefined) return failed(`the model's reply is none of the labels ${labels.join(', ')}: ${JSON.stringify(reply.slice(0, 120))}`);
            const ok = passing.includes(label);
            return grade(ok ? 1 : 0, ok ? 1 : 0, `label ${label}`);
          }),
      };
    }
    case 'multi': {
      const gradersRaw = o.raw('graders');
      const formulaSrc = o.string('calculate_output', { required: true });
      const graders: Grader[] = [];
      if (!gradersRaw || typeof gradersRaw !== 'object' || Array.isArray(gradersRaw)) {
        issues.add(o.at('graders'), 'must be an object {name: grader, ...}');
      } else {
        for (const [k, g] of Object.entries(gradersRaw)) {
          const sub = Options.of(g, `${o.at('graders')}.${k}`, issues);
          if (!sub) continue;
          const built = buildGrader(sub, issues, k);
          if (built) graders.push({ ...built, name: k });
        }
      }
      let formula: ReturnType<typeof parseFormula> | undefined;
      try {
        if (formulaSrc) formula = parseFormula(formulaSrc);
      } catch (e) {
        issues.add(o.at('calculate_output'), `${(e as Error).message}`);
      }
      if (formula) for (const v of formula.variables) if (!graders.some((g) => g.name === v) && gradersRaw && typeof gradersRaw === 'object' && !(v in gradersRaw)) issues.add(o.at('calculate_output'), `unknown grader ${JSON.stringify(v)}; graders: ${Object.keys(gradersRaw).join(', ')}`);
      o.done();
      return {
        name,
        grade: async (r) => {
          const grades = await Promise.all(graders.map((g) => g.grade(r)));
          const metrics: Record<string, MetricResult> = {};
          const vars: Record<string, number> = {};
          for (const [i, g] of graders.entries()) {
            const gr = grades[i]!;
            if (!gr.result.valid) return failed(`grader ${g.name}: ${gr.result.reason}`);
            vars[g.name] = gr.raw;
            metrics[g.name] = { score: gr.result.score, ...(gr.result.reason ? { reason: gr.result.reason } : {}) };
          }
          let out: number;
          try {
            out = formula!.evaluate(vars);
          } catch (e) {
            return failed(`calculate_output: ${(e as Error).message}`);
          }
          if (!Number.isFinite(out) || out < 0 || out > 1) {
            return { raw: out, result: { score: 0, valid: false, reason: `calculate_output gave ${out}, outside [0, 1] (divide by the sum of the weights to normalise)`, metrics } };
          }
          return { raw: out, result: { score: round(out, 6), valid: true, reason: `${formulaSrc} = ${round(out, 4)}`, metrics } };
        },
      };
    }
    default:
      return undefined;
  }
}

function readSampling(o: Options): Record<string, unknown> {
  const s = o.raw('sampling_params');
  if (s === undefined) return { temperature: 0 };
  if (!s || typeof s !== 'object' || Array.isArray(s)) {
    o.issues.add(o.at('sampling_params'), 'must be an object such as {"temperature": 0, "max_completion_tokens": 256}');
    return {};
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) if (['temperature', 'top_p', 'seed', 'max_completion_tokens', 'max_tokens'].includes(k)) out[k === 'max_completion_tokens' ? 'max_tokens' : k] = v;
  return out;
}

function withScoreInstruction(messages: { role: string; content: string }[], range: [number, number]) {
  return [...messages, { role: 'user', content: `Reply with JSON {"steps": [...], "result": x} where x is a number from ${range[0]} to ${range[1]}.` }];
}

function withLabelInstruction(messages: { role: string; content: string }[], labels: string[]) {
  return [...messages, { role: 'user', content: `Reply with exactly one of these labels: ${labels.join(', ')}.` }];
}

/**
 * The label in a reply: a JSON object ending it, {"result"|"label": L}; the whole reply; or the
 * last label word in it (the verdict comes last; earlier ones may be the response quoted).
 */
export function parseLabel(reply: string, labels: string[]): string | undefined {
  const t = reply.trim();
  const v = finalJsonObject(t);
  const l = v && (Object.hasOwn(v, 'result') ? v.result : Object.hasOwn(v, 'label') ? v.label : undefined);
  if (typeof l === 'string' && labels.includes(l.trim())) return l.trim();
  const exact = labels.find((l) => l.toLowerCase() === t.toLowerCase().replace(/[."'`*]/g, '').trim());
  if (exact) return exact;
  let best: { label: string; at: number } | undefined;
  for (const l of labels) {
    const re = new RegExp(`\\b${l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`, 'gi');
    for (const m of t.matchAll(re)) if (!best || m.index! > best.at) best = { label: l, at: m.index! };
  }
  return best?.label;
}

/** Parses one OpenAI grader object into an evaluator; issues are collected, not thrown. */
export function openAIGraderEvaluator(o: Options, issues: Issues): Evaluator | undefined {
  const type = typeof o.obj.type === 'string' ? o.obj.type : 'grader';
  const g = buildGrader(o, issues, type);
  if (!g) return undefined;
  return { name: g.name, evaluate: async (r) => (await g.grade(r)).result };
}
