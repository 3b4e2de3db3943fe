/**
 * Turning a growing list of token ids into text deltas for streaming: decodes the sample, cuts it
 * at the first stop string, and holds back text that might still become a stop string or is an
 * incomplete UTF-8 sequence, so a delta once sent never has to be taken back.
 */
import type { ModelTokenizer } from '../model/tokenizer.js';

/**
 * tok.decode, except that ids past the tokenizer's vocabulary (models often pad their embedding
 * beyond it, and a sampled id may land there) decode to nothing even when no other id is left.
 */
export function safeDecode(tok: ModelTokenizer, ids: readonly number[], skipSpecialTokens: boolean): string {
  const known = ids.filter((id) => id < tok.size);
  return known.length ? tok.decode(known, { skipSpecialTokens }) : '';
}

export class TextStream {
  /** Text already handed out. */
  emitted = '';
  /** Set once a stop string was found: the final text (before the stop string). */
  stopped: string | null = null;

  constructor(
    private readonly tok: ModelTokenizer,
    private readonly stops: readonly string[],
  ) {}

  /** Full decoded text of the tokens (special tokens skipped). */
  decode(tokens: readonly number[]): string {
    return safeDecode(this.tok, tokens, true);
  }

  /** New text that is safe to send after `tokens`; sets `stopped` when a stop string appears. */
  update(tokens: readonly number[]): string {
    const text = this.decode(tokens);
    let at = -1;
    for (const s of this.stops) {
      const i = text.indexOf(s, Math.max(0, this.emitted.length - s.length));
      if (i >= 0 && (at < 0 || i < at)) at = i;
    }
    if (at >= 0) {
      this.stopped = text.slice(0, at);
      return this.take(this.stopped);
    }
    let safe = text.length;
    // An incomplete multi-byte character decodes to U+FFFD at the end: wait for the rest.
    while (safe > 0 && text[safe - 1] === '\uFFFD') safe--;
    // Hold back the longest tail that is a prefix of a stop string.
    const end = safe;
    for (const s of this.stops)
      for (let k = Math.min(s.length - 1, end); k > 0; k--)
        if (text.slice(end - k, end) === s.slice(0, k)) {
          safe = Math.min(safe, end - k);
          break;
        }
    return this.take(text.slice(0, safe));
  }

  /** Whatever is left when the sample ends (no more tokens can complete a stop string). */
  finish(tokens: readonly number[]): string {
    return this.take(this.stopped ?? this.decode(tokens));
  }

  private take(text: string): string {
    if (!text.startsWith(this.emitted) || text.length <= this.emitted.length) return '';
    const d = text.slice(this.emitted.length);
    this.emitted = text;
    return d;
  }
}
