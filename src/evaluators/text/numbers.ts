/**
 * Reading numbers the way people (and models) write them:
 * "1,234.5", "$150", "25%", "3/4", "1 1/2", "1.5e3", "−2" (Unicode minus), "12 km/h" (units after
 * the number are ignored), "$1.2M" / "3 billion" / "5k" (scale words and suffixes).
 */

export interface ParsedNumber {
  value: number;
  /** The number carried a percent sign: "25%" → value 25, percent true. */
  percent: boolean;
  /** The matched text. */
  text: string;
}

const SCALES: Record<string, number> = {
  k: 1e3, thousand: 1e3, m: 1e6, mm: 1e6, mn: 1e6, million: 1e6, b: 1e9, bn: 1e9, billion: 1e9, t: 1e12, tn: 1e12, trillion: 1e12,
};

// sign, currency, mixed fraction | fraction | decimal with thousands separators | plain decimal,
// exponent, then percent or a scale word. Case-sensitive suffixes: "M"/"B"/"T"/"k"/"K" only right
// after the number, so "5 m" (metres) is not five million.
const NUMBER_RE = new RegExp(
  String.raw`(?<![\w.])([-+\u2212\u2013]?)\s*([$€£¥₹]?)\s*` +
    String.raw`(?:(\d+)\s+(\d+)\/(\d+)|(\d+)\/(\d+)|((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?:[eE]([-+]?\d+))?)` +
    String.raw`(?:\s*(%|percent\b)|(?:(?<=\d)(k|K|M|B|T|bn|mn|tn)\b)|\s+(thousand|million|billion|trillion)\b)?`,
  'g',
);

function fromMatch(m: RegExpExecArray): ParsedNumber | undefined {
  const sign = m[1] && m[1] !== '+' ? -1 : 1;
  let value: number;
  if (m[3] !== undefined) {
    const den = Number(m[5]);
    if (den === 0) return undefined;
    value = Number(m[3]) + Number(m[4]) / den;
  } else if (m[6] !== undefined) {
    const den = Number(m[7]);
    if (den === 0) return undefined;
    value = Number(m[6]) / den;
  } else {
    value = Number(m[8]!.replace(/,/g, '') + (m[9] !== undefined ? `e${m[9]}` : ''));
  }
  const scale = m[11] ?? m[12];
  if (scale) value *= SCALES[scale.toLowerCase()] ?? 1;
  if (!Number.isFinite(value)) return undefined;
  return { value: sign * value, percent: m[10] !== undefined, text: m[0].trim() };
}

/** Every number in `text`, in order. */
export function findNumbers(text: string): ParsedNumber[] {
  const out: ParsedNumber[] = [];
  for (const m of text.normalize('NFKC').matchAll(NUMBER_RE)) {
    const p = fromMatch(m as RegExpExecArray);
    if (p) out.push(p);
  }
  return out;
}

/**
 * The number `text` states, when the text is one number (with optional units or words after it):
 * "$1,200" → 1200; "about 12" → undefined (words before it); "12 apples" → 12.
 */
export function parseNumber(text: string): ParsedNumber | undefined {
  const t = text.normalize('NFKC').trim();
  const m = new RegExp(NUMBER_RE.source, 'y').exec(t);
  if (!m) return undefined;
  const rest = t.slice(m[0].length);
  // Units may follow ("km/h", "dollars", "USD") but not another number ("3 4").
  if (/\d/.test(rest)) return undefined;
  return fromMatch(m);
}

/** The last number in the text: the usual place of a final answer in free-form reasoning. */
export function lastNumber(text: string): ParsedNumber | undefined {
  const all = findNumbers(text);
  return all[all.length - 1];
}

export interface Tolerance {
  /** Absolute tolerance (default 1e-6). */
  abs?: number;
  /** Relative tolerance (default 1e-6). */
  rel?: number;
}

export function numbersClose(a: number, b: number, tol: Tolerance = {}): boolean {
  const abs = tol.abs ?? 1e-6;
  const rel = tol.rel ?? 1e-6;
  return Math.abs(a - b) <= Math.max(abs, rel * Math.max(Math.abs(a), Math.abs(b)));
}

/**
 * Equal as answers: values within tolerance; when exactly one side has a percent sign, "25%" also
 * equals 0.25 (the same quantity as a fraction).
 */
export function sameQuantity(candidate: ParsedNumber, reference: ParsedNumber, tol: Tolerance = {}): boolean {
  if (numbersClose(candidate.value, reference.value, tol)) return true;
  if (candidate.percent !== reference.percent) {
    const [pct, plain] = candidate.percent ? [candidate, reference] : [reference, candidate];
    return numbersClose(pct.value / 100, plain.value, tol);
  }
  return false;
}
