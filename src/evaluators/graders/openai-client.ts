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
 * A score in a judge's reply: JSON `{"score": x}` / `{"result": x}`, a "SCORE: x" line, or a reply
 * that is just a number. Undefined when none is found (the caller marks the result invalid).
 */
export function parseScore(reply: string): number | undefined {
  const t = reply.trim();
  const json = /\{[\s\S]*\}/.exec(t);
  if (json) {
    try {
      const v = JSON.parse(json[0]) as Record<string, unknown>;
      for (const k of ['score', 'result', 'rating', 'grade']) {
        const x = v[k];
        if (typeof x === 'number' && Number.isFinite(x)) return x;
        if (typeof x === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(x)) return Number(x);
      }
    } catch {
      // not JSON after all; try the other forms
    }
  }
  const m = /(?:^|\n)\s*\**\s*(?:final\s+)?(?:score|rating|grade)\s*\**\s*[:=]\s*\**\s*(-?\d+(?:\.\d+)?)/i.exec(t);
  if (m) return Number(m[1]);
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  return undefined;
}
