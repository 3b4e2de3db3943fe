/** Option readers and helpers shared by the built-in evaluators. */
import type { Rollout } from '../../contracts/evaluation.js';
import { EXTRACT_MODES, type ExtractMode } from '../text/extract.js';
import { checkTemplate, renderValue } from '../graders/template.js';
import { describeValue, type Options } from '../spec/issues.js';

/** `extract`: a mode name, `{tag, style?}` or `{regex, flags?, group?}`. */
export function readExtract(o: Options, key = 'extract'): ExtractMode | undefined {
  const v = o.raw(key);
  if (v === undefined) return undefined;
  if (typeof v === 'string') {
    if ((EXTRACT_MODES as readonly string[]).includes(v)) return v as ExtractMode;
    o.issues.add(o.at(key), `must be one of ${EXTRACT_MODES.join(', ')}, {"tag": "X"} or {"regex": "..."}; got ${JSON.stringify(v)}`);
    return undefined;
  }
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const r = v as Record<string, unknown>;
    if (typeof r.tag === 'string' && r.tag !== '') {
      if (r.style !== undefined && r.style !== 'angle' && r.style !== 'bracket') {
        o.issues.add(`${o.at(key)}.style`, `must be "angle" (<X>…</X>) or "bracket" ([X]…[/X])`);
        return undefined;
      }
      return { tag: r.tag, style: (r.style as 'angle' | 'bracket' | undefined) ?? 'angle' };
    }
    if (typeof r.regex === 'string') {
      try {
        new RegExp(r.regex, typeof r.flags === 'string' ? r.flags : '');
      } catch (e) {
        o.issues.add(`${o.at(key)}.regex`, `is not a valid regular expression: ${(e as Error).message}`);
        return undefined;
      }
      return { regex: r.regex, flags: typeof r.flags === 'string' ? r.flags : undefined, group: typeof r.group === 'number' ? r.group : undefined };
    }
  }
  o.issues.add(o.at(key), `must be a mode name, {"tag": "X"} or {"regex": "..."}; got ${describeValue(v)}`);
  return undefined;
}

/** `reference`: a template such as "{{item.answer}}"; checked now, rendered per rollout. */
export function readReference(o: Options): string | undefined {
  const ref = o.string('reference');
  if (ref !== undefined) for (const p of checkTemplate(ref)) o.issues.add(o.at('reference'), p);
  return ref;
}

/** The expected answer: the rendered `reference` template when given, else the row's ground_truth. */
export function expectedValue(rollout: Rollout, reference: string | undefined): unknown {
  return reference !== undefined ? renderValue(reference, rollout) : rollout.row.ground_truth;
}

export function asText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return undefined;
}

export function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
