/**
 * A complete PolicyEngine over a bigram language model (next-token logits depend only on the
 * previous token), with exact gradients. It is small enough to train in milliseconds, so the
 * trainer's logic (advantages, masking, mini-batches, checkpoints and resume) can be tested
 * without a transformer; users can use it the same way for their own trainer tests.
 *
 * Parameters: base logits W (V, V), frozen, plus a trainable "adapter" D (V, V); the
 * reference policy is W alone (the adapter disabled), as with LoRA, until resetReference()
 * makes it W + D as D was then. Losses may depend on the per-token entropies (exact gradient).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OptimParams, PolicyEngine, Sample, SampleRequest, Sequence, LossFn } from '../../contracts/policy-engine.js';
import { Rng } from '../../engine/rng.js';

export class BigramPolicy implements PolicyEngine {
  readonly W: Float64Array;
  D: Float64Array;
  private grad: Float64Array;
  private m: Float64Array;
  private v: Float64Array;
  private t = 0;
  /** The adapter as it was at the last resetReference() (null: the reference is W alone). */
  refD: Float64Array | null = null;

  constructor(readonly vocab: number, seed = 0, scale = 0.5) {
    const rng = new Rng(seed);
    this.W = Float64Array.from({ length: vocab * vocab }, () => rng.normal() * scale);
    this.D = new Float64Array(vocab * vocab);
    this.grad = new Float64Array(vocab * vocab);
    this.m = new Float64Array(vocab * vocab);
    this.v = new Float64Array(vocab * vocab);
  }

  /** log-softmax of the next-token logits after `prev`, divided by the temperature. */
  private logProbs(prev: number, reference: boolean, temperature = 1): Float64Array {
    const V = this.vocab;
    const out = new Float64Array(V);
    let mx = -Infinity;
    for (let j = 0; j < V; j++) {
      out[j] = (this.W[prev * V + j] + (reference ? (this.refD ? this.refD[prev * V + j] : 0) : this.D[prev * V + j])) / temperature;
      mx = Math.max(mx, out[j]);
    }
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(out[j] - mx);
    const lse = mx + Math.log(s);
    for (let j = 0; j < V; j++) out[j] -= lse;
    return out;
  }

  async sample(req: SampleRequest): Promise<Sample[]> {
    const out: Sample[] = [];
    const stops = new Set(req.stopTokens ?? []);
    req.prompts.forEach((prompt, p) => {
      for (let i = 0; i < req.n; i++) {
        const rng = new Rng(((req.seed ?? 0) * 1000003 + p * 7919 + i) >>> 0);
        const tokens: number[] = [];
        const logprobs: number[] = [];
        let prev = prompt[prompt.length - 1];
        let finishReason: Sample['finishReason'] = 'length';
        while (tokens.length < req.maxNewTokens) {
          const lp = this.logProbs(prev, !!req.reference, req.temperature > 0 ? req.temperature : 1);
          const tok = pick(lp, req, rng);
          tokens.push(tok);
          logprobs.push(lp[tok]);
          prev = tok;
          if (stops.has(tok)) {
            finishReason = 'stop';
            break;
          }
        }
        out.push({ prompt: p, tokens, logprobs, finishReason });
      }
    });
    return out;
  }

  async logprobs(seqs: Sequence[], opts: { reference?: boolean; temperature?: number } = {}): Promise<Float32Array[]> {
    return seqs.map((s) => {
      let prev = s.prompt[s.prompt.length - 1];
      return Float32Array.from(s.completion, (tok) => {
        const v = this.logProbs(prev, !!opts.reference, opts.temperature ?? 1)[tok];
        prev = tok;
        return v;
      });
    });
  }

  async forwardBackward(seqs: Sequence[], loss: LossFn, opts: { temperature?: number } = {}): Promise<{ loss: number; entropy: number }> {
    const V = this.vocab;
    const T = opts.temperature ?? 1;
    const lps = await this.logprobs(seqs, { temperature: T });
    const ents = seqs.map((s) => {
      let prev = s.prompt[s.prompt.length - 1];
      return Float32Array.from(s.completion, (tok) => {
        const lp = this.logProbs(prev, false, T);
        prev = tok;
        let h = 0;
        for (let j = 0; j < V; j++) h -= Math.exp(lp[j]) * lp[j];
        return h;
      });
    });
    const { loss: value, dlogp, dentropy } = loss(lps, ents);
    let ent = 0;
    let n = 0;
    seqs.forEach((s, k) => {
      let prev = s.prompt[s.prompt.length - 1];
      s.completion.forEach((tok, t) => {
        const lp = this.logProbs(prev, false, T);
        const g = dlogp[k][t];
        const gh = dentropy ? dentropy[k][t] : 0;
        const h = ents[k][t];
        // d logp[tok] / d logits[j] = (onehot(tok)_j − p_j) / T;  d H / d logits[j] = −p_j (logp_j + H) / T
        for (let j = 0; j < V; j++) {
          const pj = Math.exp(lp[j]);
          this.grad[prev * V + j] += (g * ((j === tok ? 1 : 0) - pj) - gh * pj * (lp[j] + h)) / T;
        }
        ent += h;
        n++;
        prev = tok;
      });
    });
    return { loss: value, entropy: n ? ent / n : 0 };
  }

  async resetReference(): Promise<void> {
    this.refD = Float64Array.from(this.D);
    this.m.fill(0);
    this.v.fill(0);
    this.t = 0;
  }

  async optimStep(p: OptimParams): Promise<{ gradNorm: number }> {
    let sq = 0;
    for (const g of this.grad) sq += g * g;
    const gradNorm = Math.sqrt(sq);
    const clip = p.maxGradNorm && gradNorm > p.maxGradNorm ? p.maxGradNorm / (gradNorm + 1e-6) : 1;
    const b1 = p.beta1 ?? 0.9;
    const b2 = p.beta2 ?? 0.999;
    const eps = p.eps ?? 1e-8;
    this.t++;
    for (let i = 0; i < this.D.length; i++) {
      const g = this.grad[i] * clip;
      this.D[i] -= p.lr * (p.weightDecay ?? 0) * this.D[i];
      this.m[i] = b1 * this.m[i] + (1 - b1) * g;
      this.v[i] = b2 * this.v[i] + (1 - b2) * g * g;
      const mh = this.m[i] / (1 - b1 ** this.t);
      const vh = this.v[i] / (1 - b2 ** this.t);
      this.D[i] -= (p.lr * mh) / (Math.sqrt(vh) + eps);
    }
    this.grad.fill(0);
    return { gradNorm };
  }

  async saveAdapter(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'bigram_adapter.json'), JSON.stringify({ vocab: this.vocab, D: Array.from(this.D) }));
  }

  async loadAdapter(dir: string): Promise<void> {
    const j = JSON.parse(readFileSync(join(dir, 'bigram_adapter.json'), 'utf8'));
    if (j.vocab !== this.vocab) throw new Error(`bigram adapter in ${dir} has vocab ${j.vocab}, the policy ${this.vocab}`);
    this.D = Float64Array.from(j.D);
  }

  async saveTrainingState(dir: string): Promise<void> {
    await this.saveAdapter(dir);
    writeFileSync(join(dir, 'bigram_optimizer.json'), JSON.stringify({ t: this.t, m: Array.from(this.m), v: Array.from(this.v), refD: this.refD ? Array.from(this.refD) : null }));
  }

  async loadTrainingState(dir: string): Promise<void> {
    await this.loadAdapter(dir);
    const j = JSON.parse(readFileSync(join(dir, 'bigram_optimizer.json'), 'utf8'));
    this.t = j.t;
    this.m = Float64Array.from(j.m);
    this.v = Float64Array.from(j.v);
    this.refD = j.refD ? Float64Array.from(j.refD) : null;
    this.grad.fill(0);
  }
}

/** Samples one token from (already tempered) log-probs with top-k / top-p; temperature 0: argmax. */
function pick(lp: Float64Array, o: SampleRequest, rng: Rng): number {
  const V = lp.length;
  if (o.temperature === 0) {
    let best = 0;
    for (let j = 1; j < V; j++) if (lp[j] > lp[best]) best = j;
    return best;
  }
  const idx = Array.from({ length: V }, (_, j) => j).sort((a, b) => lp[b] - lp[a] || a - b);
  const k = o.topK && o.topK > 0 ? Math.min(o.topK, V) : V;
  const w = idx.slice(0, k).map((j) => Math.exp(lp[j]));
  const total = w.reduce((a, b) => a + b, 0);
  let keep = w.length;
  if (o.topP !== undefined && o.topP < 1) {
    let c = 0;
    for (let i = 0; i < w.length; i++) {
      c += w[i] / total;
      if (c >= o.topP) {
        keep = i + 1;
        break;
      }
    }
  }
  const z = w.slice(0, keep).reduce((a, b) => a + b, 0);
  let u = rng.uniform() * z;
  for (let i = 0; i < keep; i++) {
    u -= w[i];
    if (u <= 0) return idx[i];
  }
  return idx[keep - 1];
}
