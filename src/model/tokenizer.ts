/**
 * The model's tokenizer: `tokenizer.json` through @huggingface/tokenizers, the chat template from
 * `tokenizer_config.json` (or `chat_template.jinja`) through @huggingface/jinja, and the special
 * tokens the model stops on (eos from tokenizer_config, generation_config.json and config.json).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';

export class TokenizerError extends Error {}

/** A chat message as chat templates expect it (OpenAI shape; extra fields pass through). */
export interface ChatMessage {
  role: string;
  content: string | null | unknown[];
  [key: string]: unknown;
}

export interface ChatTemplateOptions {
  /** Append the assistant turn header so the model continues as the assistant. */
  addGenerationPrompt?: boolean;
  /** OpenAI-style tool definitions, passed to the template as `tools`. */
  tools?: unknown[];
  /** Extra template variables (e.g. Qwen3's `enable_thinking`). */
  extra?: Record<string, unknown>;
}

/** tokenizer_config.json token fields are strings or AddedToken objects `{ content }`. */
function tokenText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return null;
}

function readJson(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TokenizerError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
  try {
    const v = JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new TokenizerError(`${path}: invalid JSON (${(e as Error).message})`);
  }
}

export interface TokenizerFiles {
  tokenizer: Record<string, unknown>;
  config: Record<string, unknown>;
  /** generation_config.json, if present. */
  generation?: Record<string, unknown> | null;
  /** eos ids from the model's config.json, if known. */
  modelEosIds?: number[];
  /** A chat template given separately (chat_template.jinja); wins over tokenizer_config's. */
  chatTemplate?: string | null;
  /** Names the source in errors. */
  where?: string;
}

export class ModelTokenizer {
  private readonly tok: Tokenizer;
  private readonly template: Template | null;
  readonly chatTemplateSource: string | null;
  /** Every id the model stops on (deduplicated, sorted). */
  readonly eosTokenIds: number[];
  readonly bosTokenId: number | null;
  readonly padTokenId: number | null;
  readonly eosToken: string | null;
  readonly bosToken: string | null;
  /** Ids of added special tokens (skipped by decode with skipSpecialTokens). */
  readonly specialIds: Set<number>;
  /** One past the largest id the tokenizer can produce. */
  readonly size: number;
  private readonly specialStrings: Record<string, string | null>;
  /** The tokenizer.json model type (BPE, Unigram, WordPiece, ...). */
  readonly modelType: string;

  constructor(files: TokenizerFiles) {
    const where = files.where ?? 'tokenizer';
    try {
      this.tok = new Tokenizer(files.tokenizer, files.config);
    } catch (e) {
      throw new TokenizerError(`${where}: cannot build the tokenizer from tokenizer.json (${(e as Error).message})`);
    }
    const cfg = files.config;
    const model = files.tokenizer.model as { type?: unknown } | undefined;
    this.modelType = typeof model?.type === 'string' ? model.type : 'unknown';
    this.eosToken = tokenText(cfg.eos_token);
    this.bosToken = tokenText(cfg.bos_token);
    const idOf = (t: string | null, field: string): number | null => {
      if (t === null) return null;
      const id = this.tok.token_to_id(t);
      if (id === undefined) throw new TokenizerError(`${where}: tokenizer_config.json ${field} "${t}" is not in the vocabulary`);
      return id;
    };
    this.bosTokenId = idOf(this.bosToken, 'bos_token');
    this.padTokenId = idOf(tokenText(cfg.pad_token), 'pad_token');
    const eos = new Set<number>();
    const e0 = idOf(this.eosToken, 'eos_token');
    if (e0 !== null) eos.add(e0);
    const gen = files.generation?.eos_token_id;
    for (const id of Array.isArray(gen) ? gen : gen === undefined || gen === null ? [] : [gen]) {
      if (!Number.isSafeInteger(id) || id < 0) throw new TokenizerError(`${where}: generation_config.json eos_token_id ${JSON.stringify(id)} is not a token id`);
      eos.add(id);
    }
    for (const id of files.modelEosIds ?? []) eos.add(id);
    this.eosTokenIds = [...eos].sort((a, b) => a - b);
    this.specialIds = new Set();
    let maxId = -1;
    for (const id of this.tok.get_vocab(true).values()) maxId = Math.max(maxId, id);
    for (const [id, t] of this.tok.get_added_tokens_decoder()) if ((t as { special?: boolean }).special) this.specialIds.add(id);
    this.size = maxId + 1;
    this.specialStrings = {
      bos_token: this.bosToken,
      eos_token: this.eosToken,
      pad_token: tokenText(cfg.pad_token),
      unk_token: tokenText(cfg.unk_token),
    };
    let source = files.chatTemplate ?? null;
    if (source === null) {
      const ct = cfg.chat_template;
      if (typeof ct === 'string') source = ct;
      else if (Array.isArray(ct)) {
        // A list of named templates: the "default" one is what apply_chat_template uses.
        const d = ct.find((x) => x && (x as { name?: unknown }).name === 'default') as { template?: unknown } | undefined;
        if (d && typeof d.template === 'string') source = d.template;
      }
    }
    this.chatTemplateSource = source;
    try {
      this.template = source === null ? null : new Template(source);
    } catch (e) {
      throw new TokenizerError(`${where}: the chat template does not parse (${(e as Error).message})`);
    }
  }

  /** Loads from a model folder: tokenizer.json, tokenizer_config.json, optional generation_config.json / chat_template.jinja. */
  static load(dir: string, modelEosIds: number[] = []): ModelTokenizer {
    const tj = join(dir, 'tokenizer.json');
    if (!existsSync(tj)) throw new TokenizerError(`${dir}: no tokenizer.json (only the "fast" tokenizer format is supported; save it with tokenizer.save_pretrained in transformers)`);
    const tokenizer = readJson(tj, 'tokenizer');
    const cp = join(dir, 'tokenizer_config.json');
    const config = existsSync(cp) ? readJson(cp, 'tokenizer config') : {};
    const gp = join(dir, 'generation_config.json');
    const generation = existsSync(gp) ? readJson(gp, 'generation config') : null;
    const jp = join(dir, 'chat_template.jinja');
    const chatTemplate = existsSync(jp) ? readFileSync(jp, 'utf8') : null;
    return new ModelTokenizer({ tokenizer, config, generation, modelEosIds, chatTemplate, where: dir });
  }

  /** Text → ids. addSpecialTokens applies the post-processor (e.g. a BOS), as HF's default does. */
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.tok.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  /**
   * ids → text. Ids past the tokenizer's vocabulary (models often pad vocab_size beyond it) decode
   * to nothing, as in transformers; negative or non-integer ids are an error.
   */
  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    for (const id of ids) if (!Number.isSafeInteger(id) || id < 0) throw new TokenizerError(`token id ${id} is not a valid id`);
    const known = ids.filter((id) => id < this.size);
    // @huggingface/tokenizers refuses an empty list; an empty completion is an empty string.
    if (known.length === 0) return '';
    return this.tok.decode(known, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  /** The token string of one id (for display), or undefined. */
  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  get hasChatTemplate(): boolean {
    return this.template !== null;
  }

  /** Renders messages with the model's chat template (like transformers' apply_chat_template(tokenize=False)). */
  applyChatTemplate(messages: ChatMessage[], opts: ChatTemplateOptions = {}): string {
    if (!this.template) throw new TokenizerError('this tokenizer has no chat template (tokenizer_config.json "chat_template" or chat_template.jinja); pass a plain prompt instead');
    try {
      return this.template.render({
        ...this.specialStrings,
        ...opts.extra,
        messages,
        tools: opts.tools,
        add_generation_prompt: opts.addGenerationPrompt ?? false,
      });
    } catch (e) {
      throw new TokenizerError(`chat template failed${this.failingMessage(messages, opts)}: ${(e as Error).message}`);
    }
  }

  /** Which message a failed rendering stumbles on: the first whose conversation prefix does not render (" at message i (role)"). */
  private failingMessage(messages: ChatMessage[], opts: ChatTemplateOptions): string {
    for (let i = 0; i < messages.length; i++) {
      try {
        this.template!.render({ ...this.specialStrings, ...opts.extra, messages: messages.slice(0, i + 1), tools: opts.tools, add_generation_prompt: false });
      } catch {
        return ` at message ${i} (${typeof messages[i]?.role === 'string' ? messages[i].role : 'no role'})`;
      }
    }
    return '';
  }

  /** Template then encode, without adding special tokens again (the template already has them), as transformers does. */
  encodeChat(messages: ChatMessage[], opts: ChatTemplateOptions = {}): number[] {
    return this.encode(this.applyChatTemplate(messages, opts), { addSpecialTokens: false });
  }
}
