/**
 * Keeping an inference fleet on the trainer's weights: after an optimizer step the adapter is
 * saved (PEFT layout) into a directory every server can read, and loaded on every server under a
 * new name with vLLM's runtime LoRA API (`POST /v1/load_lora_adapter {lora_name, lora_path,
 * load_inplace}`); adapters older than the last `keep` are unloaded (`/v1/unload_lora_adapter`)
 * and their folders removed. A server that fails to load keeps running; it answers the new name
 * with 404 and FleetRolloutSource sends that row elsewhere.
 *
 * Only LoRA runs can sync this way: a full-weight run would have to ship the whole model each
 * step, which no endpoint of the protocol does, so `requireLoraForFleet` refuses it.
 */
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { normalizeBaseUrl } from './fleet.js';

export interface AdapterSyncOptions {
  servers: string[];
  /** A folder the trainer writes and every server reads at the same path (a shared or network file system). */
  sharedDir: string;
  /** Adapter names are `${prefix}-step-${step}` (default "rft"). */
  prefix?: string;
  /** Adapters kept loaded, newest first (default 2: the current one and the one requests in flight may still use). */
  keep?: number;
  apiKey?: string;
  /** Per load / unload call (default 60 000 ms). */
  timeoutMs?: number;
}

export interface PublishResult {
  name: string;
  dir: string;
  /** Servers that loaded it. */
  loaded: string[];
  failed: { url: string; error: string }[];
}

export interface AdapterSyncStats {
  publishes: number;
  loadFailures: number;
  unloadFailures: number;
}

/** The fleet receives weights as LoRA adapters only. */
export function requireLoraForFleet(opts: { full: boolean }): void {
  if (opts.full)
    throw new Error(
      'rollout servers receive the policy as a LoRA adapter (vLLM\'s /v1/load_lora_adapter); a full-weight run (--full) has no weight-sync path to them. Train a LoRA adapter (drop --full) or sample in process (drop --rollout-server).',
    );
}

export class AdapterSync {
  readonly stats: AdapterSyncStats = { publishes: 0, loadFailures: 0, unloadFailures: 0 };
  private readonly urls: string[];
  private readonly dir: string;
  private readonly prefix: string;
  private readonly keep: number;
  /** Names loaded, oldest first. */
  private readonly live: string[] = [];

  constructor(private readonly opts: AdapterSyncOptions) {
    if (opts.servers.length === 0) throw new Error('adapter sync needs at least one rollout server URL');
    this.urls = opts.servers.map(normalizeBaseUrl);
    this.dir = resolve(opts.sharedDir);
    this.prefix = opts.prefix ?? 'rft';
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(this.prefix)) throw new Error(`adapter name prefix "${this.prefix}" must be 1-64 letters, digits or ._-`);
    this.keep = opts.keep ?? 2;
    if (!Number.isInteger(this.keep) || this.keep < 1) throw new Error(`keep must be an integer >= 1, got ${this.keep}`);
    mkdirSync(this.dir, { recursive: true });
  }

  nameFor(step: number): string {
    return `${this.prefix}-step-${step}`;
  }

  /** Names currently loaded on the fleet (as far as this trainer knows), oldest first. */
  get loadedNames(): string[] {
    return [...this.live];
  }

  /**
   * Saves the adapter with `save(dir)` (written to a temporary folder, then renamed, so no server
   * ever reads half an adapter), loads it on every server, then unloads what falls out of `keep`.
   * Throws when no server could load it.
   */
  async publish(save: (dir: string) => Promise<void>, step: number): Promise<PublishResult> {
    const name = this.nameFor(step);
    const dir = join(this.dir, name);
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    await save(tmp);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    const results = await Promise.all(this.urls.map((u) => this.call(u, 'load_lora_adapter', { lora_name: name, lora_path: dir, load_inplace: true })));
    const failed = results.flatMap((e, i) => (e ? [{ url: this.urls[i]!, error: e }] : []));
    this.stats.loadFailures += failed.length;
    if (failed.length === this.urls.length) throw new Error(`no rollout server loaded adapter ${name} from ${dir}: ${failed.map((f) => `${f.url}: ${f.error}`).join('; ')}`);
    this.stats.publishes++;
    if (!this.live.includes(name)) this.live.push(name);
    while (this.live.length > this.keep) {
      const old = this.live.shift()!;
      const errs = await Promise.all(this.urls.map((u) => this.call(u, 'unload_lora_adapter', { lora_name: old })));
      this.stats.unloadFailures += errs.filter((e) => e !== null).length;
      rmSync(join(this.dir, old), { recursive: true, force: true });
    }
    return { name, dir, loaded: this.urls.filter((_, i) => !results[i]), failed };
  }

  /** POSTs to a runtime LoRA route; null on success, else what went wrong. */
  private async call(url: string, route: string, body: object): Promise<string | null> {
    try {
      const res = await fetch(`${url}/v1/${route}`, {
        method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(this.opts.timeoutMs ?? 60_000),
        headers: { 'content-type': 'application/json', ...(this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {}) },
      });
      const text = await res.text();
      if (res.ok) return null;
      let message = text.slice(0, 300);
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
      } catch {
        /* plain text */
      }
      return `HTTP ${res.status}: ${message}`;
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause;
      return `${(e as Error).message}${cause?.code ? ` (${cause.code})` : ''}`;
    }
  }
}

