/** Text normalisation shared by the string, JSON and similarity evaluators. */

/** NFKC, lower case, punctuation to spaces, whitespace collapsed: "  The Café, Inc. " → "the café inc". */
export function normalizeText(s: string): string {
  return s
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\p{P}\p{S}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Words of the normalised text. */
export function tokenize(s: string): string[] {
  const n = normalizeText(s);
  return n === '' ? [] : n.split(' ');
}
