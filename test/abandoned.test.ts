/**
 * Streams nobody reads end as `abandoned` after the idle time, and our timers never keep
 * the process alive.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';
import { useHarness } from './helpers/harness.js';
import { attr, onlySpan, script } from './helpers/spans.js';

const harness = useHarness({ abandonedTimeoutMs: 100 });
const { otel } = harness;

it('a never-iterated stream ends as abandoned after the idle time', async () => {
  const client = harness.openai();
  const stream = await client.chat.completions.create(
    { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true },
    script({ outputTokens: 2000, chunkDelayMs: 5 }),
  );
  const span = onlySpan(await otel.settle());
  assert.equal(attr(span, 'llm_cost.stream.outcome'), 'abandoned');
  assert.equal(attr(span, 'llm_cost.usage.input_tokens.source'), 'estimated');
  stream.controller.abort();
});

it('the idle timer never keeps the process alive', () => {
  // A child that instruments a request which never gets a response: without unref'd
  // timers of ours it exits as soon as its own work is done (seconds, even on a loaded
  // machine); kept alive by the idle timer, it would run for the hour it is set to, and the
  // kill after five minutes says so.
  const child = `
    const { NodeSDK } = require('@opentelemetry/sdk-node');
    const { LLMCostInstrumentation } = require('./src/index.ts');
    const sdk = new NodeSDK({ instrumentations: [new LLMCostInstrumentation({ abandonedTimeoutMs: 3600000 })] });
    sdk.start();
    const { OpenAI } = require('openai');
    const client = new OpenAI({ apiKey: 'k', baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0 });
    const p = client.chat.completions.create({ model: 'gpt-4o-mini', messages: [], stream: true });
    p.catch(() => {});
  `;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '-e', child], { cwd: process.cwd(), encoding: 'utf8', timeout: 300_000 });
  assert.equal(result.signal, null, 'exited on its own, not killed');
  assert.equal(result.status, 0, result.stderr);
});
