/**
 * The SDKs' own retries (HTTP 429, 500, 529, a refused connection) with every supported SDK
 * version: one span per logical request, the HTTP attempts on `llm_cost.request.attempts`,
 * and the caller gets exactly what the SDK gives: the answer after the retries, or the
 * SDK's own error once they are spent.
 *
 * The versions other than the default ones are npm aliases (`openai-v4`…), instrumented
 * through `instrumentation.patch()`: module hooks only see a package under its own name.
 * openai 7 (Node 22 and later) comes from test/sdk-next, installed apart by `npm run test:matrix`.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { startEmulator, type EmulatorScript } from '../src/emulator/index.js';
import { useHarness } from './helpers/harness.js';
import { attr, errorNamed, normalizeChunk, onlySpan, script } from './helpers/spans.js';

const harness = useHarness();
const { otel } = harness;
const requireFromHere = createRequire(__filename);

interface ClientOptions {
  apiKey: string;
  baseURL: string;
  maxRetries: number;
}
type Constructor = new (options: ClientOptions) => unknown;

interface Sdk {
  label: string;
  provider: 'openai' | 'anthropic';
  client(options: ClientOptions): unknown;
}

const nodeMajor = Number(process.versions.node.split('.')[0]);
const sdkNext = resolve(__dirname, 'sdk-next');
const sdkNextMissing =
  nodeMajor >= 22 && !existsSync(join(sdkNext, 'node_modules', 'openai-v7', 'package.json'))
    ? 'openai 7 is not installed: run `npm ci --prefix test/sdk-next` (npm run test:matrix does)'
    : undefined;
if (sdkNextMissing) it('retries: openai 7', { skip: sdkNextMissing }, () => undefined);

function aliased(label: string, provider: Sdk['provider'], name: string, from = requireFromHere): Sdk {
  const moduleExports = from(name) as Record<string, unknown>;
  assert.ok(otel.instrumentation.patch(moduleExports), `${name} is instrumented`);
  const Client = (moduleExports.OpenAI ?? moduleExports.Anthropic ?? moduleExports.default) as Constructor;
  return { label, provider, client: (options) => new Client(options) };
}

const SDKS: Sdk[] = [
  aliased('openai 4', 'openai', 'openai-v4'),
  aliased('openai 5', 'openai', 'openai-v5'),
  { label: 'openai 6', provider: 'openai', client: (options) => new otel.OpenAI(options) },
  // openai 7 needs Node 22 (the matrix shows it leaves the app alone on Node 20).
  ...(nodeMajor >= 22 && !sdkNextMissing ? [aliased('openai 7', 'openai', 'openai-v7', createRequire(join(sdkNext, 'package.json')))] : []),
  aliased('anthropic 0.41', 'anthropic', 'anthropic-sdk-v0-legacy'),
  aliased('anthropic 0.137', 'anthropic', 'anthropic-sdk-v0'),
  { label: 'anthropic 1', provider: 'anthropic', client: (options) => new otel.Anthropic(options) },
];

interface Answer {
  text: string;
  chunks: number;
}

/** One request through the SDK's public API; returns the text the caller received. */
async function ask(sdk: Sdk, s: EmulatorScript, options: { stream: boolean; maxRetries: number; baseURL?: string }): Promise<Answer> {
  const baseURL = options.baseURL ?? (sdk.provider === 'openai' ? harness.emulator.openaiBaseURL : harness.emulator.anthropicBaseURL);
  // biome-ignore lint/suspicious/noExplicitAny: one call shape over SDKs of several majors, whose types differ.
  const client = sdk.client({ apiKey: 'test-key', baseURL, maxRetries: options.maxRetries }) as Record<string, any>;
  const messages = [{ role: 'user', content: 'Say hello.' }];
  if (sdk.provider === 'openai') {
    const body = { model: 'gpt-4o-mini', messages, stream: options.stream };
    const result = await client.chat.completions.create(body, script(s));
    if (!options.stream) return { text: result.choices[0].message.content, chunks: 0 };
    let text = '';
    let chunks = 0;
    for await (const chunk of result) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    return { text, chunks };
  }
  const body = { model: 'claude-haiku-4-5', max_tokens: 100, messages, stream: options.stream };
  const result = await client.messages.create(body, script(s));
  if (!options.stream) return { text: result.content[0].text, chunks: 0 };
  let text = '';
  let chunks = 0;
  for await (const event of result) {
    chunks++;
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
  }
  return { text, chunks };
}

const TEXT = 'Hello there, friend.';

/** Everything the caller gets from one request: the chunks (ids dropped) or the error. */
async function whatTheCallerSees(sdk: Sdk, s: EmulatorScript, maxRetries: number): Promise<unknown> {
  const baseURL = sdk.provider === 'openai' ? harness.emulator.openaiBaseURL : harness.emulator.anthropicBaseURL;
  // biome-ignore lint/suspicious/noExplicitAny: one call shape over SDKs of several majors, whose types differ.
  const client = sdk.client({ apiKey: 'test-key', baseURL, maxRetries }) as Record<string, any>;
  const messages = [{ role: 'user', content: 'Say hello.' }];
  try {
    const stream =
      sdk.provider === 'openai'
        ? await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, script(s))
        : await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages, stream: true }, script(s));
    const chunks: unknown[] = [];
    for await (const chunk of stream) chunks.push(normalizeChunk(chunk));
    return { chunks };
  } catch (error) {
    const e = error as { constructor: { name: string }; status?: number; message: string };
    return { error: e.constructor.name, status: e.status, message: e.message.replace(/req_\w+/g, 'req_') };
  }
}

for (const sdk of SDKS) {
  describe(`retries: ${sdk.label}`, () => {
    it('a non-streamed request that succeeds on its third attempt: one span, three attempts, reported cost', async () => {
      const status = sdk.provider === 'anthropic' ? 529 : 429;
      const answer = await ask(sdk, { status, failTimes: 2, text: TEXT }, { stream: false, maxRetries: 2 });
      assert.equal(answer.text, TEXT);
      assert.deepEqual(
        harness.emulator.requests.map((r) => r.status),
        [status, status, 200],
      );
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'llm_cost.request.attempts'), 3);
      assert.equal(attr(span, 'llm_cost.stream.outcome'), 'completed');
      assert.equal(attr(span, 'llm_cost.cost.source'), 'reported');
      assert.ok((attr(span, 'llm_cost.cost.usd') as number) > 0);
      assert.equal(span.status.code, 0, 'a retried request that succeeded is not an error');
    });

    it('a stream that succeeds after a 500: one span, two attempts, the chunks the SDK gives', async () => {
      const answer = await ask(sdk, { status: 500, failTimes: 1, text: TEXT }, { stream: true, maxRetries: 1 });
      assert.equal(answer.text, TEXT);
      assert.deepEqual(
        harness.emulator.requests.map((r) => r.status),
        [500, 200],
      );
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'llm_cost.request.attempts'), 2);
      assert.equal(attr(span, 'llm_cost.stream.outcome'), 'completed');
      assert.equal(attr(span, 'llm_cost.stream.chunks'), answer.chunks);
      assert.equal(attr(span, 'llm_cost.cost.source'), 'reported');
    });

    it('retries spent: the SDK error reaches the caller, one span ends as error with every attempt', async () => {
      await assert.rejects(ask(sdk, { status: 500 }, { stream: true, maxRetries: 2 }), errorNamed('InternalServerError'));
      assert.equal(harness.emulator.requests.length, 3);
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'llm_cost.request.attempts'), 3);
      assert.equal(attr(span, 'llm_cost.stream.outcome'), 'error');
      assert.equal(attr(span, 'error.type'), 'InternalServerError');
      // Refused by the server: nothing was processed, so nothing to bill (an honest zero).
      assert.equal(attr(span, 'gen_ai.usage.input_tokens'), 0);
    });

    it('the caller sees exactly the chunks and errors it sees without the instrumentation', async () => {
      const cases: [EmulatorScript, number][] = [
        [{ status: 500, failTimes: 1, text: TEXT }, 1],
        [{ status: 429, failTimes: 3, text: TEXT }, 1],
      ];
      for (const [s, maxRetries] of cases) {
        otel.instrumentation.disable();
        harness.emulator.reset();
        let without: unknown;
        try {
          without = await whatTheCallerSees(sdk, s, maxRetries);
        } finally {
          otel.instrumentation.enable();
        }
        harness.emulator.reset();
        otel.reset();
        const withUs = await whatTheCallerSees(sdk, s, maxRetries);
        assert.deepEqual(withUs, without);
        assert.equal((await otel.settle()).length, 1, 'one span for the logical request');
      }
    });

    it('no retries configured: one attempt', async () => {
      await ask(sdk, { text: TEXT }, { stream: false, maxRetries: 0 });
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'llm_cost.request.attempts'), 1);
    });

    it('a refused connection is retried by the SDK and every attempt is counted', async () => {
      const closedPort = await unusedPort();
      const baseURL = sdk.provider === 'openai' ? `http://127.0.0.1:${closedPort}/v1` : `http://127.0.0.1:${closedPort}`;
      await assert.rejects(ask(sdk, { text: TEXT }, { stream: false, maxRetries: 1, baseURL }), errorNamed('APIConnectionError'));
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'llm_cost.request.attempts'), 2);
      assert.equal(attr(span, 'llm_cost.stream.outcome'), 'error');
    });
  });
}

describe('retries: requests that are not attempts of ours', () => {
  it('concurrent requests to the same host each count only their own attempts', async () => {
    const client = harness.openai({ maxRetries: 3 });
    const ask = (model: string, s: EmulatorScript) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }] }, script(s));
    await Promise.all([
      ask('gpt-4o-mini', { status: 503, failTimes: 3, text: 'retried' }),
      ask('gpt-4o', { text: 'first time' }),
      ask('gpt-4.1-mini', { status: 429, failTimes: 1, text: 'once more' }),
    ]);
    const spans = await otel.settle(3);
    const attempts = Object.fromEntries(spans.map((span) => [attr(span, 'gen_ai.request.model'), attr(span, 'llm_cost.request.attempts')]));
    assert.deepEqual(attempts, { 'gpt-4o-mini': 4, 'gpt-4o': 1, 'gpt-4.1-mini': 2 });
  });

  it('another HTTP request made in the request context to another host is not counted', async () => {
    const other = await startEmulator();
    try {
      // A custom fetch that makes a side call (as an auth-token fetch would) before each attempt.
      const sideHost = other.openaiBaseURL.replace('127.0.0.1', 'localhost');
      const fetchWithSideCall = async (url: string | URL | Request, init?: RequestInit) => {
        await fetch(`${sideHost}/models`).catch(() => undefined);
        return fetch(url, init);
      };
      const client = harness.openai({ maxRetries: 1, fetch: fetchWithSideCall });
      await client.chat.completions.create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] },
        script({ status: 500, failTimes: 1, text: TEXT }),
      );
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'llm_cost.request.attempts'), 2);
    } finally {
      await other.stop();
    }
  });
});

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
