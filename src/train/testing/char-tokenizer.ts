/**
 * A ChatTokenizer over a fixed alphabet plus two special tokens (end-of-turn and a turn
 * separator), for trainer tests with toy policies. The chat template is "content⟨sep⟩" per
 * message, with a final ⟨sep⟩ as the generation prompt.
 */
import type { ChatMessage } from '../../contracts/row.js';
import type { ChatTokenizer } from '../../contracts/tokenizer.js';

export class CharTokenizer implements ChatTokenizer {
  readonly eos: number;
  readonly sep: number;
  readonly stopTokenIds: readonly number[];

  constructor(readonly alphabet: string) {
    this.eos = alphabet.length;
    this.sep = alphabet.length + 1;
    this.stopTokenIds = [this.eos];
  }

  get vocabSize(): number {
    return this.alphabet.length + 2;
  }

  encode(text: string): number[] {
    return [...text].map((ch) => {
      const i = this.alphabet.indexOf(ch);
      if (i < 0) throw new Error(`CharTokenizer: "${ch}" is not in the alphabet "${this.alphabet}"`);
      return i;
    });
  }

  decode(ids: readonly number[]): string {
    return ids.map((i) => (i < this.alphabet.length ? this.alphabet[i] : i === this.eos ? '' : '|')).join('');
  }

  applyChatTemplate(messages: ChatMessage[], opts: { addGenerationPrompt: boolean }): number[] {
    const ids: number[] = [];
    for (const m of messages) ids.push(...this.encode(m.content ?? ''), this.sep);
    if (!opts.addGenerationPrompt) ids.pop();
    return ids.length ? ids : [this.sep];
  }
}
