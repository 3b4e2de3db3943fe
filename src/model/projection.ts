/**
 * One linear projection of the decoder (q/k/v/o, gate/up/down, lm_head) with its optional LoRA
 * adapter: y = x·Wᵀ + b + scaling · dropout(x)·Aᵀ·Bᵀ. W (out, in) as in HF checkpoints;
 * A (r, in), B (out, r) as PEFT stores them.
 */
import { add, dropout, linear, scale, type Rng, type Tensor } from '../engine/index.js';

export interface LoraWeights {
  /** lora_A: (r, in). */
  A: Tensor;
  /** lora_B: (out, r). */
  B: Tensor;
  /** alpha / r (or alpha / √r with rsLoRA). */
  scaling: number;
  dropout: number;
}

/** Run-time switches shared by all projections of one model. */
export interface ForwardMode {
  /** Apply LoRA adapters (false gives the base/reference policy). */
  adapters: boolean;
  /** Training mode: LoRA dropout active. */
  training: boolean;
  rng: Rng | null;
}

export class Projection {
  lora: LoraWeights | null = null;

  constructor(
    /** HF module name, e.g. "model.layers.3.self_attn.q_proj". */
    readonly name: string,
    public weight: Tensor,
    public bias: Tensor | null,
  ) {}

  get inFeatures(): number {
    return this.weight.shape[1]!;
  }

  get outFeatures(): number {
    return this.weight.shape[0]!;
  }

  /** x (..., in) → (..., out). */
  forward(x: Tensor, mode: ForwardMode): Tensor {
    const y = linear(x, this.weight, this.bias);
    const l = this.lora;
    if (!l || !mode.adapters) return y;
    const xin = mode.training && l.dropout > 0 && mode.rng ? dropout(x, l.dropout, mode.rng) : x;
    // Scale the (rows, r) intermediate rather than the (rows, out) product: r ≪ out.
    return add(y, linear(scale(linear(xin, l.A), l.scaling), l.B));
  }
}
