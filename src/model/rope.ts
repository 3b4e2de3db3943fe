/**
 * Rotary position embedding tables in the Hugging Face "rotate_half" layout: for a head vector x of
 * size D, pairs are (x[i], x[i + D/2]) rotated by angle pos · invFreq[i], i < D/2.
 * Tables are cos, sin of shape (positions, D/2), computed the way transformers does in float32
 * (invFreq and pos · invFreq rounded to f32) so our logits match theirs.
 */
import type { Llama3RopeScaling } from './config.js';

/** invFreq[i] = 1 / theta^(2i / D), then llama3 scaling if given. Length D/2. */
export function inverseFrequencies(headDim: number, theta: number, scaling: Llama3RopeScaling | null): Float64Array {
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / headDim)));
  if (!scaling) return inv;
  // Llama 3.1: long wavelengths are divided by `factor`, short ones kept, and the band between
  // low_freq_wavelen and high_freq_wavelen interpolated smoothly.
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: old } = scaling;
  const lowWavelen = old / lowFreqFactor;
  const highWavelen = old / highFreqFactor;
  for (let i = 0; i < half; i++) {
    const f = inv[i]!;
    const wavelen = (2 * Math.PI) / f;
    let g = wavelen > lowWavelen ? f / factor : f;
    if (!(wavelen < highWavelen) && !(wavelen > lowWavelen)) {
      const smooth = (old / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      g = (1 - smooth) * (g / factor) + smooth * g;
    }
    inv[i] = Math.fround(g);
  }
  return inv;
}

/** Growable cos/sin tables (positions, D/2) for one model; grown on demand in doubling steps. */
export class RopeTable {
  readonly half: number;
  private readonly inv: Float64Array;
  cos: Float32Array = new Float32Array(0);
  sin: Float32Array = new Float32Array(0);
  /** Positions currently covered. */
  length = 0;

  constructor(headDim: number, theta: number, scaling: Llama3RopeScaling | null) {
    this.half = headDim / 2;
    this.inv = inverseFrequencies(headDim, theta, scaling);
  }

  /** Makes sure positions 0..n-1 are in the table. */
  ensure(n: number): void {
    if (n <= this.length) return;
    const len = Math.max(n, Math.min(2 * this.length, n + 4096), 64);
    const cos = new Float32Array(len * this.half);
    const sin = new Float32Array(len * this.half);
    cos.set(this.cos);
    sin.set(this.sin);
    for (let p = this.length; p < len; p++) {
      for (let i = 0; i < this.half; i++) {
        const a = Math.fround(p * this.inv[i]!);
        cos[p * this.half + i] = Math.cos(a);
        sin[p * this.half + i] = Math.sin(a);
      }
    }
    this.cos = cos;
    this.sin = sin;
    this.length = len;
  }
}
