/**
 * A character-level tokenizer for small synthetic tasks, written as a real `tokenizer.json`
 * (a BPE model with one token per character and no merges, a Fuse decoder) so it loads through
 * the same path as any Hugging Face tokenizer (and in transformers itself), plus a ChatML-style
 * chat template with `<|im_start|>` / `<|im_end|>` special tokens.
 */

/** The system text that introduces the tools (its characters should be in a text-derived alphabet used for agents). */
export const TOOLS_HEADER = 'You can call these functions, one <tool_call>{"name": ..., "arguments": {...}}</tool_call> per call:';
const TOOLS_HEADER_JINJA = TOOLS_HEADER.replace(/'/g, "\\'");

export const SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<unk>'] as const;

/**
 * ChatML: `<|im_start|>{role}\n{content}<|im_end|>\n` per message, then the assistant header when
 * asked. With tool use, as Qwen's templates do (in a compact form): `tools` are listed in the
 * system turn (after the system message, if the conversation starts with one); an assistant's tool
 * calls follow its content as `<tool_call>{"name": ..., "arguments": ...}</tool_call>` (the format
 * src/model/tool-calls.ts parses); a `tool` message is its own turn with the result as content.
 * A null content renders as nothing; conversations without tools render exactly as plain ChatML.
 */
export const CHATML_TEMPLATE =
  "{%- if tools %}{{ '<|im_start|>system\\n' }}" +
  "{%- if messages[0]['role'] == 'system' and messages[0]['content'] %}{{ messages[0]['content'] + '\\n\\n' }}{%- endif %}" +
  "{{ '" + TOOLS_HEADER_JINJA + "' }}" +
  "{%- for tool in tools %}{{ '\\n' }}{{ (tool.function if tool.function is defined else tool) | tojson }}{%- endfor %}" +
  "{{ '<|im_end|>\\n' }}{%- endif %}" +
  "{%- for message in messages %}" +
  "{%- if not (tools and loop.first and message['role'] == 'system') %}" +
  "{{ '<|im_start|>' + message['role'] + '\\n' }}" +
  "{%- if message['content'] is not none %}{{ message['content'] }}{%- endif %}" +
  "{%- if message['role'] == 'assistant' and message['tool_calls'] %}{%- for call in message['tool_calls'] %}" +
  "{%- set fn = call.function if call.function is defined else call %}" +
  "{{ '<tool_call>{\"name\": \"' + fn.name + '\", \"arguments\": ' }}" +
  "{%- if fn.arguments is string %}{{ fn.arguments }}{%- else %}{{ fn.arguments | tojson }}{%- endif %}" +
  "{{ '}</tool_call>' }}{%- endfor %}{%- endif %}" +
  "{{ '<|im_end|>\\n' }}" +
  "{%- endif %}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}";

/** Printable ASCII, newline and tab: the default alphabet. */
export function defaultAlphabet(): string[] {
  const out = ['\n', '\t'];
  for (let c = 32; c < 127; c++) out.push(String.fromCharCode(c));
  return out;
}

/** The text the chat template writes around message contents: the role names and the newline after them. */
const TEMPLATE_TEXT = 'system user assistant tool\n';

/**
 * The distinct characters (code points) of a text, sorted, always including those of the chat
 * template's own text (role names, space, newline), so a templated conversation never meets `<unk>`.
 */
export function alphabetFromText(text: string): string[] {
  const set = new Set<string>([...text, ...TEMPLATE_TEXT]);
  return [...set].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
}

export interface CharTokenizerFiles {
  tokenizer: Record<string, unknown>;
  config: Record<string, unknown>;
  /** Ids in the written vocabulary. */
  ids: { endoftext: number; imStart: number; imEnd: number; unk: number };
  size: number;
}

/** Special tokens take ids 0..3, characters follow in the given order. */
export function buildCharTokenizer(alphabet: string[]): CharTokenizerFiles {
  const vocab: Record<string, number> = {};
  SPECIAL_TOKENS.forEach((t, i) => (vocab[t] = i));
  let next = SPECIAL_TOKENS.length;
  for (const ch of alphabet) {
    if ([...ch].length !== 1) throw new Error(`alphabet entry ${JSON.stringify(ch)} is not a single character`);
    if (!(ch in vocab)) vocab[ch] = next++;
  }
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Fuse' },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [],
    },
  };
  const config = {
    added_tokens_decoder: Object.fromEntries(SPECIAL_TOKENS.map((content, id) => [String(id), { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }])),
    additional_special_tokens: ['<|im_start|>', '<|im_end|>'],
    bos_token: null,
    eos_token: '<|im_end|>',
    pad_token: '<|endoftext|>',
    unk_token: '<unk>',
    clean_up_tokenization_spaces: false,
    model_max_length: 1 << 20,
    tokenizer_class: 'PreTrainedTokenizerFast',
    chat_template: CHATML_TEMPLATE,
  };
  return { tokenizer, config, ids: { endoftext: 0, imStart: 1, imEnd: 2, unk: 3 }, size: next };
}
