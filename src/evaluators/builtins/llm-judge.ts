/**
 * `llm-judge`: a rubric sent to an OpenAI-compatible chat endpoint with the conversation, the
 * reference answer (ground_truth, when there is one) and the response; the judge replies with a
 * score in `range` (default [0, 10]), normalised to [0, 1]. A reply without a score, or with one
 * outside the range, is `valid: false` (so it is not trained on). Metric: `judge` (the raw score).
 */
import type { EvaluationResult, Evaluator, Rollout } from '../../contracts/evaluation.js';
import { chatCompletion, JudgeError, parseScore, type JudgeEndpoint } from '../graders/openai-client.js';
import type { Options } from '../spec/issues.js';
import { round } from './common.js';

export interface LlmJudgeOptions extends JudgeEndpoint {
  rubric: string;
  range?: [number, number];
  temperature?: number;
}

function transcript(r: Rollout): string {
  const prompt = r.row.messages.map((m) => `${m.role.toUpperCase()}: ${envelopeSafe(m.content ?? '')}`).join('\n\n');
  return prompt;
}

/**
 * Text placed inside the judge's envelope with the envelope's own tags written as entities, so a
 * response cannot close `<response>` early and speak to the judge as the grader's instructions.
 */
export function envelopeSafe(text: string): string {
  return text.replace(/<(\/?)\s*(conversation|reference_answer|response)\b([^>]*)>/gi, '&lt;$1$2$3&gt;');
}

export function judgeMessages(r: Rollout, rubric: string, range: [number, number]) {
  const reference = r.row.ground_truth === undefined ? '' : `\n\n<reference_answer>\n${envelopeSafe(typeof r.row.ground_truth === 'string' ? r.row.ground_truth : JSON.stringify(r.row.ground_truth))}\n</reference_answer>`;
  return [
    {
      role: 'system',
      content: `You are a strict grader. Grade the response by this rubric:\n\n${rubric}\n\nThink briefly, then end your reply with a line "SCORE: x" where x is a number from ${range[0]} to ${range[1]}.`,
    },
    { role: 'user', content: `<conversation>\n${transcript(r)}\n</conversation>${reference}\n\n<response>\n${envelopeSafe(r.output)}\n</response>` },
  ];
}

export function llmJudgeEvaluator(opts: LlmJudgeOptions): Evaluator {
  const range = opts.range ?? [0, 10];
  return {
    name: 'llm-judge',
    evaluate: async (rollout): Promise<EvaluationResult> => {
      let reply: string;
      try {
        reply = await chatCompletion(opts, judgeMessages(rollout, opts.rubric, range), { temperature: opts.temperature ?? 0 });
      } catch (e) {
        if (e instanceof JudgeError) return { score: 0, valid: false, reason: e.message };
        throw e;
      }
      const raw = parseScore(reply);
      if (raw === undefined) return { score: 0, valid: false, reason: `no score in the judge's reply: ${JSON.stringify(reply.slice(0, 120))}` };
      if (raw < range[0] || raw > range[1]) return { score: 0, valid: false, reason: `the judge's score ${raw} is outside [${range[0]}, ${range[1]}]` };
      const score = (raw - range[0]) / (range[1] - range[0]);
      return { score: round(score), valid: true, reason: reply.trim().split('\n').slice(-3).join(' ').slice(0, 300), metrics: { judge: { score: raw } } };
    },
  };
}

export function readRange(o: Options, key = 'range'): [number, number] | undefined {
  const v = o.raw(key);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length !== 2 || v.some((x) => typeof x !== 'number' || !Number.isFinite(x)) || v[0] >= v[1]) {
    o.issues.add(o.at(key), 'must be [min, max] with min < max, e.g. [0, 10]');
    return undefined;
  }
  return [v[0], v[1]];
}

/** Endpoint options shared by llm-judge, score_model and label_model. */
export function readEndpoint(o: Options): JudgeEndpoint {
  return {
    baseUrl: o.string('base_url'),
    apiKey: o.string('api_key'),
    model: o.string('model'),
    timeoutMs: o.number('timeout_ms', { min: 1 }),
    retries: o.number('retries', { min: 0, max: 20, integer: true }),
    backoffMs: o.number('backoff_ms', { min: 0 }),
  };
}

export function parseLlmJudge(o: Options): LlmJudgeOptions {
  return { rubric: o.string('rubric', { required: true }), range: readRange(o), temperature: o.number('temperature', { min: 0, max: 2 }), ...readEndpoint(o) };
}
