/**
 * `format`: the output follows a required layout.
 * Tags mode (default `<think>…</think><answer>…</answer>`): tags are looked for in order; the score is
 * 1 when all are present, closed and in order with nothing but whitespace outside them, 0.8 when all
 * are there in order but other text surrounds them, else 0.5 × the fraction found in order.
 * Regex mode: 1 if the regex matches the output, else 0.
 */
import type { EvaluationResult, Evaluator, Rollout } from '../../contracts/evaluation.js';
import type { Options } from '../spec/issues.js';
import { round } from './common.js';

export interface FormatOptions {
  /** Tag names in the required order. */
  tags?: string[];
  /** `angle` = `<x>…</x>`, `bracket` = `[x]…[/x]`. */
  style?: 'angle' | 'bracket';
  /** Alternative to tags: a regular expression the output must match. */
  regex?: string;
  flags?: string;
}

export const FORMAT_PRESETS: Record<string, Pick<FormatOptions, 'tags' | 'style'>> = {
  'think-answer': { tags: ['think', 'answer'], style: 'angle' },
  'work-result': { tags: ['WORK', 'RESULT'], style: 'bracket' },
};

export function formatEvaluator(opts: FormatOptions = {}): Evaluator {
  if (opts.regex !== undefined) {
    const re = new RegExp(opts.regex, opts.flags ?? '');
    return {
      name: 'format',
      evaluate: ({ output }) => {
        const ok = re.test(output);
        re.lastIndex = 0;
        return { score: ok ? 1 : 0, valid: true, reason: ok ? 'matches the format' : `does not match /${opts.regex}/`, metrics: { format: { score: ok ? 1 : 0 } } };
      },
    };
  }
  const tags = opts.tags ?? ['think', 'answer'];
  const style = opts.style ?? 'angle';
  return { name: 'format', evaluate: (r) => scoreTags(r, tags, style) };
}

function scoreTags({ output }: Rollout, tags: string[], style: 'angle' | 'bracket'): EvaluationResult {
  const open = (t: string) => (style === 'angle' ? `<${t}>` : `[${t}]`);
  const close = (t: string) => (style === 'angle' ? `</${t}>` : `[/${t}]`);
  const nonSpace = (s: string) => s.replace(/\s+/g, '').length;
  let pos = 0;
  let found = 0;
  let covered = 0; // non-whitespace characters inside the spans found, tags included
  const missing: string[] = [];
  for (const t of tags) {
    const i = output.indexOf(open(t), pos);
    const j = i < 0 ? -1 : output.indexOf(close(t), i + open(t).length);
    if (i < 0 || j < 0) {
      missing.push(open(t) + (i >= 0 ? ` (no ${close(t)})` : ''));
      continue;
    }
    found++;
    pos = j + close(t).length;
    covered += nonSpace(output.slice(i, pos));
  }
  const all = found === tags.length;
  const clean = all && covered === nonSpace(output);
  const score = all ? (clean ? 1 : 0.8) : 0.5 * (found / tags.length);
  const reason = all
    ? clean ? 'all tags present, in order' : 'all tags present, in order, with text outside them'
    : `missing or out of order: ${missing.join(', ')}`;
  return {
    score: round(score),
    valid: true,
    reason,
    metrics: {
      tags_found: { score: round(found / tags.length) },
      strict: { score: clean ? 1 : 0 },
    },
  };
}

export function parseFormat(o: Options): FormatOptions {
  const preset = o.oneOf('preset', Object.keys(FORMAT_PRESETS));
  const tags = o.stringArray('tags', { nonEmpty: true });
  const style = o.oneOf('style', ['angle', 'bracket'] as const);
  const regex = o.string('regex');
  const flags = o.string('flags');
  if (regex !== undefined) {
    try {
      new RegExp(regex, flags ?? '');
    } catch (e) {
      o.issues.add(o.at('regex'), `is not a valid regular expression: ${(e as Error).message}`);
    }
    if (tags || preset) o.issues.add(o.at('regex'), 'give either regex or tags/preset, not both');
  }
  const base = preset ? FORMAT_PRESETS[preset]! : {};
  return { ...base, ...(tags ? { tags } : {}), ...(style ? { style } : {}), ...(regex !== undefined ? { regex, flags } : {}) };
}
