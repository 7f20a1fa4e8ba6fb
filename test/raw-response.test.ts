/**
 * A caller who reads an SDK request's raw HTTP body (`create(...).asResponse()`, or the
 * `response` of `withResponse()`) gets the body the server sends without this package, and
 * the request ends with what that body carried (issue #14, "Changed under the user").
 * openai 4 to 7 (aliases `openai-v4`…, instrumented through `patch()`) and Anthropic, over
 * real HTTP to the emulator.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { EMULATOR_SCRIPT_HEADER, type EmulatorScript } from '../src/emulator/index.js';
import { useHarness } from './helpers/harness.js';
import { readText, sameIds, turns } from './helpers/raw-bodies.js';
import { attr, onlySpan, script } from './helpers/spans.js';

const harness = useHarness({ abandonedTimeoutMs: 600_000 });
const { otel } = harness;
const requireHere = createRequire(__filename);
const messages = [{ role: 'user' as const, content: 'Tell me a story.' }];
const userBody = { model: 'gpt-4o-mini', messages, stream: true };

type OpenAIClass = typeof otel.OpenAI;
// openai 7 lives in test/sdk-next (it declares Node >= 22; `npm run test:matrix` installs it).
const sdkNext = resolve(__dirname, 'sdk-next');
const sdkNextInstalled = existsSync(join(sdkNext, 'node_modules', 'openai-v7', 'package.json'));
const requireNext = createRequire(join(sdkNext, 'package.json'));
const versions: [name: string, module: string][] = [
  ['openai 4', 'openai-v4'],
  ['openai 5', 'openai-v5'],
  ['openai 6', 'openai'],
  ...(sdkNextInstalled ? [['openai 7', 'openai-v7'] as [string, string]] : []),
];
if (!sdkNextInstalled)
  it('openai 7: raw bodies', { skip: 'openai 7 is not installed: run `npm ci --prefix test/sdk-next` (npm run test:matrix does)' }, () => undefined);
const classes = new Map<string, OpenAIClass>();

before(() => {
  for (const [, name] of versions) {
    const moduleExports = (name === 'openai-v7' ? requireNext : requireHere)(name) as { OpenAI: OpenAIClass };
    if (name !== 'openai') assert.ok(otel.instrumentation.patch(moduleExports), `${name} is instrumented`);
    classes.set(name, moduleExports.OpenAI);
  }
});

/** The body the emulator sends for `body` to a plain client: what the caller gets without this package. */
async function serverBody(body: unknown, s: EmulatorScript = {}): Promise<string> {
  const response = await fetch(`${harness.emulator.openaiBaseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [EMULATOR_SCRIPT_HEADER]: JSON.stringify(s) },
    body: JSON.stringify(body),
  });
  return sameIds(await readText(response.body));
}

/** A raw body, read the way its SDK's `Response` offers it (web stream, or node-fetch's Node stream). */
async function rawText(response: unknown): Promise<string> {
  const body = (response as { body: unknown }).body;
  if (body instanceof ReadableStream) return readText(body);
  const parts: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts).toString('utf8');
}

const dataFrames = (text: string) => text.split(/\n\n/).filter((frame) => /^data: \{/m.test(frame)).length;

for (const [name, module] of versions) {
  describe(`${name}: raw bodies`, () => {
    const client = () => new (classes.get(module)!)({ apiKey: 'k', baseURL: harness.emulator.openaiBaseURL, maxRetries: 0 });
    const s: EmulatorScript = { outputTokens: 40 };

    it('create({ stream: true }).asResponse(): the option is taken back before sending; the body is the server’s; completed', async () => {
      const response = await client()
        .chat.completions.create({ ...userBody }, script(s))
        .asResponse();
      const raw = sameIds(await rawText(response));
      assert.equal((harness.emulator.requests[0]!.body as { stream_options?: unknown }).stream_options, undefined, 'sent as the caller wrote it');
      assert.equal(raw, await serverBody(userBody, s));
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'llm_cost.stream.outcome'), 'completed');
      assert.equal(attr(span, 'llm_cost.stream.chunks'), dataFrames(raw));
      // The body carried no usage: both counts are estimated, the output from the text read.
      assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
      const output = attr(span, 'gen_ai.usage.output_tokens') as number;
      assert.ok(Math.abs(output - 40) <= 4, `output ${output} for 40 sent`);
    });

    it('asResponse() once the body was sent: the option’s traces are cut from the bytes; completed with the usage it carried', async (t) => {
      const pending = client().chat.completions.create({ ...userBody }, script(s));
      await new Promise((resolve) => setTimeout(resolve, 30));
      const response = await pending.asResponse();
      assert.deepEqual((harness.emulator.requests[0]!.body as { stream_options?: unknown }).stream_options, { include_usage: true });
      const raw = sameIds(await rawText(response));
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'llm_cost.stream.outcome'), 'completed');
      assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'reported');
      if (module === 'openai-v4') {
        // node-fetch's Node stream is observed in place and cannot be edited (docs/compatibility.md).
        t.diagnostic('openai 4: the late body keeps the usage traces');
        return;
      }
      assert.equal(raw, await serverBody(userBody, s));
    });

    it('withResponse(), reading response.body: the traces cut; completed, reported', async () => {
      const { response } = await client()
        .chat.completions.create({ ...userBody }, script(s))
        .withResponse();
      assert.deepEqual((harness.emulator.requests[0]!.body as { stream_options?: unknown }).stream_options, { include_usage: true });
      const raw = sameIds(await rawText(response));
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'llm_cost.stream.outcome'), 'completed');
      assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'reported');
      if (module !== 'openai-v4') assert.equal(raw, await serverBody(userBody, s));
    });

    it('withResponse(), iterating data: unchanged (usage reported, the chunks the caller always saw)', async () => {
      const { data, response } = await client()
        .chat.completions.create({ ...userBody, stream: true as const }, script(s))
        .withResponse();
      let chunks = 0;
      for await (const chunk of data) {
        assert.ok(chunk.choices.length > 0, 'never the usage-only chunk');
        assert.equal('usage' in chunk, false);
        chunks++;
      }
      assert.equal(typeof response.headers.get, 'function');
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'llm_cost.stream.outcome'), 'completed');
      assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'reported');
      assert.equal(attr(span, 'llm_cost.stream.chunks'), chunks);
    });

    it('a JSON body read raw: completed with its usage', async () => {
      const body = { ...userBody, stream: false };
      const response = await client().chat.completions.create(body, script(s)).asResponse();
      const raw = sameIds(await rawText(response));
      assert.equal(raw, await serverBody(body, s));
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'llm_cost.stream.outcome'), 'completed');
      assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'reported');
    });

    it('a raw body cancelled part-way: broken, estimated', async () => {
      const response = (await client()
        .chat.completions.create({ ...userBody }, script({ outputTokens: 2000, chunkDelayMs: 2 }))
        .asResponse()) as {
        body: unknown;
      };
      if (response.body instanceof ReadableStream) {
        const reader = response.body.getReader();
        for (let i = 0; i < 5; i++) await reader.read();
        await reader.cancel();
      } else {
        const body = response.body as NodeJS.ReadableStream & { destroy(): void };
        await new Promise<void>((resolve) => body.once('data', () => resolve()));
        body.destroy();
      }
      await turns(5);
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'llm_cost.stream.outcome'), 'broken');
      assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
    });
  });
}

describe('Anthropic raw bodies', () => {
  it('messages.create({ stream: true }).asResponse(): completed, with the usage the body carried', async () => {
    const client = harness.anthropic();
    const response = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 500, messages, stream: true }).asResponse();
    const text = await readText(response.body);
    assert.match(text, /event: message_stop/);
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'completed');
    assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'reported');
  });

  it('messages.stream() (which calls withResponse()) is unchanged', async () => {
    const client = harness.anthropic();
    const stream = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 500, messages });
    const message = await stream.finalMessage();
    assert.ok(message.usage.output_tokens > 0);
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'completed');
  });
});
