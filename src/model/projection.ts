/**
 * One linear projection of the decoder (q/k/v/o, gate/up/down, lm_head) with its optional LoRA
 * adapter: y = x·Wᵀ + b + scaling · dropout(x)·Aᵀ·Bᵀ. W (out, in) as in HF checkpoints;
 * A (r, in), B (out, r) as PEFT stores them.
 */
import { dropout, fusedLinear, type Rng, type Tensor, type Tensor16 } from '../engine/index.js';

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
    /** F32, or a frozen 16-bit weight (a bf16/f16 checkpoint's base). */
    public weight: Tensor | Tensor16,
    public bias: Tensor | null,
  ) {}

  get inFeatures(): number {
    return this.weight.shape[1]!;
  }

  get outFeatures(): number {
    return this.weight.shape[0]!;
  }

  /** x (..., in) → (..., out), plus `residual` (..., out) when given (added in the same op). */
  forward(x: Tensor, mode: ForwardMode, residual: Tensor | null = null): Tensor {
    const l = this.lora && mode.adapters ? this.lora : null;
    const lowRank = l
      ? { x: mode.training && l.dropout > 0 && mode.rng ? dropout(x, l.dropout, mode.rng) : x, A: l.A, B: l.B, scaling: l.scaling }
      : null;
    return fusedLinear(x, this.weight, { bias: this.bias, lowRank, residual });
  }
}
