import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Row } from '../contracts/row.js';
import type { Trajectory } from '../contracts/trajectory.js';
import { PipelinedSource } from './pipeline.js';
import type { RolloutRequest, RolloutSource } from './source.js';

/** A source that takes `delayMs` per request, logs when each starts and ends, and answers with the version it saw. */
function fakeSource(log: string[], state: { version: number }, delayMs = 20, failStep?: number): RolloutSource & { calls: RolloutRequest[] } {
  const calls: RolloutRequest[] = [];
  return {
    calls,
    async rollout(req) {
      calls.push(req);
      const v = state.version;
      log.push(`sample ${req.tags?.step} start (v${v})`);
      await new Promise((r) => setTimeout(r, delayMs));
      log.push(`sample ${req.tags?.step} end`);
      if (failStep !== undefined && req.tags?.step === failStep) throw new Error(`server down at step ${failStep}`);
      return req.rows.map((row, i) => ({ row, rowIndex: i, output: `v${v}`, messages: [], segments: [], finishReason: 'stop', stats: { turns: 1, toolCalls: 0, toolErrors: 0, sampledTokens: 0, insertedTokens: 0 } }) as Trajectory);
    },
  };
}

const rows: Row[] = [{ messages: [{ role: 'user', content: 'a' }] }, { messages: [{ role: 'user', content: 'b' }] }];
const req = (step: number): RolloutRequest => ({ rows: rows.map((r) => ({ ...r })), n: 2, sampling: { maxNewTokens: 8, temperature: 1 }, seed: 100 + step, tags: { step } });

test('step t+1 is sampled while step t trains; each result carries the version it was sampled with (lag 1)', async () => {
  const log: string[] = [];
  const state = { version: 0 };
  const inner = fakeSource(log, state);
  const pipe = new PipelinedSource(inner, { maxStaleness: 1, version: () => state.version });
  // The loop as the trainer runs it with --async: take step t's rollouts, prefetch t+1, train t.
  let first = await pipe.rollout(req(1));
  assert.equal(pipe.policyLag(), 0, 'nothing prefetched yet: sampled on the spot from the current weights');
  for (let step = 1; step <= 3; step++) {
    assert.ok(pipe.prefetch(req(step + 1)));
    log.push(`train ${step} start`);
    await new Promise((r) => setTimeout(r, 30));
    state.version = step; // optimizer step done, adapter published
    log.push(`train ${step} end`);
    first = await pipe.rollout(req(step + 1));
    assert.equal(first[0]!.output, `v${step - 1}`, `step ${step + 1} was sampled from the weights after step ${step - 1}`);
    assert.equal(pipe.policyLag(), 1);
  }
  // Sampling of step t+1 started before training of step t ended.
  for (let step = 1; step <= 3; step++) assert.ok(log.indexOf(`sample ${step + 1} start (v${step - 1})`) < log.indexOf(`train ${step} end`), log.join('\n'));
  assert.deepEqual(pipe.stats, { ...pipe.stats, prefetched: 3, hits: 3, misses: 1, discarded: 0 });
  assert.equal(inner.calls.length, 4, 'every step sampled once');
});

test('at most maxStaleness requests run ahead', async () => {
  const state = { version: 0 };
  const pipe = new PipelinedSource(fakeSource([], state), { maxStaleness: 2, version: () => state.version });
  assert.ok(pipe.prefetch(req(1)));
  assert.ok(pipe.prefetch(req(2)));
  assert.equal(pipe.prefetch(req(3)), false);
  assert.equal(pipe.inFlight, 2);
  await pipe.rollout(req(1));
  assert.ok(pipe.prefetch(req(3)));
  await pipe.close();
  assert.throws(() => new PipelinedSource(fakeSource([], state), { maxStaleness: 0, version: () => 0 }), /maxStaleness/);
});

test('a request that does not match what was prefetched is sampled on the spot and the stale prefetch is discarded', async () => {
  const state = { version: 0 };
  const inner = fakeSource([], state);
  const pipe = new PipelinedSource(inner, { maxStaleness: 1, version: () => state.version });
  pipe.prefetch(req(2));
  const other = { ...req(2), seed: 999 }; // e.g. a resumed run with another plan
  await pipe.rollout(other);
  assert.equal(inner.calls.at(-1)!.seed, 999);
  assert.equal(pipe.stats.discarded, 1);
  assert.equal(pipe.stats.misses, 1);
  assert.equal(pipe.inFlight, 0);
});

test('a prefetched request that fails rejects where its step asks for it, not earlier', async () => {
  const state = { version: 0 };
  const pipe = new PipelinedSource(fakeSource([], state, 5, 2), { maxStaleness: 1, version: () => state.version });
  pipe.prefetch(req(2));
  await new Promise((r) => setTimeout(r, 20)); // it has failed by now: no unhandled rejection
  await assert.rejects(pipe.rollout(req(2)), /server down at step 2/);
  await pipe.close();
});

test('with the trainer\'s plan, each training request launches the next step\'s before returning; evaluations in between are sampled on the spot', async () => {
  const log: string[] = [];
  const state = { version: 0 };
  const inner = fakeSource(log, state);
  let dispatchedCalls = 0;
  (inner as { dispatched?: () => Promise<void> }).dispatched = async () => {
    dispatchedCalls++;
  };
  const plan = (step: number) => (step < 4 ? req(step) : null);
  const pipe = new PipelinedSource(inner, { maxStaleness: 1, version: () => state.version, plan });
  const versions: number[] = [];
  for (let step = 0; step < 4; step++) {
    const out = await pipe.rollout(req(step)); // what grpoStep asks for
    versions.push(Number(out[0]!.output.slice(1)));
    assert.equal(pipe.policyLag(), step === 0 ? 0 : 1);
    if (step === 1) {
      const ev = await pipe.rollout({ ...req(99), tags: undefined, seed: 7 }); // held-out evaluation
      assert.equal(ev[0]!.output, `v${state.version}`, 'an evaluation samples the current policy');
    }
    state.version++; // the step trains
  }
  assert.deepEqual(versions, [0, 0, 1, 2], 'step t is sampled from the weights after step t − 2 (lag 1), the first on the spot');
  assert.equal(pipe.stats.hits, 3);
  assert.equal(pipe.stats.discarded, 0);
  assert.equal(pipe.inFlight, 0, 'nothing is launched past the last step');
  assert.equal(dispatchedCalls, 4, 'every training request waits until the next one is on the wire');
});
