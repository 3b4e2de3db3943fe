/**
 * A Hugging Face BPE tokenizer (tokenizer.json) as GGUF tokenizer metadata for llama.cpp's "gpt2"
 * (byte-level BPE) vocabulary: tokens, token types, merges, special ids, chat template.
 *
 * Byte-level tokenizers (Qwen, SmolLM, GPT-2: a ByteLevel pre-tokenizer or decoder) map directly.
 * rft's character tokenizer (one token per character, no merges, Fuse decoder) is rewritten into
 * byte-level form: each character token becomes its UTF-8 bytes through GPT-2's byte↔unicode
 * table, so llama.cpp, splitting text into bytes and applying no merges, finds the same ids —
 * exact for single-byte (ASCII) characters, which is the default alphabet.
 */
import { GgufError, meta, type MetaValue } from './gguf.js';

/** llama.cpp token types. */
const NORMAL = 1;
const CONTROL = 3;
const UNUSED = 5;

/** GPT-2's table from bytes to printable characters (byte-level BPE spells tokens with it). */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const table: string[] = new Array(256);
  for (const b of bs) table[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (table[b] === undefined) table[b] = String.fromCharCode(256 + n++);
  return table;
}

function isByteLevel(tj: Record<string, unknown>): boolean {
  const has = (v: unknown): boolean => {
    if (!v || typeof v !== 'object') return false;
    const o = v as Record<string, unknown>;
    if (o.type === 'ByteLevel') return true;
    for (const key of ['pretokenizers', 'decoders']) if (Array.isArray(o[key]) && (o[key] as unknown[]).some(has)) return true;
    return false;
  };
  return has(tj.pre_tokenizer) || has(tj.decoder);
}

export interface GgufTokenizerInput {
  /** tokenizer.json. */
  tokenizer: Record<string, unknown>;
  /** The model's vocabulary size (embedding rows); the token list is padded to it. */
  vocabSize: number;
  bosTokenId: number | null;
  eosTokenId: number | null;
  padTokenId: number | null;
  chatTemplate: string | null;
  /** llama.cpp pre-tokenizer name ("qwen2", "default", ...). */
  pre: string;
}

export function ggufTokenizerMetadata(t: GgufTokenizerInput): Map<string, MetaValue> {
  const model = t.tokenizer.model as Record<string, unknown> | undefined;
  if (!model || model.type !== 'BPE' || !model.vocab || typeof model.vocab !== 'object')
    throw new GgufError(`tokenizer.json: only BPE tokenizers export to GGUF (got model type ${JSON.stringify(model?.type)})`);
  const byteLevel = isByteLevel(t.tokenizer);
  const table = bytesToUnicode();
  const spell = (s: string) => (byteLevel ? s : [...Buffer.from(s, 'utf8')].map((b) => table[b]).join(''));
  const tokens: (string | undefined)[] = new Array(t.vocabSize);
  const types = new Array<number>(t.vocabSize).fill(UNUSED);
  for (const [tok, id] of Object.entries(model.vocab as Record<string, number>)) {
    if (!Number.isInteger(id) || id < 0 || id >= t.vocabSize) throw new GgufError(`tokenizer.json: token ${JSON.stringify(tok)} has id ${id}, outside the model's vocabulary of ${t.vocabSize}`);
    tokens[id] = spell(tok);
    types[id] = NORMAL;
  }
  for (const a of (t.tokenizer.added_tokens as { id: number; content: string; special?: boolean }[] | undefined) ?? []) {
    if (a.id >= t.vocabSize) throw new GgufError(`tokenizer.json: added token ${JSON.stringify(a.content)} has id ${a.id}, outside the model's vocabulary of ${t.vocabSize}`);
    tokens[a.id] = a.content; // special and added tokens are matched as whole strings, not spelled in bytes
    types[a.id] = a.special === false ? 4 : CONTROL;
  }
  // Unused ids (models pad their embedding beyond the tokenizer): placeholders as the reference converter writes.
  const filled = Array.from(tokens, (s, i) => s ?? `[PAD${i}]`); // (map would skip the holes)
  const rawMerges = (model.merges as (string | [string, string])[] | undefined) ?? [];
  const merges = rawMerges.map((m) => (Array.isArray(m) ? m.join(' ') : m));
  if (!byteLevel && merges.length) throw new GgufError('tokenizer.json: a BPE tokenizer with merges but no ByteLevel pre-tokenizer cannot be exported to a gpt2 GGUF vocabulary');

  const m = new Map<string, MetaValue>();
  m.set('tokenizer.ggml.model', meta.str('gpt2'));
  m.set('tokenizer.ggml.pre', meta.str(t.pre));
  m.set('tokenizer.ggml.tokens', meta.strings(filled));
  m.set('tokenizer.ggml.token_type', meta.i32s(types));
  m.set('tokenizer.ggml.merges', meta.strings(merges));
  if (t.bosTokenId !== null) m.set('tokenizer.ggml.bos_token_id', meta.u32(t.bosTokenId));
  if (t.eosTokenId !== null) m.set('tokenizer.ggml.eos_token_id', meta.u32(t.eosTokenId));
  if (t.padTokenId !== null) m.set('tokenizer.ggml.padding_token_id', meta.u32(t.padTokenId));
  m.set('tokenizer.ggml.add_bos_token', meta.bool(false));
  if (t.chatTemplate) m.set('tokenizer.chat_template', meta.str(t.chatTemplate));
  return m;
}
