import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Tensor16 } from '../engine/index.js';
import { makePolicy } from './setup.js';

const FIX = fileURLToPath(new URL('../../../src/model/fixtures/', import.meta.url));
const lora = { loraRank: 2, loraAlpha: 4, loraDropout: 0, targetModules: ['q_proj'], seed: 1 };

test('makePolicy: a LoRA policy keeps a bf16 base at 16 bits, --full loads it F32, and --full with --weights-dtype bf16 is refused', () => {
  const p = makePolicy({ model: `${FIX}qwen3`, ...lora });
  assert.equal(p.model.weightsDtype, 'bf16');
  assert.ok(p.model.layers[0]!.proj.up_proj.weight instanceof Tensor16);
  assert.equal(makePolicy({ model: `${FIX}qwen3`, ...lora, weightsDtype: 'f32' }).model.weightsDtype, 'f32');
  assert.equal(makePolicy({ model: `${FIX}qwen3`, ...lora, full: true }).model.weightsDtype, 'f32');
  assert.equal(makePolicy({ model: `${FIX}llama`, ...lora, weightsDtype: 'bf16' }).model.weightsDtype, 'bf16');
  assert.throws(() => makePolicy({ model: `${FIX}qwen3`, ...lora, full: true, weightsDtype: 'bf16' }), /--full trains every weight in F32; drop one of the two/);
});
