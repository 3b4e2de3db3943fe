import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatTrajectory } from './agent.js';
import type { Trajectory } from '../../contracts/trajectory.js';

const bin = fileURLToPath(new URL('../main.js', import.meta.url));
const index = new URL('../../index.js', import.meta.url).href;
const rft = (args: string[], cwd: string) => spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8' });

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rft-cli-agent-'));
  const ok = (r: ReturnType<typeof rft>) => assert.equal(r.status, 0, r.stderr);
  ok(rft(['model', 'init', '--out', 'm', '--arch', 'qwen3', '--hidden', '32', '--layers', '1', '--heads', '2', '--kv-heads', '1', '--intermediate', '48', '--seed', '1'], dir));
  ok(rft(['dataset', 'generate', 'word-problems', '--out-dir', 'd', '--n', '6', '--seed', '2'], dir));
  // a TypeScript agent module (loaded through tsx) importing defineAgent from the package
  writeFileSync(join(dir, 'agent.ts'), `import { defineAgent } from '${index}';
export default defineAgent({
  system: 'Use the calculator.',
  maxTurns: 2,
  tools: [{ type: 'function', function: { name: 'calc', parameters: { type: 'object', properties: { expr: { type: 'string' } }, required: ['expr'] } }, run: ({ expr }: { expr: string }) => String(expr.length) }],
});
`);
  return dir;
}

test('formatTrajectory prints the header, every message, the tool calls with their arguments and the tool results', () => {
  const t: Trajectory = {
    row: { messages: [] }, rowIndex: 2, output: 'It is 5.', finishReason: 'stop', segments: [{ promptTokens: [1], completionTokens: [2, 3], completionMask: [1, 0], logprobs: [-1, 0] }],
    stats: { turns: 2, toolCalls: 1, toolErrors: 0, sampledTokens: 9, insertedTokens: 4 },
    messages: [
      { role: 'user', content: '2+3?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_0_0', type: 'function', function: { name: 'add', arguments: '{"a":2,"b":3}' } }] },
      { role: 'tool', tool_call_id: 'call_0_0', name: 'add', content: '5' },
      { role: 'assistant', content: 'It is 5.' },
    ],
  };
  assert.equal(
    formatTrajectory(t, 1, { score: 1, valid: true, reason: 'exact' }),
    [
      '── row 2 · sample 1 · stop · 2 turns, 1 tool call (0 errors) · 9 sampled + 4 inserted tokens in 1 segment · score 1.000 (exact)',
      '[user] 2+3?',
      '[assistant]',
      '    → add({"a":2,"b":3})  [call_0_0]',
      '[tool add ← call_0_0] 5',
      '[assistant] It is 5.',
      '',
    ].join('\n'),
  );
  assert.match(formatTrajectory({ ...t, error: 'the rollout took longer than 5 ms', finishReason: 'timeout' }, 0, { score: 0, valid: false }), /· timeout · .* · invalid\nerror: the rollout took longer than 5 ms\n/);
});

test('rft agent try prints whole trajectories with scores; rft train --agent trains with the agent and logs its metrics; client-form and remote agents that fail give failed rollouts, not a crash', () => {
  const dir = workspace();
  const data = 'd/word-problems.rft.jsonl';
  const tried = rft(['agent', 'try', '--agent', 'agent.ts', '--model', 'm', '--dataset', data, '--evaluator', 'numeric', '-n', '2', '--samples', '2', '--max-new-tokens', '12', '--json'], dir);
  assert.equal(tried.status, 0, tried.stderr);
  const { trajectories } = JSON.parse(tried.stdout);
  assert.equal(trajectories.length, 4);
  assert.deepEqual(trajectories.map((t: { row: number; sample: number }) => [t.row, t.sample]), [[0, 0], [0, 1], [1, 0], [1, 1]]);
  for (const t of trajectories) {
    assert.equal(t.messages[0].role, 'system');
    assert.match(t.messages[0].content, /^Use the calculator\.\n\n/);
    assert.equal(t.messages.at(-1).role, 'assistant');
    assert.equal(typeof t.evaluation.valid, 'boolean');
    assert.ok(t.stats.turns >= 1);
  }
  const text = rft(['agent', 'try', '--agent', 'agent.ts', '--model', 'm', '--dataset', data, '-n', '1', '--max-new-tokens', '8'], dir);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^── row 0 · sample 0 · (stop|length) · 1 turn/);
  assert.match(text.stdout, /\n\[user\] /);

  const train = rft(['train', '--model', 'm', '--agent', 'agent.ts', '--dataset', data, '--evaluator', 'numeric', '--out', 'runs/agent', '--steps', '1', '--rollouts-per-prompt', '2', '--prompts-per-step', '2', '--max-new-tokens', '8', '--lora-rank', '2'], dir);
  assert.equal(train.status, 0, train.stderr);
  const [m] = readFileSync(join(dir, 'runs/agent/metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  for (const k of ['turns_mean', 'turns_max', 'tool_calls_mean', 'tool_error_fraction', 'timeout_fraction', 'sampled_tokens', 'inserted_tokens']) assert.ok(k in m, `metrics lack ${k}`);
  assert.equal(JSON.parse(readFileSync(join(dir, 'runs/agent/config.json'), 'utf8')).agent, 'agent.ts');

  writeFileSync(join(dir, 'client.mjs'), 'export default { run: async () => null };\n');
  writeFileSync(join(dir, 'bad.mjs'), 'export default { tools: [{ type: "function", function: { name: "x y" } }] };\n');
  const cases: [string, RegExp][] = [
    ['bad.mjs', /agent module .*bad\.mjs: tools\[0\]\.function\.name must be .*; tools\[0\]\.run must be a function/],
    ['missing.ts', /agent module .*missing\.ts does not exist/],
  ];
  for (const [spec, why] of cases) {
    const r = rft(['agent', 'try', '--agent', spec, '--model', 'm', '--dataset', data], dir);
    assert.equal(r.status, 2, `${spec}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
  // A client-form agent that never calls the model, and a remote agent nobody serves: each rollout
  // is shown as failed with its reason, and the command (and a run) goes on.
  for (const [spec, why] of [['client.mjs', /error: .*without calling the model/], ['http://127.0.0.1:9', /error: .*(\/init|connect|refused)/i]] as const) {
    const r = rft(['agent', 'try', '--agent', spec, '--model', 'm', '--dataset', data, '-n', '1'], dir);
    assert.equal(r.status, 0, `${spec}: ${r.stderr}`);
    assert.match(r.stdout, / · (error|timeout)/, spec);
    assert.match(r.stdout, why, spec);
  }
  const viaTrain = rft(['train', '--model', 'm', '--agent', 'client.mjs', '--dataset', data, '--evaluator', 'numeric', '--out', 'runs/client', '--steps', '1', '--rollouts-per-prompt', '2', '--prompts-per-step', '2', '--max-new-tokens', '8', '--lora-rank', '2'], dir);
  assert.equal(viaTrain.status, 0, viaTrain.stderr);
  const [mc] = readFileSync(join(dir, 'runs/client/metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(mc.error_fraction, 1);
  assert.equal(mc.trained_sequences, 0);
});
