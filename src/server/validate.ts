/**
 * Validation of OpenAI request bodies (`/v1/chat/completions`, `/v1/completions`) into one
 * normalized generation request. Every problem is collected with its parameter path; the error
 * names the first one in `param` and lists them all in the message.
 */
import type { ChatMessage } from '../model/tokenizer.js';
import { badRequest } from './errors.js';

export interface ToolDef {
  type: 'function';
  function: { name: string; description?: string; parameters?: unknown };
}

export interface GenerationRequest {
  kind: 'chat' | 'completion';
  model: string;
  messages?: ChatMessage[];
  /** Completions: text or token ids. */
  prompt?: string | number[];
  /** Completions with several prompts (vLLM / OpenAI batch form): every prompt, `prompt` is unset. */
  prompts?: (string | number[])[];
  temperature: number;
  topP: number;
  topK: number;
  /** Undefined: up to the model's context length. */
  maxTokens?: number;
  n: number;
  stop: string[];
  seed?: number;
  logprobs: boolean;
  /** Alternatives per position (0 = none). */
  topLogprobs: number;
  stream: boolean;
  includeUsage: boolean;
  tools?: ToolDef[];
  /** "none" turns tool parsing off. */
  toolChoice: 'none' | 'auto' | 'required' | { name: string };
  jsonMode: boolean;
  /** vLLM's extension: keep generating past end-of-sequence tokens (benchmarks with a fixed length). */
  ignoreEos: boolean;
  /** vLLM's `stop_token_ids`: more ids that end a choice (besides the model's end-of-sequence ids). */
  stopTokenIds: number[];
  /** vLLM's `return_token_ids`: the prompt's ids and each choice's sampled ids in the response. */
  returnTokenIds: boolean;
  /** vLLM's `return_tokens_as_token_ids`: log-prob tokens as "token_id:<id>" strings. */
  tokensAsIds: boolean;
}

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);
/** Parameters accepted and ignored (they change nothing a local server does). */
const IGNORED = new Set(['user', 'store', 'metadata', 'service_tier', 'parallel_tool_calls', 'frequency_penalty', 'presence_penalty', 'logit_bias', 'suffix', 'reasoning_effort', 'modalities', 'prediction', 'best_of', 'echo']);

interface Issue {
  param: string;
  message: string;
}

type Body = Record<string, unknown>;

export const MAX_N = 16;
/** Prompts in one completions request at most. */
export const MAX_PROMPTS = 64;

export function parseGenerationRequest(body: unknown, kind: 'chat' | 'completion'): GenerationRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the request body must be a JSON object', null, 'invalid_json');
  const b = body as Body;
  const issues: Issue[] = [];
  const bad = (param: string, message: string) => issues.push({ param, message: `${param}: ${message}` });

  const num = (key: string, def: number, lo: number, hi: number, integer = false): number => {
    const v = b[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isFinite(v)) return bad(key, `must be a number, got ${JSON.stringify(v)}`), def;
    if (integer && !Number.isInteger(v)) return bad(key, `must be an integer, got ${v}`), def;
    if (v < lo || v > hi) return bad(key, `must be in [${lo}, ${hi}], got ${v}`), def;
    return v;
  };
  const bool = (key: string, def: boolean): boolean => {
    const v = b[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'boolean') return bad(key, `must be true or false, got ${JSON.stringify(v)}`), def;
    return v;
  };

  let model = '';
  if (typeof b.model !== 'string' || b.model.length === 0) bad('model', 'required: the name of the base model or of a loaded adapter (see GET /v1/models)');
  else model = b.model;

  let messages: ChatMessage[] | undefined;
  let prompt: string | number[] | undefined;
  let prompts: (string | number[])[] | undefined;
  if (kind === 'chat') {
    if (b.prompt !== undefined) bad('prompt', 'not a chat parameter; use "messages" (or POST /v1/completions for a prompt)');
    if (!Array.isArray(b.messages)) bad('messages', 'required: a non-empty array of {role, content} messages');
    else if (b.messages.length === 0) bad('messages', 'must not be empty');
    else {
      b.messages.forEach((m: unknown, i) => {
        const p = `messages[${i}]`;
        if (!m || typeof m !== 'object' || Array.isArray(m)) return bad(p, 'must be an object with role and content');
        const msg = m as Body;
        if (typeof msg.role !== 'string' || !ROLES.has(msg.role)) bad(`${p}.role`, `must be one of ${[...ROLES].join(', ')}, got ${JSON.stringify(msg.role)}`);
        const c = msg.content;
        const textParts = Array.isArray(c) && c.every((x) => x && typeof x === 'object' && (x as Body).type === 'text' && typeof (x as Body).text === 'string');
        if (!(typeof c === 'string' || textParts || ((c === null || c === undefined) && msg.role === 'assistant' && Array.isArray(msg.tool_calls))))
          bad(`${p}.content`, 'must be a string or an array of {type: "text", text} parts (null only for an assistant message with tool_calls)');
      });
      // Text parts are joined so chat templates that expect strings work.
      messages = (b.messages as Body[]).map((m) => {
        const out: ChatMessage = { ...m, role: m.role as string, content: m.content as string };
        if (Array.isArray(m.content)) out.content = (m.content as Body[]).map((x) => x.text).join('');
        if (Array.isArray(m.tool_calls))
          out.tool_calls = (m.tool_calls as Body[]).map((tc) => {
            const f = (tc?.function ?? {}) as Body;
            // Templates (Qwen, Hermes) render arguments as an object; OpenAI sends them as a JSON string.
            let args: unknown = f.arguments;
            if (typeof args === 'string') {
              try {
                args = JSON.parse(args);
              } catch {
                /* keep the string */
              }
            }
            return { ...tc, function: { ...f, arguments: args } };
          });
        return out;
      });
    }
  } else {
    if (b.messages !== undefined) bad('messages', 'not a completions parameter; use "prompt" (or POST /v1/chat/completions for messages)');
    const p = b.prompt;
    const isIds = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((y) => Number.isSafeInteger(y) && (y as number) >= 0);
    if (typeof p === 'string') prompt = p;
    else if (Array.isArray(p) && p.length === 1 && typeof p[0] === 'string') prompt = p[0];
    else if (isIds(p)) prompt = p;
    else if (Array.isArray(p) && p.length === 1 && isIds(p[0])) prompt = p[0];
    else if (Array.isArray(p) && p.length > 1 && (p.every((x) => typeof x === 'string') || p.every((x) => Array.isArray(x)))) {
      if (p.length > MAX_PROMPTS) bad('prompt', `at most ${MAX_PROMPTS} prompts in one request, got ${p.length}`);
      p.forEach((x, i) => {
        if (typeof x === 'string' && x.length === 0) bad(`prompt[${i}]`, 'must not be empty');
        else if (Array.isArray(x) && !isIds(x)) {
          const j = x.findIndex((y) => !(Number.isSafeInteger(y) && (y as number) >= 0));
          bad(j < 0 ? `prompt[${i}]` : `prompt[${i}][${j}]`, j < 0 ? 'must not be empty' : `must be a token id (an integer >= 0), got ${JSON.stringify(x[j])}`);
        }
      });
      prompts = p as (string | number[])[];
    } else if (Array.isArray(p) && p.length > 0 && p.some((x) => typeof x === 'number')) {
      const j = p.findIndex((y) => !(Number.isSafeInteger(y) && (y as number) >= 0));
      bad(`prompt[${j}]`, `must be a token id (an integer >= 0), got ${JSON.stringify(p[j])}`);
    } else bad('prompt', 'required: a string, an array of token ids, or an array of several strings or of several token-id arrays');
    if (typeof prompt === 'string' && prompt.length === 0) bad('prompt', 'must not be empty');
  }

  const temperature = num('temperature', 1, 0, 2);
  const topP = num('top_p', 1, 0, 1);
  if (b.top_p !== undefined && topP === 0) bad('top_p', 'must be greater than 0');
  const topK = b.top_k === -1 ? 0 : num('top_k', 0, 0, 1e9, true);
  let maxTokens: number | undefined;
  for (const key of ['max_tokens', 'max_completion_tokens']) {
    if (b[key] === undefined || b[key] === null) continue;
    const v = num(key, 16, 1, Number.MAX_SAFE_INTEGER, true);
    maxTokens = maxTokens === undefined ? v : Math.min(maxTokens, v);
  }
  if (kind === 'completion' && maxTokens === undefined) maxTokens = 16; // OpenAI's completions default
  const n = num('n', 1, 1, MAX_N, true);

  let stop: string[] = [];
  if (typeof b.stop === 'string') stop = [b.stop];
  else if (Array.isArray(b.stop)) {
    if (b.stop.length > 4 || !b.stop.every((s) => typeof s === 'string' && s.length > 0)) bad('stop', 'must be a non-empty string or an array of up to 4 non-empty strings');
    else stop = b.stop as string[];
  } else if (b.stop !== undefined && b.stop !== null) bad('stop', 'must be a string or an array of strings');
  if (typeof b.stop === 'string' && b.stop.length === 0) bad('stop', 'must not be empty');

  let seed: number | undefined;
  if (b.seed !== undefined && b.seed !== null) seed = num('seed', 0, -(2 ** 63), 2 ** 64, true);

  let logprobs = false;
  let topLogprobs = 0;
  if (kind === 'chat') {
    logprobs = bool('logprobs', false);
    topLogprobs = num('top_logprobs', 0, 0, 20, true);
    if (topLogprobs > 0 && !logprobs) bad('top_logprobs', 'needs "logprobs": true');
  } else if (b.logprobs !== undefined && b.logprobs !== null) {
    topLogprobs = num('logprobs', 0, 0, 5, true);
    logprobs = true;
  }
  if (kind === 'completion' && b.echo === true) bad('echo', 'echo is not supported');

  const stream = bool('stream', false);
  let includeUsage = false;
  const so = b.stream_options;
  if (so !== undefined && so !== null) {
    if (typeof so !== 'object' || Array.isArray(so)) bad('stream_options', 'must be an object');
    else if (!stream) bad('stream_options', 'only allowed with "stream": true');
    else {
      const iu = (so as Body).include_usage;
      if (iu !== undefined && typeof iu !== 'boolean') bad('stream_options.include_usage', 'must be true or false');
      includeUsage = iu === true;
    }
  }

  let tools: ToolDef[] | undefined;
  if (b.tools !== undefined && b.tools !== null) {
    if (kind !== 'chat') bad('tools', 'tools are a chat completions parameter');
    else if (!Array.isArray(b.tools)) bad('tools', 'must be an array of {type: "function", function: {name, parameters}}');
    else {
      b.tools.forEach((t: unknown, i) => {
        const f = (t as Body | null)?.function as Body | undefined;
        if (!t || (t as Body).type !== 'function' || !f || typeof f !== 'object') bad(`tools[${i}]`, 'must be {type: "function", function: {name, ...}}');
        else if (typeof f.name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(f.name)) bad(`tools[${i}].function.name`, 'must be 1-64 letters, digits, _ or -');
      });
      if (b.tools.length) tools = b.tools as ToolDef[];
    }
  }
  let toolChoice: GenerationRequest['toolChoice'] = 'auto';
  const tc = b.tool_choice;
  if (tc === 'none' || tc === 'auto' || tc === 'required') toolChoice = tc;
  else if (tc && typeof tc === 'object' && typeof ((tc as Body).function as Body | undefined)?.name === 'string') {
    const name = ((tc as Body).function as Body).name as string;
    if (!tools?.some((t) => t.function.name === name)) bad('tool_choice', `names the function "${name}", which is not in "tools"`);
    toolChoice = { name };
  } else if (tc !== undefined && tc !== null) bad('tool_choice', 'must be "none", "auto", "required" or {type: "function", function: {name}}');

  let jsonMode = false;
  const rf = b.response_format;
  if (rf !== undefined && rf !== null) {
    const t = (rf as Body).type;
    if (t === 'json_object' || t === 'json_schema') jsonMode = true;
    else if (t !== 'text') bad('response_format.type', `must be "text", "json_object" or "json_schema", got ${JSON.stringify(t)}`);
  }

  const ignoreEos = bool('ignore_eos', false);
  const returnTokenIds = bool('return_token_ids', false);
  const tokensAsIds = bool('return_tokens_as_token_ids', false);
  let stopTokenIds: number[] = [];
  const sti = b.stop_token_ids;
  if (Array.isArray(sti) && sti.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) stopTokenIds = sti as number[];
  else if (sti !== undefined && sti !== null) bad('stop_token_ids', 'must be an array of token ids (integers >= 0)');
  if (prompts && stream) bad('stream', 'streaming is not supported with several prompts; send one request per prompt, or stream: false');
  for (const key of Object.keys(b)) {
    if (IGNORED.has(key)) continue;
    const known = ['model', 'messages', 'prompt', 'temperature', 'top_p', 'top_k', 'max_tokens', 'max_completion_tokens', 'n', 'stop', 'seed', 'logprobs', 'top_logprobs', 'stream', 'stream_options', 'tools', 'tool_choice', 'response_format', 'ignore_eos', 'stop_token_ids', 'return_token_ids', 'return_tokens_as_token_ids'];
    if (!known.includes(key)) bad(key, 'unknown parameter');
  }

  if (issues.length) throw badRequest(issues.map((i) => i.message).join('; '), issues[0]!.param);
  return { kind, model, messages, prompt, prompts, temperature, topP, topK, maxTokens, n, stop, seed, logprobs, topLogprobs, stream, includeUsage, tools, toolChoice, jsonMode, ignoreEos, stopTokenIds, returnTokenIds, tokensAsIds };
}
