/** `rft train` (GRPO-family RFT) options, declared once; flags, validation and docs derive from this. */
import { field, type Fields } from './fields.js';
import { agentFields } from './agent.js';

export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

export const loraFields = {
  loraRank: field.integer('LoRA rank r', { default: 16, min: 1, max: 1024 }),
  loraAlpha: field.number('LoRA alpha (scale = alpha / rank)', { default: 32, min: 0 }),
  loraDropout: field.number('dropout on the LoRA input during training', { default: 0, min: 0, max: 0.9 }),
  targetModules: field.list(`modules that get adapters (any of ${LORA_TARGETS.join(', ')})`, { default: [...LORA_TARGETS] }),
} satisfies Fields;

export const optimFields = {
  learningRate: field.number('peak learning rate (AdamW)', { default: 1e-4, min: 0, flag: 'lr' }),
  schedule: field.enum(['constant', 'linear', 'cosine'] as const, 'learning-rate schedule after warm-up', { default: 'constant' }),
  warmupSteps: field.integer('linear warm-up steps', { default: 0, min: 0, flag: 'warmup' }),
  weightDecay: field.number('AdamW decoupled weight decay', { default: 0, min: 0 }),
  maxGradNorm: field.number('clip the global gradient norm to this (0: no clipping)', { default: 1, min: 0 }),
  seed: field.integer('seed for data order, sampling and initialisation', { default: 0, min: 0 }),
} satisfies Fields;

export const rftFields = {
  model: field.string('base model directory (Hugging Face layout)', { required: true, path: true }),
  adapter: field.string('start from this PEFT adapter (e.g. the SFT stage); it becomes part of the KL reference', { path: true }),
  dataset: field.string('training rows (JSONL)', { required: true, path: true }),
  evalDataset: field.string('held-out rows for evaluation (JSONL)', { path: true }),
  evaluator: field.spec('evaluator SPEC: a built-in name, a JSON spec (inline, file, or an object in --config) or a .js/.ts module', { required: true }),
  agent: field.string('agent: a .ts/.js module (defineAgent, tools or client form), a built-in agent (sql-agent) or the http(s) URL of a remote eval-protocol agent server (default: one sampled reply per prompt)'),
  out: field.string('run directory (config, metrics, checkpoints, report)', { required: true, path: true, resumeMayChange: true }),
  full: field.boolean('train all weights instead of a LoRA adapter (small models; saves a model folder)', { default: false }),
  weightsDtype: field.enum(['f32', 'bf16'] as const, 'storage of the frozen base weights (default: the checkpoint\'s dtype; --full trains F32)'),

  rolloutsPerPrompt: field.integer('completions sampled per prompt (the GRPO group size)', { default: 8, min: 2 }),
  promptsPerStep: field.integer('prompts per optimisation step', { default: 4, min: 1 }),
  temperature: field.number('sampling temperature for rollouts', { default: 1, min: 0 }),
  topP: field.number('nucleus sampling threshold', { default: 1, min: 0, max: 1 }),
  topK: field.integer('top-k filter (0: off)', { default: 0, min: 0 }),
  maxNewTokens: field.integer('maximum completion length in tokens', { default: 128, min: 1 }),

  epochs: field.number('passes over the training prompts (ignored when --steps is set)', { default: 1, min: 0 }),
  steps: field.integer('optimisation steps (overrides --epochs)', { min: 1 }),
  policyUpdates: field.integer('policy updates per batch of rollouts (μ); > 1 makes the ratio move off 1', { default: 1, min: 1 }),
  miniBatches: field.integer('mini-batches each batch of rollouts is split into per update', { default: 1, min: 1 }),
  clipEpsilonLow: field.number('PPO clip ε below 1 (ratio ≥ 1 − ε)', { default: 0.2, min: 0, max: 0.99 }),
  clipEpsilonHigh: field.number('PPO clip ε above 1 (ratio ≤ 1 + ε; DAPO uses 0.28)', { default: 0.2, min: 0 }),
  klBeta: field.number('KL coefficient against the reference policy (k3 estimator); 0 disables it', { default: 0, min: 0 }),
  rewardScaling: field.enum(['group', 'batch', 'none'] as const, 'divide centred rewards by the group std, the batch std, or nothing (Dr. GRPO)', { default: 'group' }),
  lossType: field.enum(['grpo', 'bnpo', 'dr_grpo', 'dapo'] as const, 'how per-token losses are aggregated', { default: 'grpo' }),
  importanceSampling: field.enum(['token', 'sequence'] as const, 'importance ratio per token, or per sequence (GSPO)', { default: 'token' }),
  entropyCoef: field.number('entropy bonus: subtract this × the policy entropy at each completion token (verl entropy_coeff; its gradient flows through the whole distribution)', { default: 0, min: 0 }),
  refResetEvery: field.integer('ProRL reference reset: every N steps the current policy becomes the KL reference and AdamW restarts (0: never; matters with --kl-beta > 0)', { default: 0, min: 0 }),
  lossMode: field.enum(['vanilla', 'clip_cov', 'kl_cov'] as const, 'covariance-based entropy control (Cui et al. 2025, verl loss_mode): clip_cov drops the gradient of a few high-covariance tokens, kl_cov penalises |logp − old| on them', { default: 'vanilla' }),
  clipCovRatio: field.number('clip_cov: share of active tokens restrained', { default: 2e-4, min: 1e-9, max: 1 }),
  clipCovLb: field.number('clip_cov: lower bound of the covariance window', { default: 1 }),
  clipCovUb: field.number('clip_cov: upper bound of the covariance window', { default: 5 }),
  klCovRatio: field.number('kl_cov: share of active tokens penalised (those of largest covariance)', { default: 2e-4, min: 1e-9, max: 1 }),
  ppoKlCoef: field.number('kl_cov: coefficient κ of the |logp − old| penalty', { default: 1, min: 0 }),
  advEstimator: field.enum(['grpo', 'pass_at_k', 'w_reinforce'] as const, 'advantages: GRPO group-relative, Pass@k training (Chen et al. 2025, analytical form), or W-REINFORCE (Zhu et al. 2025: +λ correct, −1 wrong); "correct" = reward ≥ --pass-threshold (verl adv_estimator)', { default: 'grpo' }),
  passK: field.integer('pass_at_k: the k whose pass@k the advantages optimise', { default: 4, min: 1 }),
  wReinforceLambda: field.number('w_reinforce: weight λ of correct rollouts', { default: 0.1, min: 0 }),
  unlikelinessBeta: field.number('unlikeliness reward (He et al. 2025): reward × (1 − β·rank/G), rank by likelihood within the group (0: off; the paper uses 0.25; grpo only)', { default: 0, min: 0, max: 1 }),
  maskTruncated: field.boolean('leave completions that hit --max-new-tokens out of the loss', { default: false }),
  dropZeroVarianceGroups: field.boolean('skip groups whose rewards are all equal (they carry no policy gradient)', { default: true }),

  evalEvery: field.integer('held-out evaluation every N steps (0: only at the end)', { default: 0, min: 0 }),
  evalSamples: field.integer('k for pass@k in held-out evaluation', { default: 4, min: 1 }),
  passThreshold: field.number('a rollout passes when its score reaches this', { default: 1, min: 0, max: 1 }),
  checkpointEvery: field.integer('save a resumable checkpoint every N steps (0: only at the end)', { default: 0, min: 0 }),
  evaluatorTimeoutMs: field.integer('per-evaluation timeout', { default: 30000, min: 1 }),
  evaluatorConcurrency: field.integer('evaluations run at once', { default: 4, min: 1, resumeMayChange: true }),
  ...agentFields,

  rolloutServer: field.list('sample rollouts on these servers speaking vLLM\'s protocol (rft serve, vllm serve; LoRA runs; README "Scaling out")'),
  rolloutModel: field.string('the id the rollout servers serve the base model under (default: the --model folder name)'),
  rolloutAdapterDir: field.string('folder the rollout servers read at the same path, for the adapter synced each step (default: OUT/fleet-adapters)'),
  rolloutCorrection: field.enum(['token', 'sequence', 'none'] as const, 'truncated importance sampling of fleet rollouts against the trainer\'s log-probs', { default: 'token' }),
  rolloutCorrectionThreshold: field.number('truncation C of the importance weights min(π_train / π_rollout, C)', { default: 2, min: 1 }),
  async: field.boolean('sample step t+1 on the fleet while step t trains (needs --rollout-server)', { default: false }),
  maxStaleness: field.integer('with --async: steps sampled ahead (rollouts that many optimizer steps old)', { default: 1, min: 1 }),
  ...loraFields,
  ...optimFields,
} satisfies Fields;
