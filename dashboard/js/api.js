// The dashboard's only door to the server: JSON requests and SSE streams over fetch, with the
// API key (if the server wants one) sent as `Authorization: Bearer`. fetch rather than
// EventSource for SSE, because EventSource cannot send headers.

const KEY = 'rft.apiKey';
const ACCOUNT = 'rft.account';

export const auth = {
  key: localStorage.getItem(KEY) || '',
  account: localStorage.getItem(ACCOUNT) || 'default',
  setKey(k) {
    this.key = k;
    if (k) localStorage.setItem(KEY, k);
    else localStorage.removeItem(KEY);
  },
  setAccount(a) {
    this.account = a;
    localStorage.setItem(ACCOUNT, a);
  },
};

/** Called with the failing request's message when the server answers 401 (the UI asks for a key). */
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** An API error: the server's OpenAI error object (`message`, `param`, `code`, `details`). */
export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `HTTP ${status}`);
    this.status = status;
    this.error = error || {};
    this.details = error?.details || [];
  }
}

function headers(extra = {}) {
  const h = { ...extra };
  if (auth.key) h.authorization = `Bearer ${auth.key}`;
  return h;
}

/** `/v1/accounts/{account}` + rest. */
export function acct(rest = '') {
  return `/v1/accounts/${encodeURIComponent(auth.account)}${rest}`;
}

/** A JSON request; `body` may be an object (sent as JSON), a string, a Blob or a File (sent as is). */
export async function api(method, path, body) {
  const init = { method, headers: headers() };
  if (body !== undefined) {
    if (typeof body === 'string' || body instanceof Blob) init.body = body;
    else {
      init.body = JSON.stringify(body);
      init.headers['content-type'] = 'application/json';
    }
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { error: { message: text } };
  }
  if (!res.ok) {
    if (res.status === 401) onUnauthorized(json.error?.message);
    throw new ApiError(res.status, json.error);
  }
  return json;
}

/** A binary download through fetch (so the key goes along), saved under `filename`. */
export async function download(path, filename) {
  const res = await fetch(path, { headers: headers() });
  if (!res.ok) {
    const t = await res.text();
    let e;
    try {
      e = JSON.parse(t).error;
    } catch {
      e = { message: t };
    }
    throw new ApiError(res.status, e);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Reads an SSE stream (GET, or POST with a JSON body) and calls onEvent(event, data) for each
 * event; returns an object whose close() aborts it. `done` resolves when the stream ends.
 */
export function stream(path, onEvent, { method = 'GET', body } = {}) {
  const ctl = new AbortController();
  const init = { method, headers: headers({ accept: 'text/event-stream' }), signal: ctl.signal };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['content-type'] = 'application/json';
  }
  const done = (async () => {
    const res = await fetch(path, init);
    if (!res.ok) {
      const t = await res.text();
      let e;
      try {
        e = JSON.parse(t).error;
      } catch {
        e = { message: t };
      }
      if (res.status === 401) onUnauthorized(e?.message);
      throw new ApiError(res.status, e);
    }
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true }).replace(/\r\n/g, '\n');
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let event = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (!data.length) continue;
        const text = data.join('\n');
        let parsed = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // [DONE] and other plain data
        }
        onEvent(event, parsed);
      }
    }
  })().catch((e) => {
    if (e.name !== 'AbortError') throw e;
  });
  return { close: () => ctl.abort(), done };
}

/** Every page of a list endpoint (`key` is the array's field). */
export async function listAll(path, key, pageSize = 200) {
  const out = [];
  let token = '';
  for (;;) {
    const sep = path.includes('?') ? '&' : '?';
    const r = await api('GET', `${path}${sep}pageSize=${pageSize}${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`);
    out.push(...(r[key] || []));
    token = r.nextPageToken;
    if (!token) return out;
  }
}

/** All stored metrics of a job, oldest first. */
export async function allMetrics(jobName) {
  return listAll(`/v1/${jobName}/metrics`, 'metrics', 1000);
}
