/**
 * Anthropic Messages through the real `@anthropic-ai/sdk`, over HTTP, against the emulator,
 * with the real OpenTelemetry SDK. Input and cache tokens arrive in `message_start`, so a
 * stream cut short keeps its reported input and estimates only the output.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useHarness } from './helpers/harness.js';
import { assertCost, attr, normalizeChunk, onlySpan, script } from './helpers/spans.js';

const harness = useHarness({ abandonedTimeoutMs: 200 });
const { otel } = harness;
let client: InstanceType<typeof otel.Anthropic>;
const model = 'claude-sonnet-4-5-20250929';
const messages = [{ role: 'user' as const, content: 'Write a short note about tide pools.' }];
const base = { model, max_tokens: 1024, messages };

harness.setup(() => {
  client = harness.anthropic();
});

describe('anthropic messages.create, streaming', () => {
  it('completed: input, cache and output reported, exact cost', async () => {
    const stream = await client.messages.create({ ...base, stream: true }, script({ outputTokens: 30, cacheReadTokens: 200, cacheCreationTokens: 100 }));
    const events = [];
    for await (const event of stream) events.push(event);
    const span = onlySpan(await otel.settle());
    assertCost(span, { outcome: 'completed', input: 'reported', output: 'reported' });
    const start = events.find((e) => e.type === 'message_start');
    assert.ok(start?.type === 'message_start');
    const usage = start.message.usage;
    assert.equal(attr(span, 'gen_ai.usage.input_tokens'), usage.input_tokens + 200 + 100, 'input includes cache, as the conventions say');
    assert.equal(attr(span, 'gen_ai.usage.cache_read.input_tokens'), 200);
    assert.equal(attr(span, 'gen_ai.usage.cache_creation.input_tokens'), 100);
    assert.equal(attr(span, 'gen_ai.usage.output_tokens'), 30);
    assert.equal(attr(span, 'gen_ai.provider.name'), 'anthropic');
    assert.equal(attr(span, 'gen_ai.request.max_tokens'), 1024);
    assert.deepEqual(attr(span, 'gen_ai.response.finish_reasons'), ['end_turn']);
    assert.match(String(attr(span, 'gen_ai.response.id')), /^msg_/);
    assert.equal(attr(span, 'llm_cost.stream.chunks'), events.length);
  });

  it('the consumer sees exactly the events it sees without the instrumentation', async () => {
    const read = async () => {
      const stream = await client.messages.create(
        { ...base, stream: true },
        script({ text: 'Lisbon in spring is mild, bright and a little windy by the river.' }),
      );
      const events = [];
      for await (const event of stream) events.push(normalizeChunk(event));
      return events;
    };
    otel.instrumentation.disable();
    const without = await read();
    otel.instrumentation.enable();
    assert.deepEqual(await read(), without);
    onlySpan(await otel.settle());
  });

  it('broken after message_start: reported input, estimated output', async () => {
    const stream = await client.messages.create({ ...base, stream: true }, script({ outputTokens: 300, chunkDelayMs: 2 }));
    let seen = 0;
    for await (const _event of stream) if (++seen === 6) break;
    const span = onlySpan(await otel.settle());
    assertCost(span, { outcome: 'broken', input: 'reported', output: 'estimated' });
    assert.ok((attr(span, 'gen_ai.usage.output_tokens') as number) > 0);
    await harness.emulator.waitForRequestEnd(harness.emulator.requests.at(-1)!.id);
    assert.equal(harness.emulator.requests.at(-1)!.clientClosedEarly, true);
  });

  it('cancelled: stream.controller.abort()', async () => {
    const stream = await client.messages.create({ ...base, stream: true }, script({ outputTokens: 300, chunkDelayMs: 2 }));
    let seen = 0;
    for await (const _event of stream) if (++seen === 6) stream.controller.abort();
    assertCost(onlySpan(await otel.settle()), { outcome: 'cancelled', input: 'reported', output: 'estimated' });
  });

  it('cancelled before the first event: input estimated from the request', async () => {
    // Aborted once the emulator has the request, long before its first event is due.
    const controller = new AbortController();
    harness.emulator.once('request', () => controller.abort());
    const pending = client.messages.create({ ...base, stream: true }, { signal: controller.signal, ...script({ firstChunkDelayMs: 60_000 }) });
    await assert.rejects(pending);
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'cancelled');
    assert.equal(attr(span, 'llm_cost.usage.input_tokens.source'), 'estimated');
    assert.ok((attr(span, 'gen_ai.usage.input_tokens') as number) > 0);
  });

  it('error: the connection drops mid-stream', async () => {
    const stream = await client.messages.create({ ...base, stream: true }, script({ outputTokens: 100, dropAfterChunks: 5 }));
    await assert.rejects(async () => {
      for await (const _event of stream);
    });
    const span = onlySpan(await otel.settle());
    assertCost(span, { outcome: 'error', input: 'reported', output: 'estimated' });
    assert.equal(span.status.code, 2);
  });

  it('error: an error event mid-stream', async () => {
    const stream = await client.messages.create({ ...base, stream: true }, script({ outputTokens: 100, errorAfterChunks: 4 }));
    await assert.rejects(async () => {
      for await (const _event of stream);
    });
    const span = onlySpan(await otel.settle());
    assertCost(span, { outcome: 'error', input: 'reported', output: 'estimated' });
    assert.equal(typeof attr(span, 'error.type'), 'string');
  });

  it('error: HTTP 529 overloaded', async () => {
    await assert.rejects(client.messages.create({ ...base, stream: true }, script({ status: 529 })));
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'error');
    assert.equal(attr(span, 'gen_ai.usage.output_tokens'), 0);
  });

  it('truncated: no message_delta or message_stop', async () => {
    const stream = await client.messages.create({ ...base, stream: true }, script({ outputTokens: 20, omitTerminal: true }));
    for await (const _event of stream);
    assertCost(onlySpan(await otel.settle()), { outcome: 'truncated', input: 'reported', output: 'estimated' });
  });

  it('abandoned: never iterated', async () => {
    const stream = await client.messages.create({ ...base, stream: true }, script({ outputTokens: 5 }));
    // settle() waits for the idle timer (abandonedTimeoutMs above) to end the request.
    assert.equal(attr(onlySpan(await otel.settle()), 'llm_cost.stream.outcome'), 'abandoned');
    stream.controller.abort();
  });

  it('thinking and tool input count towards the estimated output', async () => {
    const stream = await client.messages.create(
      { ...base, stream: true },
      script({
        thinking: 'Let me think about tide pools and their inhabitants carefully.',
        toolCall: { name: 'lookup', arguments: { topic: 'tide pools', depth: 3 } },
        omitTerminal: true,
      }),
    );
    for await (const _event of stream);
    const span = onlySpan(await otel.settle());
    assert.ok((attr(span, 'gen_ai.usage.output_tokens') as number) >= 15);
  });
});

describe('anthropic helpers and non-streaming', () => {
  it('messages.stream() gives the final message and one completed span', async () => {
    const helper = client.messages.stream(base, script({ outputTokens: 15 }));
    const message = await helper.finalMessage();
    assert.equal(message.usage.output_tokens, 15);
    assertCost(onlySpan(await otel.settle()), { outcome: 'completed', input: 'reported', output: 'reported' });
  });

  it("a helper's abort() is cancelled", async () => {
    const helper = client.messages.stream(base, script({ outputTokens: 300, chunkDelayMs: 2 }));
    let seen = 0;
    helper.on('text', () => {
      if (++seen === 3) helper.abort();
    });
    await assert.rejects(helper.finalMessage());
    assertCost(onlySpan(await otel.settle()), { outcome: 'cancelled', input: 'reported', output: 'estimated' });
  });

  it('non-streaming create is completed with reported usage', async () => {
    const message = await client.messages.create(base, script({ outputTokens: 25 }));
    const span = onlySpan(await otel.settle());
    assertCost(span, { outcome: 'completed', input: 'reported', output: 'reported' });
    assert.equal(attr(span, 'gen_ai.usage.output_tokens'), message.usage.output_tokens);
    assert.equal(attr(span, 'gen_ai.usage.input_tokens'), message.usage.input_tokens);
  });

  it('beta.messages.create is instrumented too', async () => {
    await client.beta.messages.create(base, script({ outputTokens: 4 }));
    assertCost(onlySpan(await otel.settle()), { outcome: 'completed', input: 'reported', output: 'reported' });
  });
});
