import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initModel } from '../model/init.js';
import { loadModel, loadTokenizer } from '../model/load.js';
import { TransformerPolicy } from '../model/policy.js';
import { ToolAgentSource } from './tool-loop.js';
import type { AgentTool } from './agent.js';
import type { Sample, SampleRequest } from '../contracts/policy-engine.js';
import type { Trajectory } from '../contracts/trajectory.js';

const echo: AgentTool<{ t: string }> = { type: 'function', function: { name: 'echo', parameters: { type: 'object', properties: { t: { type: 'string' } } } }, run: ({ t }) => `${t}!` };
const CALL = '<tool_call>{"name": "echo", "arguments": {"t": "hi"}}</tool_call>';

test('multi-turn rollouts of a real transformer: sampled + inserted tokens as sampled, teacher-forced log-probs equal the sampler\'s to 1e-4', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-agent-tf-'));
  try {
    initModel(dir, { arch: 'llama', hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 64, vocabFrom: 'chars', tieEmbeddings: true, ropeTheta: 10000, maxPositions: 1024, rmsNormEps: 1e-6, seed: 5, dtype: 'F32', initStd: 0.1 });
    const model = loadModel(dir);
    const tokenizer = loadTokenizer(dir, model);
    const policy = new TransformerPolicy(model, tokenizer, { full: true, seed: 1 });
    const chat = policy.chat;
    // Teach the tiny model one tool call (it then calls again after the result, so rollouts run several turns).
    const rows = [{ messages: [{ role: 'user' as const, content: 'go' }] }, { messages: [{ role: 'user' as const, content: 'go on' }] }];
    const completion = [...chat.encode(CALL), ...chat.stopTokenIds.slice(0, 1)];
    const seqs = rows.map((r) => ({ prompt: chat.applyChatTemplate(r.messages, { addGenerationPrompt: true, tools: [{ type: 'function', function: echo.function }] }), completion }));
    for (let i = 0; i < 80; i++) {
      await policy.forwardBackward(seqs, (lps) => ({ loss: 0, dlogp: lps.map((l) => new Float32Array(l.length).fill(-1 / l.length)) }));
      await policy.optimStep({ lr: 1e-2 });
    }
    // Record what the sampler returned for which context.
    const drawn: { prompt: number[]; sample: Sample }[] = [];
    const sample = policy.sample.bind(policy);
    policy.sample = async (req: SampleRequest) => {
      const out = await sample(req);
      for (const s of out) drawn.push({ prompt: req.prompts[s.prompt], sample: s });
      return out;
    };
    const source = new ToolAgentSource(policy, chat, { tools: [echo], maxTurns: 3 });
    for (const temperature of [0, 0.7]) {
      drawn.length = 0;
      const ts = await source.rollout({ rows, n: temperature ? 3 : 1, sampling: { maxNewTokens: 90, temperature }, seed: 11 });
      if (temperature === 0) assert.ok(ts.every((t) => t.stats.turns >= 2 && t.stats.insertedTokens > 0), `greedy rollouts call the tool: ${JSON.stringify(ts.map((t) => t.stats))}`);
      for (const t of ts) {
        assert.equal(t.segments.length, 1);
        checkTokens(t, drawn, (ids) => tokenizer.decode(ids, { skipSpecialTokens: false }));
        const seg = t.segments[0];
        const [tf] = await policy.logprobs([{ prompt: seg.promptTokens, completion: seg.completionTokens }], { temperature: temperature || 1 });
        seg.completionMask.forEach((m, i) => {
          if (m) assert.ok(Math.abs(tf[i] - seg.logprobs[i]) < 1e-4, `token ${i}: teacher-forced ${tf[i]}, sampler ${seg.logprobs[i]}`);
          else assert.equal(seg.logprobs[i], 0);
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The completion is, turn by turn, exactly what the sampler returned for the context so far
 * (mask 1), then the ChatML rendering of that turn's tool messages (mask 0), written out by hand.
 */
function checkTokens(t: Trajectory, drawn: { prompt: number[]; sample: Sample }[], decodeAll: (ids: number[]) => string): void {
  const seg = t.segments[0];
  let pos = 0;
  let toolIndex = t.messages.findIndex((m) => m.role === 'tool');
  for (let turn = 0; pos < seg.completionTokens.length; turn++) {
    const context = [...seg.promptTokens, ...seg.completionTokens.slice(0, pos)];
    let runEnd = pos;
    while (runEnd < seg.completionTokens.length && seg.completionMask[runEnd] === 1) runEnd++;
    const tokens = seg.completionTokens.slice(pos, runEnd);
    // a sample drawn for exactly this context with exactly these tokens (each sample accounts for one turn)
    const at = drawn.findIndex((d) => same(d.prompt, context) && same(d.sample.tokens, tokens));
    assert.ok(at >= 0, `turn ${turn}: the sampled tokens are not a sample drawn for this context`);
    assert.deepEqual(seg.logprobs.slice(pos, runEnd), Array.from(drawn[at].sample.logprobs, (v) => v));
    drawn.splice(at, 1);
    pos = runEnd;
    if (pos === seg.completionTokens.length) break;
    let end = pos;
    while (end < seg.completionTokens.length && seg.completionMask[end] === 0) end++;
    let expected = '\n';
    for (; toolIndex < t.messages.length && t.messages[toolIndex].role === 'tool'; toolIndex++) expected += `<|im_start|>tool\n${t.messages[toolIndex].content}<|im_end|>\n`;
    expected += '<|im_start|>assistant\n';
    assert.equal(decodeAll(seg.completionTokens.slice(pos, end)), expected, `turn ${turn}: the inserted tokens`);
    toolIndex++; // past the next assistant message
    pos = end;
  }
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => v === b[i]);
