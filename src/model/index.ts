/**
 * The model layer's public API: HF checkpoints and configs, tokenizers and chat templates, the
 * Llama/Qwen2/Qwen3 transformer, LoRA (PEFT), batched sampling and teacher-forced log-probs.
 *
 * @example
 * const model = loadModel('models/tiny');
 * const tok = loadTokenizer('models/tiny', model);
 * const [s] = sample(model, [tok.encodeChat(messages, { addGenerationPrompt: true })], { maxNewTokens: 64, temperature: 0.8, seed: 1, tokenizer: tok });
 * const lp = logprobs(model, [{ prompt, completion: s.tokens }], { temperature: 0.8 }); // ≈ s.logprobs
 */
export { parseConfig, readConfig, parameterCount, ConfigError, type ModelConfig, type Arch } from './config.js';
export { readSafetensors, writeSafetensors, parseSafetensors, serializeSafetensors, readHeader, SafetensorsError, type DType, type NamedTensor } from './safetensors.js';
export { readCheckpoint, writeCheckpoint, readCheckpointHeaders } from './checkpoint.js';
export { ModelTokenizer, TokenizerError, type ChatMessage, type ChatTemplateOptions } from './tokenizer.js';
export { buildCharTokenizer, defaultAlphabet, alphabetFromText, CHATML_TEMPLATE } from './char-tokenizer.js';
export { initModel, initWeights, PRESETS, type InitSpec } from './init.js';
export { modelInfo, formatModelInfo, type ModelInfo } from './info.js';
export { Transformer, ModelError, PROJECTIONS, type ProjectionName, type ForwardOptions, type BaseWeight } from './transformer.js';
export { KVCache } from './kv-cache.js';
export { loadModel, loadTokenizer, saveModel, WEIGHTS_DTYPES, type WeightsDtype, type LoadOptions } from './load.js';
export { addLora, removeLora, loadAdapter, saveAdapter, mergeLora, getAdapter, readAdapterConfig, LoraAdapter, AdapterError, type LoraConfig } from './lora.js';
export { sample, type Sample, type SampleOptions } from './sampler.js';
export { completionLogprobs, logprobs, type PromptCompletion, type LogprobBatch } from './logprobs.js';
export { TransformerPolicy, chatTokenizer, type TransformerPolicyOptions } from './policy.js';
