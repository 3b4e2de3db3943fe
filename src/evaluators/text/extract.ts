/**
 * Where the answer sits in a model's output. Modes:
 * - `answer`: the last `<answer>…</answer>`;  `result`: the last `[RESULT]…[/RESULT]`;
 * - `boxed`: the last `\boxed{…}`;  `code`: the last fenced ``` block;  `last-line`;  `none`: all of it;
 * - `auto`: `<answer>`, else `[RESULT]`, else `\boxed{}`, else all of it;
 * - `{ tag: "X" }` → `<X>…</X>`; `{ tag: "X", style: "bracket" }` → `[X]…[/X]`; `{ regex, group? }`.
 */
export type ExtractMode =
  | 'auto' | 'answer' | 'result' | 'boxed' | 'code' | 'last-line' | 'none'
  | { tag: string; style?: 'angle' | 'bracket' }
  | { regex: string; flags?: string; group?: number };

export const EXTRACT_MODES = ['auto', 'answer', 'result', 'boxed', 'code', 'last-line', 'none'] as const;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The content of the last `open…close` pair, or undefined. */
export function lastTagged(text: string, tag: string, style: 'angle' | 'bracket' = 'angle'): string | undefined {
  const [o, c] = style === 'angle' ? [`<${tag}>`, `</${tag}>`] : [`[${tag}]`, `[/${tag}]`];
  const re = new RegExp(`${escapeRe(o)}([\\s\\S]*?)${escapeRe(c)}`, 'gi');
  let last: string | undefined;
  for (const m of text.matchAll(re)) last = m[1];
  return last?.trim();
}

/** The content of the last `\boxed{…}`, braces balanced. */
export function lastBoxed(text: string): string | undefined {
  const i = text.lastIndexOf('\\boxed{');
  if (i < 0) return undefined;
  let depth = 0;
  for (let j = i + 6; j < text.length; j++) {
    if (text[j] === '{') depth++;
    else if (text[j] === '}' && --depth === 0) return text.slice(i + 7, j).trim();
  }
  return undefined;
}

/** The body of the last fenced code block (any language tag), or undefined. */
export function lastFenced(text: string, languages?: string[]): string | undefined {
  let last: string | undefined;
  for (const m of text.matchAll(/```([\w+-]*)[^\n]*\n([\s\S]*?)```/g)) {
    if (!languages || m[1] === '' || languages.includes(m[1]!.toLowerCase())) last = m[2];
  }
  return last;
}

export function extractAnswer(text: string, mode: ExtractMode = 'auto'): string | undefined {
  if (typeof mode === 'object') {
    if ('regex' in mode) {
      let last: RegExpMatchArray | undefined;
      for (const m of text.matchAll(new RegExp(mode.regex, (mode.flags ?? '').replace('g', '') + 'g'))) last = m;
      return last?.[mode.group ?? (last.length > 1 ? 1 : 0)]?.trim();
    }
    return lastTagged(text, mode.tag, mode.style);
  }
  switch (mode) {
    case 'answer': return lastTagged(text, 'answer');
    case 'result': return lastTagged(text, 'RESULT', 'bracket');
    case 'boxed': return lastBoxed(text);
    case 'code': return lastFenced(text)?.trim();
    case 'last-line': return text.trim().split('\n').pop()?.trim();
    case 'none': return text.trim();
    case 'auto':
      return lastTagged(text, 'answer') ?? lastTagged(text, 'RESULT', 'bracket') ?? lastBoxed(text) ?? text.trim();
  }
}
