/**
 * OpenAI grader templates: `{{item.FIELD.sub}}` (the dataset row, extra fields and ground_truth
 * included), `{{sample.output_text}}` (the final assistant text), `{{sample.output_json.FIELD}}`
 * (the JSON found in it). Strings render as they are, other values as JSON. A reference to a field
 * that does not exist is an error, so a typo in a spec does not silently grade against "".
 */
import type { Rollout } from '../../contracts/evaluation.js';
import { locateJson } from '../text/json-locate.js';

export class TemplateError extends Error {}

const TEMPLATE_RE = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Checks the template's references at spec-parse time; returns problems as messages. */
export function checkTemplate(template: string): string[] {
  const problems: string[] = [];
  for (const m of template.matchAll(TEMPLATE_RE)) {
    const ref = m[1]!;
    if (!/^(item|sample)(\.[\w$-]+|\[\d+\])*$/.test(ref)) problems.push(`template {{${ref}}} is not a reference like {{item.FIELD}} or {{sample.output_text}}`);
    else if (ref.startsWith('sample') && !/^sample\.(output_text|output_json)(\.|\[|$)/.test(ref)) {
      problems.push(`template {{${ref}}}: the sample has output_text and output_json`);
    }
  }
  return problems;
}

export function resolveReference(ref: string, rollout: Rollout): unknown {
  const parts = ref.split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== '');
  let cur: unknown;
  const head = parts.shift();
  if (head === 'item') cur = rollout.row;
  else if (head === 'sample') {
    const key = parts.shift();
    if (key === 'output_text') cur = rollout.output;
    else if (key === 'output_json') {
      const found = locateJson(rollout.output);
      if (!found) throw new TemplateError(`{{${ref}}}: the output contains no JSON`);
      cur = found.value;
    } else throw new TemplateError(`{{${ref}}}: unknown sample field "${key}"`);
  } else throw new TemplateError(`{{${ref}}}: references start with item or sample`);
  for (const p of parts) {
    // Own properties only: inherited names (`constructor`, `__proto__`) are not fields of the data.
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, p)) {
      throw new TemplateError(`{{${ref}}}: no field "${p}"`);
    }
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

export function renderTemplate(template: string, rollout: Rollout): string {
  return template.replace(TEMPLATE_RE, (_, ref: string) => {
    const v = resolveReference(ref, rollout);
    return typeof v === 'string' ? v : JSON.stringify(v) ?? '';
  });
}

/** A template that is exactly one reference (`"{{item.x}}"`) yields the value itself, not its text. */
export function renderValue(template: string, rollout: Rollout): unknown {
  const m = /^\{\{\s*([^{}]*?)\s*\}\}$/.exec(template.trim());
  return m ? resolveReference(m[1]!, rollout) : renderTemplate(template, rollout);
}
