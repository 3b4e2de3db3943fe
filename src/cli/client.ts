/**
 * The CLI's client of the jobs API: `--server URL` (or $RFT_SERVER, default
 * http://127.0.0.1:8000), `Authorization: Bearer $RFT_API_KEY` when set, and API errors turned
 * into CliErrors that print the message and every detail with its path.
 */
import { CliError } from './errors.js';

export interface ClientOptions {
  server?: string;
  account?: string;
}

export class ApiClient {
  readonly base: string;
  readonly account: string;
  private readonly key = process.env.RFT_API_KEY;

  constructor(o: ClientOptions) {
    this.base = (o.server ?? process.env.RFT_SERVER ?? 'http://127.0.0.1:8000').replace(/\/+$/, '');
    this.account = o.account ?? process.env.RFT_ACCOUNT ?? 'default';
  }

  /** `accounts/A/COLLECTION/ID` for a bare id. */
  name(collection: string, ref: string): string {
    return ref.startsWith('accounts/') ? ref : `accounts/${this.account}/${collection}/${ref}`;
  }

  async request(method: string, path: string, body?: unknown, raw?: { body: NonNullable<RequestInit['body']>; type: string; duplex?: boolean }): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.key) headers.authorization = `Bearer ${this.key}`;
    let payload: RequestInit['body'] | undefined;
    if (raw) {
      headers['content-type'] = raw.type;
      payload = raw.body;
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, { method, headers, body: payload, ...(raw?.duplex ? { duplex: 'half' } : {}) } as RequestInit);
    } catch (e) {
      throw new CliError(`cannot reach the server at ${this.base}: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message} (start it with \`rft server\`, or set --server / RFT_SERVER)`, 1);
    }
    if (!res.ok) {
      const text = await res.text();
      let msg = `${res.status} ${res.statusText}`;
      try {
        const e = JSON.parse(text).error;
        msg = e.message + (e.details?.length && !String(e.message).includes('\n') ? '\n' + e.details.map((d: { path: string; message: string }) => `  ${d.path}: ${d.message}`).join('\n') : '');
      } catch {
        if (text) msg += `: ${text.slice(0, 500)}`;
      }
      throw new CliError(msg, 1);
    }
    return res;
  }

  async json<T = Record<string, any>>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.request(method, path, body)).json()) as T;
  }

  /** Server-sent events from `path`, one callback per event, until the stream ends. */
  async events(path: string, on: (event: string, data: any) => void | 'stop'): Promise<void> {
    const res = await this.request('GET', path);
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let event = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (!data) continue;
        if (on(event, JSON.parse(data)) === 'stop') return;
      }
    }
  }
}
