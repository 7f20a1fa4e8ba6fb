/**
 * Compatibility at the edges: an SDK version outside the supported range is reported once
 * through `diag` and left untouched; an SDK layout we do not recognise never breaks the app's
 * import; OpenAI-compatible endpoints get the conventions' provider name and no
 * `stream_options` where they would reject it; the span never carries credentials.
 *
 * The fake SDK packages are written to node_modules/.cache at run time: module hooks only
 * see a package under its own name in a `node_modules` folder.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { LLMCostInstrumentation } from '../src/index.js';
import { openaiProviderName } from '../src/providers/openai/provider-name.js';
import { acceptsStreamOptions } from '../src/providers/openai/stream-usage.js';
import { targetsOfClient as targetsOfClientFor, targetsOfModule as targetsOfModuleFor } from '../src/manual-targets.js';
import { anthropicTargets } from '../src/providers/anthropic/targets.js';
import { createOpenAIState, openaiTargets } from '../src/providers/openai/targets.js';
import { useHarness } from './helpers/harness.js';
import { attr, onlySpan, script } from './helpers/spans.js';

const messages: string[] = [];
const collect = (...args: unknown[]) => messages.push(args.map(String).join(' '));
const logger: DiagLogger = { error: collect, warn: collect, info: collect, debug: () => {}, verbose: () => {} };
diag.setLogger(logger, { logLevel: DiagLogLevel.INFO, suppressOverrideMessage: true });

const harness = useHarness();
const { otel } = harness;
const fakes = join(__dirname, '..', 'node_modules', '.cache', `otel-llm-cost-compat-${process.pid}`);

after(() => {
  rmSync(fakes, { recursive: true, force: true });
});
beforeEach(() => {
  messages.length = 0;
});

/** Writes `node_modules/openai` (version `version`, main file `source`) under a folder of its own. */
function fakeOpenAI(folder: string, version: string, source: string): string {
  const dir = join(fakes, folder, 'node_modules', 'openai');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'openai', version, main: 'index.js' }));
  writeFileSync(join(dir, 'index.js'), source);
  return createRequire(join(fakes, folder, 'app.js')).resolve('openai');
}

const WELL_FORMED = `
class Completions { create() { return 'original'; } }
class Chat {}
Chat.Completions = Completions;
class OpenAI {}
OpenAI.Chat = Chat;
module.exports = { OpenAI, default: OpenAI };
`;

describe('SDK versions and layouts', () => {
  it('a version outside the range is said once through diag and left untouched', () => {
    const first = require(fakeOpenAI('v8-a', '8.0.0', WELL_FORMED)) as { OpenAI: { Chat: { Completions: { prototype: { create: () => unknown } } } } };
    const second = require(fakeOpenAI('v8-b', '8.0.0', WELL_FORMED)) as typeof first;
    for (const sdk of [first, second]) {
      const create = sdk.OpenAI.Chat.Completions.prototype.create as (() => unknown) & { __wrapped?: boolean };
      assert.equal(create.__wrapped, undefined, 'not wrapped');
      assert.equal(create(), 'original');
    }
    const said = messages.filter((m) => m.includes('openai@8.0.0') && m.includes('outside the supported range'));
    assert.equal(said.length, 1, `said once: ${messages.join(' / ')}`);
  });

  it('a supported version is wrapped (the fake is hooked at all)', () => {
    const sdk = require(fakeOpenAI('v4-ok', '4.99.0', WELL_FORMED)) as {
      OpenAI: { Chat: { Completions: { prototype: { create: { __wrapped?: boolean } } } } };
    };
    assert.equal(sdk.OpenAI.Chat.Completions.prototype.create.__wrapped, true);
  });

  it('an unrecognised layout never breaks the import', () => {
    const layouts = {
      'no-chat': 'class OpenAI {}\nmodule.exports = { OpenAI };',
      'throwing-getter': "module.exports = {};\nObject.defineProperty(module.exports, 'OpenAI', { get() { throw new Error('boom'); } });",
      'not-a-class': 'module.exports = { OpenAI: 42, default: null };',
      'primitive-export': "module.exports = 'openai';",
    };
    for (const [folder, source] of Object.entries(layouts)) {
      assert.doesNotThrow(() => require(fakeOpenAI(folder, '4.50.0', source)), folder);
    }
    assert.ok(!messages.some((m) => m.includes('uncaught')), messages.join(' / '));
  });

  it('the manual patch() tells an unrecognised object from an SDK', () => {
    assert.equal(otel.instrumentation.patch({}), false);
    assert.equal(otel.instrumentation.patch(null), false);
    assert.equal(otel.instrumentation.patch(Object.create(null)), false);
    assert.equal(otel.instrumentation.instrumentClient(42), 42);
  });

  it('the manual path finds the right SDK from a module or a client (AzureOpenAI included)', () => {
    const openaiSdk = require('openai') as typeof import('openai');
    const anthropicSdk = require('@anthropic-ai/sdk') as typeof import('@anthropic-ai/sdk');
    const labels = (targets: { label: string }[]) => targets.map((t) => t.label).sort();
    const openaiState = createOpenAIState();
    const sdks = {
      openai: (m: unknown) => openaiTargets(m, openaiState),
      anthropic: (m: unknown) => anthropicTargets(m, () => 'suppress' as const),
    };
    const targetsOfModule = (m: unknown) => targetsOfModuleFor(m, sdks);
    const targetsOfClient = (c: unknown) => targetsOfClientFor(c, sdks);
    const anthropicLabels = ['beta.messages.create', 'beta.messages.stream', 'messages.create', 'messages.stream'];
    assert.deepEqual(labels(targetsOfModule(anthropicSdk)), anthropicLabels, 'no openai target on the Anthropic class');
    assert.deepEqual(labels(targetsOfClient(new anthropicSdk.Anthropic({ apiKey: 'k' }))), anthropicLabels);
    const openaiLabels = labels(targetsOfModule(openaiSdk));
    assert.ok(openaiLabels.includes('chat.completions.create') && openaiLabels.includes('responses.create'), openaiLabels.join());
    const azure = new openaiSdk.AzureOpenAI({ apiKey: 'k', apiVersion: '2024-10-21', endpoint: 'https://r.openai.azure.com' });
    assert.deepEqual(labels(targetsOfClient(azure)), openaiLabels);
  });

  it('anthropicNativeSpans accepts only suppress or keep', () => {
    assert.throws(() => new LLMCostInstrumentation({ anthropicNativeSpans: 'drop' as 'keep' }), /anthropicNativeSpans/);
    assert.doesNotThrow(() => new LLMCostInstrumentation({ anthropicNativeSpans: 'keep', enabled: false }));
  });
});

describe('OpenAI-compatible endpoints', () => {
  const named = (baseURL: string, extra: Record<string, unknown> = {}) => openaiProviderName({ _client: { baseURL, ...extra } });

  it('names the provider after the endpoint, with the conventions names where they exist', () => {
    assert.equal(named('https://api.openai.com/v1'), 'openai');
    assert.equal(named('https://my-resource.openai.azure.com/openai/deployments/gpt-4o'), 'azure.ai.openai');
    assert.equal(named('https://my-resource.cognitiveservices.azure.com/openai'), 'azure.ai.openai');
    assert.equal(named('https://my-project.services.ai.azure.com/models'), 'azure.ai.inference');
    assert.equal(named('https://api.deepseek.com/v1'), 'deepseek');
    assert.equal(named('https://api.groq.com/openai/v1'), 'groq');
    assert.equal(named('https://api.mistral.ai/v1'), 'mistral_ai');
    assert.equal(named('https://api.x.ai/v1'), 'x_ai');
    assert.equal(named('https://api.perplexity.ai'), 'perplexity');
    assert.equal(named('https://generativelanguage.googleapis.com/v1beta/openai/'), 'gcp.gemini');
    assert.equal(named('https://bedrock-runtime.us-west-2.amazonaws.com/openai/v1'), 'aws.bedrock');
    assert.equal(named('https://s3.amazonaws.com/x'), 'openai', 'other AWS hosts are not Bedrock');
    assert.equal(named('https://api.deepseek.com.evil.example/v1'), 'openai', 'suffix tricks do not match');
    assert.equal(named('http://localhost:11434/v1'), 'openai', 'unknown endpoints: openai, told apart by server.address');
  });

  it('injects stream_options only where the endpoint takes it', () => {
    const accepts = (baseURL: string, extra: Record<string, unknown> = {}) => acceptsStreamOptions({ baseURL, ...extra });
    assert.equal(accepts('https://api.openai.com/v1'), true);
    assert.equal(accepts('http://localhost:8000/v1'), true, 'vLLM, Ollama, gateways');
    assert.equal(accepts('https://api.deepseek.com'), true);
    assert.equal(accepts('https://r.openai.azure.com/openai', { apiVersion: '2024-06-01' }), false, 'old Azure API versions reject it');
    assert.equal(accepts('https://r.openai.azure.com/openai', { apiVersion: '2024-10-21' }), true);
    assert.equal(accepts('https://r.openai.azure.com/openai', { apiVersion: '2025-04-01-preview' }), true);
    assert.equal(accepts('https://r.openai.azure.com/openai/v1'), true, 'the Azure v1 API');
    assert.equal(accepts('https://r.openai.azure.com/openai'), false, 'Azure without a known version');
    assert.equal(accepts('https://api.mistral.ai/v1'), false);
    assert.equal(accepts('https://api.perplexity.ai'), false);
  });

  it('AzureOpenAI with an API version that rejects stream_options: sent once, without it', async () => {
    const { AzureOpenAI } = require('openai') as typeof import('openai');
    for (const [apiVersion, injected] of [
      ['2024-06-01', false],
      ['2024-10-21', true],
    ] as const) {
      otel.reset();
      const before = harness.emulator.requests.length;
      // An Azure endpoint, reached through the SDK's documented `fetch` option: the request
      // leaves for the emulator's /v1/chat/completions, everything else is the SDK's own.
      const toEmulator: typeof fetch = (url, init) => {
        const sent = new URL(String(url));
        return fetch(`${harness.emulator.url}/v1/chat/completions${sent.search}`, init);
      };
      const client = new AzureOpenAI({ apiKey: 'k', apiVersion, endpoint: 'https://my-resource.openai.azure.com', fetch: toEmulator, maxRetries: 0 });
      const stream = await client.chat.completions.create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true },
        script({ outputTokens: 5 }),
      );
      let chunks = 0;
      for await (const _chunk of stream) chunks++;
      assert.ok(chunks > 0);
      assert.equal(harness.emulator.requests.length - before, 1, 'one request: never sent twice');
      const sent = harness.emulator.requests.at(-1)!.body as { stream_options?: unknown };
      assert.equal(sent.stream_options !== undefined, injected, `api-version ${apiVersion}`);
      const span = onlySpan(await otel.settle(1));
      assert.equal(attr(span, 'gen_ai.provider.name'), 'azure.ai.openai');
      assert.equal(attr(span, 'server.address'), 'my-resource.openai.azure.com');
      assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), injected ? 'reported' : 'estimated');
    }
  });

  it('server.address and server.port on the span; never the key, URL credentials or query', async () => {
    const client = harness.openai({
      apiKey: 'sk-secret-key',
      baseURL: `${harness.emulator.url.replace('http://', 'http://user:hunter2@')}/v1`,
      defaultQuery: { token: 'query-secret' },
    });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch(() => undefined);
    const span = onlySpan(await otel.settle(1));
    const port = Number(new URL(harness.emulator.url).port);
    assert.equal(attr(span, 'server.address'), '127.0.0.1');
    assert.equal(attr(span, 'server.port'), port);
    const everything = JSON.stringify(span.attributes) + span.name + JSON.stringify(span.events);
    for (const secret of ['sk-secret-key', 'hunter2', 'query-secret', 'user:']) assert.ok(!everything.includes(secret), secret);
  });
});
