/**
 * `json-fields`: structured extraction. Finds the JSON in the output (a ```json fence, the whole
 * text, or the first balanced {…} in prose), optionally validates it against a JSON Schema (ajv),
 * and gives per-field credit against the expected object (ground_truth, or `expected`):
 *   strings  fuzzy similarity after normalisation (max of Levenshtein and word-set ratio);
 *            below `min_similarity` (default 0.5) counts 0;
 *   numbers  exact (within 1e-9 relative), reading "$1.2M" / "1,200,000" strings as numbers;
 *   arrays   F1 of the two sets, elements matched one-to-one by the same rules;
 *   objects  the mean over the expected keys; booleans / null: exact.
 * Score = mean field score, or 0.1 × schema_valid + 0.9 × mean when a schema is given.
 * Metrics: `field.NAME` per expected field, `completeness` (share of expected fields present),
 * `schema_valid` (with a schema), `json_found`.
 */
import { createRequire } from 'node:module';
import type { Evaluator, MetricResult } from '../../contracts/evaluation.js';
import type { Options } from '../spec/issues.js';
import { locateJson } from '../text/json-locate.js';
import { numbersClose, parseNumber } from '../text/numbers.js';
import { fuzzySimilarity } from '../text/similarity.js';
import { expectedValue, readReference, round } from './common.js';

// ajv ships CommonJS with `module.exports = Ajv` and a `.default`; require avoids the interop dance.
const require = createRequire(import.meta.url);
const AjvClass = require('ajv') as typeof import('ajv').default;

export interface JsonFieldsOptions {
  schema?: Record<string, unknown>;
  /** Template for the expected object (default: the row's ground_truth). */
  reference?: string;
  min_similarity?: number;
  /** Per-field weights (default 1 each). */
  weights?: Record<string, number>;
}

export function compareValues(expected: unknown, got: unknown, minSim: number): number {
  if (got === undefined) return 0;
  if (typeof expected === 'number') {
    const g = typeof got === 'number' ? got : typeof got === 'string' ? parseNumber(got)?.value : undefined;
    return g !== undefined && numbersClose(g, expected, { abs: 1e-9, rel: 1e-9 }) ? 1 : 0;
  }
  if (typeof expected === 'string') {
    if (typeof got === 'number' || typeof got === 'string') {
      const e = parseNumber(expected);
      const g = typeof got === 'number' ? got : parseNumber(got)?.value;
      // "$12.5M" vs "12500000": both read as numbers, compare as numbers.
      if (e && g !== undefined && /^[-+\u2212]?[$€£¥₹]?\s*\d/.test(expected.trim())) return numbersClose(e.value, g, { abs: 1e-9, rel: 1e-9 }) ? 1 : 0;
      const s = fuzzySimilarity(expected, String(got));
      return s >= minSim ? s : 0;
    }
    return 0;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(got)) return 0;
    if (expected.length === 0 && got.length === 0) return 1;
    if (expected.length === 0 || got.length === 0) return 0;
    // Greedy one-to-one matching, best pairs first.
    const pairs: [number, number, number][] = [];
    expected.forEach((e, i) => got.forEach((g, j) => pairs.push([compareValues(e, g, minSim), i, j])));
    pairs.sort((a, b) => b[0] - a[0]);
    const usedE = new Set<number>();
    const usedG = new Set<number>();
    let matched = 0;
    for (const [s, i, j] of pairs) {
      if (s <= 0 || usedE.has(i) || usedG.has(j)) continue;
      usedE.add(i);
      usedG.add(j);
      matched += s;
    }
    const p = matched / got.length;
    const r = matched / expected.length;
    return p + r === 0 ? 0 : (2 * p * r) / (p + r);
  }
  if (expected !== null && typeof expected === 'object') {
    if (got === null || typeof got !== 'object' || Array.isArray(got)) return 0;
    const keys = Object.keys(expected);
    if (keys.length === 0) return 1;
    return keys.reduce((s, k) => s + compareValues((expected as Record<string, unknown>)[k], ownValue(got, k), minSim), 0) / keys.length;
  }
  return expected === got ? 1 : 0;
}

/**
 * An own property only: the model's JSON must not gain credit from what every object inherits
 * (`constructor`, `toString`, `__proto__` → Object.prototype).
 */
function ownValue(obj: object, key: string): unknown {
  return Object.hasOwn(obj, key) ? (obj as Record<string, unknown>)[key] : undefined;
}

/** Looks up an own key as written, else case-insensitively with `_`, `-` and spaces ignored. */
function field(obj: Record<string, unknown>, key: string): unknown {
  if (Object.hasOwn(obj, key)) return obj[key];
  const fold = (k: string) => k.toLowerCase().replace(/[\s_-]/g, '');
  const hit = Object.keys(obj).find((k) => fold(k) === fold(key));
  return hit === undefined ? undefined : obj[hit];
}

export function jsonFieldsEvaluator(opts: JsonFieldsOptions = {}): Evaluator {
  const minSim = opts.min_similarity ?? 0.5;
  const validate = opts.schema ? new AjvClass({ allErrors: true, strict: false }).compile(opts.schema) : undefined;
  return {
    name: 'json-fields',
    evaluate: (rollout) => {
      const expected = expectedValue(rollout, opts.reference);
      if (expected === null || typeof expected !== 'object' || Array.isArray(expected)) {
        return { score: 0, valid: false, reason: `the expected value must be a JSON object, got ${JSON.stringify(expected)?.slice(0, 80)}` };
      }
      const keys = Object.keys(expected);
      const found = locateJson(rollout.output);
      const metrics: Record<string, MetricResult> = {};
      if (!found || found.value === null || typeof found.value !== 'object' || Array.isArray(found.value)) {
        metrics.json_found = { score: 0 };
        metrics.completeness = { score: 0 };
        for (const k of keys) metrics[`field.${k}`] = { score: 0 };
        return { score: 0, valid: true, reason: found ? 'the JSON found is not an object' : 'no JSON object found in the output', metrics };
      }
      const got = found.value as Record<string, unknown>;
      metrics.json_found = { score: 1, ...(found.extraText ? { reason: `found in ${found.source} with text around it` } : {}) };
      let weighted = 0;
      let weights = 0;
      let present = 0;
      const weak: string[] = [];
      for (const k of keys) {
        const g = field(got, k);
        if (g !== undefined && g !== null) present++;
        const s = compareValues((expected as Record<string, unknown>)[k], g, minSim);
        const w = opts.weights?.[k] ?? 1;
        weighted += w * s;
        weights += w;
        metrics[`field.${k}`] = { score: round(s) };
        if (s < 1) weak.push(`${k} ${round(s, 2)}`);
      }
      const mean = weights === 0 ? 1 : weighted / weights;
      metrics.completeness = { score: round(keys.length ? present / keys.length : 1) };
      let score = mean;
      let schemaNote = '';
      if (validate) {
        const ok = validate(got) as boolean;
        const errs = ok ? '' : (validate.errors ?? []).slice(0, 3).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
        metrics.schema_valid = ok ? { score: 1 } : { score: 0, reason: errs };
        score = 0.1 * (ok ? 1 : 0) + 0.9 * mean;
        if (!ok) schemaNote = `; schema: ${errs}`;
      }
      return {
        score: round(score),
        valid: true,
        reason: (weak.length ? `fields below full credit: ${weak.join(', ')}` : 'all fields match') + schemaNote,
        metrics,
      };
    },
  };
}

export function parseJsonFields(o: Options): JsonFieldsOptions {
  const schema = o.raw('schema');
  if (schema !== undefined) {
    if (!schema || typeof schema !== 'object' || Array.isArray(schema)) o.issues.add(o.at('schema'), 'must be a JSON Schema object');
    else {
      try {
        new AjvClass({ strict: false }).compile(schema as Record<string, unknown>);
      } catch (e) {
        o.issues.add(o.at('schema'), `is not a valid JSON Schema: ${(e as Error).message}`);
      }
    }
  }
  const weights = o.raw('weights');
  if (weights !== undefined && (!weights || typeof weights !== 'object' || Object.values(weights).some((w) => typeof w !== 'number' || w < 0))) {
    o.issues.add(o.at('weights'), 'must be an object of non-negative numbers, e.g. {"ceo": 2}');
  }
  return {
    schema: schema as Record<string, unknown> | undefined,
    reference: readReference(o),
    min_similarity: o.number('min_similarity', { min: 0, max: 1 }),
    weights: weights as Record<string, number> | undefined,
  };
}
