/**
 * A minimal client for any OpenAI-compatible `/v1/chat/completions` endpoint (OpenAI, vLLM,
 * llama.cpp server, rft's own server), for judges and model graders. Retries 429, 5xx and network
 * errors with exponential backoff (honouring Retry-After up to the cap); each attempt has a timeout.
 * Configuration: options, else `RFT_JUDGE_BASE_URL` / `RFT_JUDGE_API_KEY` / `RFT_JUDGE_MODEL`.
 */

export interface JudgeEndpoint {
  /** e.g. "http://127.0.0.1:8000/v1" (a trailing /chat/completions is accepted too). */
  baseUrl?: string;
  apiKey?: string;
  model?: string;
  timeoutMs?: number;
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /** First backoff, ms (default 500); doubles each retry, capped at 8 s. */
  backoffMs?: number;
}

export interface ChatMessageIn {
  role: string;
  content: string;
}

export class JudgeError extends Error {}

export function resolveEndpoint(e: JudgeEndpoint, env: NodeJS.ProcessEnv = process.env): Required<Omit<JudgeEndpoint, 'apiKey'>> & { apiKey?: string } {
  const baseUrl = e.baseUrl ?? env.RFT_JUDGE_BASE_URL;
  const model = e.model ?? env.RFT_JUDGE_MODEL;
  if (!baseUrl) throw new JudgeError('no judge endpoint: set base_url in the spec or RFT_JUDGE_BASE_URL');
  if (!model) throw new JudgeError('no judge model: set model in the spec or RFT_JUDGE_MODEL');
  return {
    baseUrl,
    model,
    apiKey: e.apiKey ?? env.RFT_JUDGE_API_KEY,
    timeoutMs: e.timeoutMs ?? 60_000,
    retries: e.retries ?? 3,
    backoffMs: e.backoffMs ?? 500,
  };
}

function completionsUrl(base: string): string {
  const b = base.replace(/\/+$/, '');
  return b.endsWith('/chat/completions') ? b : `${b}/chat/completions`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends the messages, returns the first choice's text. */
export async function chatCompletion(
  endpoint: JudgeEndpoint,
  messages: ChatMessageIn[],
  extra: Record<string, unknown> = {},
): Promise<string> {
  const e = resolveEndpoint(endpoint);
  const url = completionsUrl(e.baseUrl);
  const body = JSON.stringify({ model: e.model, messages, ...extra });
  let lastError = '';
  for (let attempt = 0; attempt <= e.retries; attempt++) {
    if (attempt > 0) await sleep(Math.min(8000, e.backoffMs * 2 ** (attempt - 1)));
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(e.apiKey ? { authorization: `Bearer ${e.apiKey}` } : {}) },
        body,
        signal: AbortSignal.timeout(e.timeoutMs),
      });
    } catch (err) {
      const name = (err as Error).name;
      lastError = name === 'TimeoutError' || name === 'AbortError' ? `no reply within ${e.timeoutMs} ms` : `network error: ${(err as Error).message}`;
      continue;
    }
    if (res.status === 429 || res.status >= 500) {
      lastError = `HTTP ${res.status}: ${(await res.text().catch(() => '')).slice(0, 200)}`;
      const after = Number(res.headers.get('retry-after'));
      if (Number.isFinite(after) && after > 0 && attempt < e.retries) await sleep(Math.min(8000, after * 1000));
      continue;
    }
    const text = await res.text();
    if (!res.ok) throw new JudgeError(`judge endpoint ${url} answered HTTP ${res.status}: ${text.slice(0, 300)}`);
    let json: { choices?: { message?: { content?: unknown } }[] };
    try {
      json = JSON.parse(text);
    } catch {
      throw new JudgeError(`judge endpoint ${url} did not return JSON: ${text.slice(0, 200)}`);
    }
    const content = json.choices?.[0]?.message?.content;
    if (typeof content !== 'string') throw new JudgeError(`judge endpoint ${url} returned no choices[0].message.content`);
    return content;
  }
  throw new JudgeError(`judge endpoint ${url} failed after ${e.retries + 1} attempts: ${lastError}`);
}

/**
 * The JSON object a reply ends with (the whole reply, or its tail after prose), else undefined.
 * Only the end counts: a judge's reply may quote the graded response, which can hold JSON of its own.
 */
export function finalJsonObject(reply: string): Record<string, unknown> | undefined {
  const t = reply.trim();
  if (!t.endsWith('}')) return undefined;
  for (let i = t.lastIndexOf('{'); i >= 0 && i >= t.length - 4000; i = t.lastIndexOf('{', i - 1)) {
    try {
      const v = JSON.parse(t.slice(i)) as unknown;
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    } catch {
      // not the opening brace of the final object; try the previous one
    }
    if (i === 0) break;
  }
  return undefined;
}

const SCORE_LINE = /(?:^|\n)\s*\**\s*(?:final\s+)?(?:score|rating|grade)\s*\**\s*[:=]\s*\**\s*(-?\d+(?:\.\d+)?)/gi;

/**
 * A score in a judge's reply, read where the judge was told to put it, at the end — the reply may
 * quote the graded response, and a response that contains its own "SCORE: 10" or {"score": 10}
 * must not grade itself: a JSON object ending the reply, `{"score" | "result" | "rating" | "grade": x}`;
 * else the last "SCORE: x" line; else a reply that is just a number. Undefined when none is found
 * (the caller marks the result invalid).
 */
export function parseScore(reply: string): number | undefined {
  const t = reply.trim();
  const v = finalJsonObject(t);
  if (v) {
    for (const k of ['score', 'result', 'rating', 'grade']) {
      if (!Object.hasOwn(v, k)) continue;
      const x = v[k];
      if (typeof x === 'number' && Number.isFinite(x)) return x;
      if (typeof x === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(x)) return Number(x);
    }
  }
  let last: number | undefined;
  for (const m of t.matchAll(SCORE_LINE)) last = Number(m[1]);
  if (last !== undefined) return last;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  return undefined;
}
