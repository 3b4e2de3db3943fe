import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coerceFlag, markdownTable, parseConfig } from './fields.js';
import { agentFields } from './agent.js';

test('agent options: defaults, bounds and flags', () => {
  assert.deepEqual(parseConfig(agentFields, {}, 'test'), { maxConcurrentRollouts: 8, rolloutTimeoutMs: 120000, gatewayPort: 0 });
  assert.throws(() => parseConfig(agentFields, { maxConcurrentRollouts: 0, gatewayPort: 70000, gatewayApiKey: '' }, 'job.json'), (e: Error) => {
    assert.match(e.message, /maxConcurrentRollouts \(--max-concurrent-rollouts\): must be ≥ 1/);
    assert.match(e.message, /gatewayPort \(--gateway-port\): must be ≤ 65535/);
    assert.match(e.message, /gatewayApiKey \(--gateway-api-key\): must not be empty/);
    return true;
  });
  assert.equal(coerceFlag('rolloutTimeoutMs', agentFields.rolloutTimeoutMs, '5000'), 5000);
  assert.match(markdownTable(agentFields), /\| `--rollout-timeout-ms` \| integer \| `120000` \|/);
});
