/**
 * Finding the JSON a model meant to return inside free text: a fenced ```json block, the whole
 * text, or else the first balanced `{…}` / `[…]` in prose that parses.
 */

export interface LocatedJson {
  value: unknown;
  /** Where it came from: "fence", "whole" or "embedded". */
  source: 'fence' | 'whole' | 'embedded';
  /** The text around the JSON was more than whitespace (prose before or after it). */
  extraText: boolean;
}

export function locateJson(text: string): LocatedJson | undefined {
  const trimmed = text.trim();
  for (const m of trimmed.matchAll(/```(?:json|JSON|jsonc)?[^\n]*\n([\s\S]*?)```/g)) {
    const v = tryParse(m[1]!);
    if (v.ok) return { value: v.value, source: 'fence', extraText: trimmed.length > m[0].length };
  }
  const whole = tryParse(trimmed);
  if (whole.ok && whole.value !== null && typeof whole.value === 'object') return { value: whole.value, source: 'whole', extraText: false };
  for (let i = 0; i < trimmed.length; i++) {
    const ch = trimmed[i];
    if (ch !== '{' && ch !== '[') continue;
    const end = balancedEnd(trimmed, i);
    if (end < 0) continue;
    const v = tryParse(trimmed.slice(i, end + 1));
    if (v.ok) return { value: v.value, source: 'embedded', extraText: true };
  }
  return undefined;
}

function tryParse(s: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(s) };
  } catch {
    return { ok: false };
  }
}

/** Index of the bracket closing the one at `start`, skipping brackets inside strings; −1 if none. */
function balancedEnd(s: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < s.length; i++) {
    const ch = s[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      if (--depth === 0) return i;
    }
  }
  return -1;
}
