/**
 * The seam between training and compute (DESIGN.md): the trainer only ever talks to a policy
 * through this interface, so a remote or GPU engine can stand behind the same trainer.
 * Token ids in, token ids out; text is the caller's business (tokenizer + chat template).
 */

export type FinishReason = 'stop' | 'length';

export interface SamplingParams {
  /** New tokens at most per completion. */
  maxNewTokens: number;
  /** 0 means greedy. */
  temperature: number;
  topP?: number;
  /** 0 or undefined: no top-k filter. */
  topK?: number;
  /** Token ids that end a completion (the model's EOS ids belong here). */
  stopTokens?: number[];
  /** Strings that end a completion (checked on the decoded text). */
  stopStrings?: string[];
  seed?: number;
}

export interface SampleRequest extends SamplingParams {
  /** One token-id prompt per entry. */
  prompts: number[][];
  /** Completions per prompt. */
  n: number;
  /** Sample from the reference (adapter disabled) instead of the current policy. */
  reference?: boolean;
}

export interface Sample {
  /** Index into SampleRequest.prompts. */
  prompt: number;
  tokens: number[];
  /** Log-prob of each sampled token under the sampling distribution, softmax(logits / temperature) (T = 1 when greedy). */
  logprobs: number[];
  finishReason: FinishReason;
}

export interface Sequence {
  prompt: number[];
  completion: number[];
}

export interface LossFn {
  /**
   * Given per-token completion log-probs (one array per sequence), and the entropy of the
   * policy's next-token distribution at each of those positions (when the engine computes it),
   * return the loss and dLoss/dlogp of the same shape; the engine back-propagates that into the
   * trainable weights. A loss that depends on the entropies too (an entropy bonus) also returns
   * dLoss/dentropy, which the engine back-propagates through the full distribution; an engine
   * that cannot must throw rather than ignore it.
   */
  (logprobs: Float32Array[], entropies?: Float32Array[]): { loss: number; dlogp: ArrayLike<number>[]; dentropy?: ArrayLike<number>[] };
}

export interface OptimParams {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Clip the global gradient norm to this value before the step (0 or undefined: no clipping). */
  maxGradNorm?: number;
}

export interface PolicyEngine {
  sample(req: SampleRequest): Promise<Sample[]>;
  /**
   * Teacher-forced log-probs of each completion token given its prompt, under softmax(logits / temperature)
   * (default temperature 1), matching what sample() reports at that temperature.
   */
  logprobs(seqs: Sequence[], opts?: { reference?: boolean; temperature?: number }): Promise<Float32Array[]>;
  /** Forward, loss, backward; gradients accumulate until optimStep. */
  forwardBackward(seqs: Sequence[], loss: LossFn, opts?: { temperature?: number }): Promise<{ loss: number; /** mean entropy of the policy over completion tokens */ entropy?: number }>;
  /**
   * Make the current policy the reference (`reference: true`) from now on, and restart the
   * optimizer's moments (ProRL's reference reset). Optional: engines without it cannot train
   * with a periodic reference reset.
   */
  resetReference?(): Promise<void>;
  /** Apply accumulated gradients, then zero them. Returns the pre-clip gradient norm. */
  optimStep(params: OptimParams): Promise<{ gradNorm: number }>;
  saveAdapter(dir: string): Promise<void>;
  loadAdapter(dir: string): Promise<void>;
  /** Everything needed for an exact resume: trainable weights and optimizer moments and step count. */
  saveTrainingState(dir: string): Promise<void>;
  loadTrainingState(dir: string): Promise<void>;
}
