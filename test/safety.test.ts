/**
 * Safe defaults: no credential, header or query string in any attribute (or span event);
 * message content not captured; invalid configuration fails at construction, naming the
 * option; a failure of the price data or of our own token counting degrades to values
 * marked as such (`unpriced`, `unknown`), never to an exception in the user's request.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { updatePrices } from '@pydantic/genai-prices';
import type { tracing } from '@opentelemetry/sdk-node';
import { LLMCostInstrumentation, type CostRecord, type LLMCostInstrumentationConfig } from '../src/index.js';
import { serverAttributes } from '../src/core/request-attributes.js';
import { useHarness } from './helpers/harness.js';
import { attr, onlySpan, script } from './helpers/spans.js';

const costs: CostRecord[] = [];
const harness = useHarness({ onCost: (record) => costs.push(record) });
const { otel } = harness;

const SECRETS = ['sk-secret-api-key-123', 'Bearer', 'secret-query-value', 'secret-header-value', 'user-pass-secret', 'secret-auth-token'];
const PROMPT = 'My private prompt about the quarterly numbers';

function assertNoSecrets(attributes: Record<string, unknown>): void {
  const text = JSON.stringify(attributes);
  for (const secret of [...SECRETS, PROMPT]) assert.ok(!text.includes(secret), `attribute leaked ${secret}: ${text}`);
  for (const key of Object.keys(attributes)) assert.doesNotMatch(key, /authorization|api[-_]?key|header/i);
}

/** Attributes, span events (recorded exceptions) and the status message. */
function assertSpanHasNoSecrets(span: tracing.ReadableSpan): void {
  assertNoSecrets(span.attributes);
  const rest = JSON.stringify({ events: span.events, status: span.status });
  for (const secret of [...SECRETS, PROMPT]) assert.ok(!rest.includes(secret), `span event or status leaked ${secret}: ${rest}`);
}

function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

describe('nothing sensitive reaches an attribute', () => {
  it('openai: API key, extra headers and query parameters stay out; content is not captured', async () => {
    const client = harness.openai({
      apiKey: 'sk-secret-api-key-123',
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
    const client = harness.anthropic({ apiKey: 'sk-secret-api-key-123' });
    await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: PROMPT }] }, script({ outputTokens: 5 }));
    for (const span of await otel.settle()) assertNoSecrets(span.attributes);
  });

  it('Authorization and api-key headers given per request, and failed requests: nothing in attributes, events or status', async () => {
    otel.reset();
    const client = harness.openai({
      apiKey: 'sk-secret-api-key-123',
      maxRetries: 1,
      defaultQuery: { 'api-version': 'secret-query-value' },
    });
    const headers = { Authorization: 'Bearer secret-auth-token', 'api-key': 'sk-secret-api-key-123' };
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: PROMPT }] };
    // A 401 after a retried 500: the error and every attempt are recorded.
    await assert.rejects(
      client.chat.completions.create(body, { headers: { ...headers, ...script({ status: 401 }).headers } }),
      (error: Error) => error.constructor.name === 'AuthenticationError',
    );
    await client.chat.completions.create(body, { headers: { ...headers, ...script({ status: 500, failTimes: 1, outputTokens: 3 }).headers } });
    const spans = await otel.settle(2);
    assert.equal(spans.length, 2);
    for (const span of spans) assertSpanHasNoSecrets(span);
  });

  it('a connection error (node-fetch in openai 4 and built-in fetch): no URL, query or key in the span', async () => {
    const port = await unusedPort();
    const requireHere = createRequire(__filename);
    const v4 = requireHere('openai-v4') as { OpenAI: typeof otel.OpenAI };
    assert.ok(otel.instrumentation.patch(v4));
    for (const OpenAI of [otel.OpenAI, v4.OpenAI]) {
      otel.reset();
      const client = new OpenAI({
        apiKey: 'sk-secret-api-key-123',
        baseURL: `http://127.0.0.1:${port}/v1`,
        maxRetries: 0,
        defaultQuery: { key: 'secret-query-value' },
      });
      await assert.rejects(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }] }));
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'llm_cost.stream.outcome'), 'error');
      assertSpanHasNoSecrets(span);
    }
    otel.instrumentation.unpatch(v4);
  });

  it('a base URL with credentials, end to end (openai 4 sends it, built-in fetch refuses it): never in the span', async () => {
    const requireHere = createRequire(__filename);
    const v4 = requireHere('openai-v4') as { OpenAI: typeof otel.OpenAI };
    assert.ok(otel.instrumentation.patch(v4));
    const withCredentials = harness.emulator.openaiBaseURL.replace('http://', 'http://user:user-pass-secret@');
    for (const OpenAI of [v4.OpenAI, otel.OpenAI]) {
      otel.reset();
      const client = new OpenAI({ apiKey: 'sk-secret-api-key-123', baseURL: withCredentials, maxRetries: 0 });
      await client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }] }, script({ outputTokens: 3 }))
        .catch(() => undefined);
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'server.address'), '127.0.0.1');
      assertSpanHasNoSecrets(span);
    }
    otel.instrumentation.unpatch(v4);
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
    ['anthropicNativeSpans', { anthropicNativeSpans: 'drop' as unknown as 'keep' }],
    ['captureMessageContent', { captureMessageContent: 1 as unknown as boolean }],
    ['messageContentMaxLength', { messageContentMaxLength: -1 }],
    ['priceOverrides', { priceOverrides: { 'my-model': { inputPerMTok: -1, outputPerMTok: 1 } } }],
    ['priceOverrides', { priceOverrides: { 'my-model': { inputPerMTok: 1, outputPerMTok: Number.NaN } } }],
    ['priceOverrides', { priceOverrides: 'cheap' as unknown as Record<string, never> }],
  ];
  for (const [option, config] of invalid) {
    it(`${option}: ${JSON.stringify(config)}`, () => {
      assert.throws(
        () => new LLMCostInstrumentation({ ...config, enabled: false }),
        (error: Error) => {
          assert.match(error.message, new RegExp(option));
          return true;
        },
      );
    });
  }
  it('setConfig validates too', () => {
    assert.throws(() => otel.instrumentation.setConfig({ abandonedTimeoutMs: -5 }), /abandonedTimeoutMs/);
  });
  it('a configuration that is not an object', () => {
    assert.throws(() => new LLMCostInstrumentation(null as unknown as LLMCostInstrumentationConfig), /configuration must be an object/);
  });
});

describe('failures of ours degrade to marked values, never to an exception in the request', () => {
  it('the price data failing: the request succeeds, the cost is unpriced (no USD figure), tokens stay reported', async () => {
    otel.reset();
    costs.length = 0;
    // genai-prices calls this hook at the start of every price lookup.
    updatePrices(({ onCalc }) =>
      onCalc(() => {
        throw new Error('price data unavailable');
      }),
    );
    try {
      const client = harness.openai();
      const completion = await client.chat.completions.create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] },
        script({ outputTokens: 4 }),
      );
      assert.equal(completion.usage?.completion_tokens, 4);
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'llm_cost.cost.source'), 'unpriced');
      assert.equal(attr(span, 'llm_cost.cost.usd'), undefined);
      assert.equal(attr(span, 'gen_ai.usage.output_tokens'), 4);
      assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'reported');
      assert.equal(costs[0]?.cost.source, 'unpriced');
    } finally {
      updatePrices(({ onCalc }) => onCalc(() => undefined));
    }
  });

  it('token counting failing altogether: the stream works, the count is marked unknown and nothing is priced on it', async () => {
    otel.reset();
    // A content part the SDK serialises through toJSON but whose fields cannot be read:
    // both our tokenizer count and the rough fallback fail on it.
    const unreadable = {
      toJSON: () => ({ type: 'text', text: 'Tell me a story.' }),
      get type(): string {
        throw new Error('unreadable part');
      },
      get text(): string {
        throw new Error('unreadable part');
      },
    };
    const client = harness.openai();
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: [unreadable as unknown as { type: 'text'; text: string }] }], stream: true },
      script({ outputTokens: 30 }),
    );
    let chunks = 0;
    for await (const _chunk of stream) if (++chunks === 4) break; // before the usage chunk: input must be estimated
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'broken');
    assert.equal(attr(span, 'llm_cost.usage.input_tokens.source'), 'unknown');
    assert.equal(attr(span, 'gen_ai.usage.input_tokens'), 0);
    assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
    assert.equal(attr(span, 'llm_cost.cost.source'), 'unpriced', 'no USD figure rests on an unknown count');
    assert.equal(attr(span, 'llm_cost.cost.usd'), undefined);
  });
});
