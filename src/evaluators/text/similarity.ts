/**
 * String similarity measures, each in [0, 1]:
 * - `levenshteinRatio`: 1 − edit distance / max length (on code points);
 * - `tokenSetRatio`: the Levenshtein ratio of the two word sets, each written as its shared words
 *   then its own words, sorted (order- and duplicate-insensitive). Unlike rapidfuzz's
 *   token_set_ratio, a subset does not count as a full match: "Acme" vs "Acme Widgets GmbH" is
 *   not 1, so a reward cannot be gamed by answering with fewer words;
 * - `bleu` (BLEU-4, brevity penalty, +1 smoothing of higher-order precisions when a count is 0),
 *   `gleu` (Google-BLEU: min of n-gram precision and recall over n = 1..4),
 *   `rougeN` (F1 of n-gram overlap), `rougeL` (F1 of the longest common subsequence).
 */
import { normalizeText, tokenize } from './normalize.js';

export function levenshtein(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  if (x.length === 0) return y.length;
  if (y.length === 0) return x.length;
  let prev = new Array<number>(y.length + 1);
  let cur = new Array<number>(y.length + 1);
  for (let j = 0; j <= y.length; j++) prev[j] = j;
  for (let i = 1; i <= x.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= y.length; j++) {
      const sub = prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1);
      cur[j] = Math.min(sub, prev[j]! + 1, cur[j - 1]! + 1);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[y.length]!;
}

export function levenshteinRatio(a: string, b: string): number {
  const n = Math.max(Array.from(a).length, Array.from(b).length);
  return n === 0 ? 1 : 1 - levenshtein(a, b) / n;
}

/** Similarity of two strings after normalisation: the better of the plain and the word-set ratio. */
export function fuzzySimilarity(a: string, b: string): number {
  const na = normalizeText(a);
  const nb = normalizeText(b);
  if (na === nb) return 1;
  return Math.max(levenshteinRatio(na, nb), tokenSetRatio(na, nb));
}

export function tokenSetRatio(a: string, b: string): number {
  const ta = new Set(tokenize(a));
  const tb = new Set(tokenize(b));
  if (ta.size === 0 && tb.size === 0) return 1;
  if (ta.size === 0 || tb.size === 0) return 0;
  const inter = [...ta].filter((t) => tb.has(t)).sort();
  const onlyA = [...ta].filter((t) => !tb.has(t)).sort();
  const onlyB = [...tb].filter((t) => !ta.has(t)).sort();
  const base = inter.join(' ');
  const withA = [base, onlyA.join(' ')].filter(Boolean).join(' ');
  const withB = [base, onlyB.join(' ')].filter(Boolean).join(' ');
  return levenshteinRatio(withA, withB);
}

function ngrams(tokens: string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const k = tokens.slice(i, i + n).join('\u0000');
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

function overlap(a: Map<string, number>, b: Map<string, number>): number {
  let o = 0;
  for (const [k, c] of a) o += Math.min(c, b.get(k) ?? 0);
  return o;
}

function total(m: Map<string, number>): number {
  let t = 0;
  for (const c of m.values()) t += c;
  return t;
}

export function bleu(candidate: string, reference: string, maxN = 4): number {
  const c = tokenize(candidate);
  const r = tokenize(reference);
  if (c.length === 0 || r.length === 0) return c.length === r.length ? 1 : 0;
  let logSum = 0;
  for (let n = 1; n <= maxN; n++) {
    const cn = ngrams(c, n);
    const t = total(cn);
    const o = overlap(cn, ngrams(r, n));
    if (n === 1 && o === 0) return 0;
    // Smoothing for short sentences (Lin & Och's add-one for n > 1), so that a missing 4-gram in a
    // three-word answer does not zero the score.
    const p = n === 1 ? o / t : (o + 1) / (t + 1);
    logSum += Math.log(p) / maxN;
  }
  const bp = c.length >= r.length ? 1 : Math.exp(1 - r.length / c.length);
  return Math.min(1, bp * Math.exp(logSum));
}

export function gleu(candidate: string, reference: string, maxN = 4): number {
  const c = tokenize(candidate);
  const r = tokenize(reference);
  if (c.length === 0 || r.length === 0) return c.length === r.length ? 1 : 0;
  let o = 0;
  let tc = 0;
  let tr = 0;
  for (let n = 1; n <= maxN; n++) {
    const cn = ngrams(c, n);
    const rn = ngrams(r, n);
    o += overlap(cn, rn);
    tc += total(cn);
    tr += total(rn);
  }
  if (tc === 0 || tr === 0) return 0;
  return Math.min(o / tc, o / tr);
}

export function rougeN(candidate: string, reference: string, n: number): number {
  const cn = ngrams(tokenize(candidate), n);
  const rn = ngrams(tokenize(reference), n);
  const tc = total(cn);
  const tr = total(rn);
  if (tc === 0 && tr === 0) return 1;
  if (tc === 0 || tr === 0) return 0;
  const o = overlap(cn, rn);
  if (o === 0) return 0;
  const p = o / tc;
  const rec = o / tr;
  return (2 * p * rec) / (p + rec);
}

export function rougeL(candidate: string, reference: string): number {
  const c = tokenize(candidate);
  const r = tokenize(reference);
  if (c.length === 0 && r.length === 0) return 1;
  if (c.length === 0 || r.length === 0) return 0;
  const dp = new Array<number>(r.length + 1).fill(0);
  for (let i = 1; i <= c.length; i++) {
    let diag = 0;
    for (let j = 1; j <= r.length; j++) {
      const up = dp[j]!;
      dp[j] = c[i - 1] === r[j - 1] ? diag + 1 : Math.max(up, dp[j - 1]!);
      diag = up;
    }
  }
  const lcs = dp[r.length]!;
  if (lcs === 0) return 0;
  const p = lcs / c.length;
  const rec = lcs / r.length;
  return (2 * p * rec) / (p + rec);
}
