/**
 * What rollouts need from a tokenizer: chat prompts to ids, ids back to text, and which ids
 * end a turn. The model layer's tokenizer (tokenizer.json + chat template) implements it.
 */
import type { ChatMessage, Tool } from './row.js';

export interface ChatTokenizer {
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  /** The chat template applied to messages; with addGenerationPrompt it ends where the assistant's reply begins. */
  applyChatTemplate(messages: ChatMessage[], opts: { addGenerationPrompt: boolean; tools?: Tool[] }): number[];
  /** Ids that end an assistant turn (EOS, end-of-turn). */
  readonly stopTokenIds: readonly number[];
}
