/**
 * Safe defaults: no credential, header or query string in any attribute; message content
 * not captured; invalid configuration fails at construction, naming the option.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEmulator, type ProviderEmulator } from '../src/emulator/index.js';
import { LLMCostInstrumentation, type LLMCostInstrumentationConfig } from '../src/index.js';
import { serverAttributes } from '../src/core/request-attributes.js';
import { startOtel } from './helpers/otel.js';
import { script } from './helpers/spans.js';

const otel = startOtel();
let emulator: ProviderEmulator;
before(async () => {
  emulator = await startEmulator();
});
after(async () => {
  await emulator.stop();
  await otel.shutdown();
});

const SECRETS = ['sk-secret-api-key-123', 'Bearer', 'secret-query-value', 'secret-header-value', 'user-pass-secret'];
const PROMPT = 'My private prompt about the quarterly numbers';

function assertNoSecrets(attributes: Record<string, unknown>): void {
  const text = JSON.stringify(attributes);
  for (const secret of [...SECRETS, PROMPT]) assert.ok(!text.includes(secret), `attribute leaked ${secret}: ${text}`);
  for (const key of Object.keys(attributes)) assert.doesNotMatch(key, /authorization|api[-_]?key|header/i);
}

describe('nothing sensitive reaches an attribute', () => {
  it('openai: API key, extra headers and query parameters stay out; content is not captured', async () => {
    const client = new otel.OpenAI({
      apiKey: 'sk-secret-api-key-123',
      baseURL: emulator.openaiBaseURL,
      maxRetries: 0,
      defaultHeaders: { 'x-custom-auth': 'secret-header-value' },
      defaultQuery: { 'api-version': 'secret-query-value' },
    });
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }], stream: true },
      script({ outputTokens: 5 }),
    );
    for await (const _chunk of stream) break; // estimates too, which read the prompt
    const spans = await otel.settle();
    assert.ok(spans.length >= 1);
    for (const span of spans) assertNoSecrets(span.attributes);
  });

  it('anthropic: API key and content stay out', async () => {
    otel.reset();
    const client = new otel.Anthropic({ apiKey: 'sk-secret-api-key-123', baseURL: emulator.anthropicBaseURL, maxRetries: 0 });
    await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: PROMPT }] }, script({ outputTokens: 5 }));
    for (const span of await otel.settle()) assertNoSecrets(span.attributes);
  });

  it('a base URL with credentials, a path and a query string gives host and port only', () => {
    const attributes = serverAttributes({ _client: { baseURL: 'https://user:user-pass-secret@llm.example.com:8443/v1?key=secret-query-value' } });
    assert.deepEqual(attributes, { 'server.address': 'llm.example.com', 'server.port': 8443 });
  });
});

describe('invalid configuration fails at construction, naming the option', () => {
  const invalid: [string, LLMCostInstrumentationConfig][] = [
    ['abandonedTimeoutMs', { abandonedTimeoutMs: -1 }],
    ['abandonedTimeoutMs', { abandonedTimeoutMs: 0 }],
    ['abandonedTimeoutMs', { abandonedTimeoutMs: Number.NaN }],
    ['abandonedTimeoutMs', { abandonedTimeoutMs: 1e12 }],
    ['abandonedTimeoutMs', { abandonedTimeoutMs: '100' as unknown as number }],
    ['onCost', { onCost: 'yes' as unknown as () => void }],
    ['injectStreamUsage', { injectStreamUsage: 'no' as unknown as boolean }],
  ];
  for (const [option, config] of invalid) {
    it(`${option}: ${JSON.stringify(config)}`, () => {
      assert.throws(() => new LLMCostInstrumentation({ ...config, enabled: false }), (error: Error) => {
        assert.match(error.message, new RegExp(option));
        return true;
      });
    });
  }
  it('setConfig validates too', () => {
    assert.throws(() => otel.instrumentation.setConfig({ abandonedTimeoutMs: -5 }), /abandonedTimeoutMs/);
  });
});
