/**
 * OpenAI Chat Completions through the real `openai` SDK, over HTTP, against the emulator,
 * with the real OpenTelemetry SDK: every way a request can end gives exactly one span with
 * an outcome, tokens marked reported or estimated, a cost, and matching metrics.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { CostRecord } from '../src/index.js';
import { sumPoints } from './helpers/otel.js';
import { useHarness } from './helpers/harness.js';
import { assertCost, attr, errorNamed, normalizeChunk, onlySpan, script } from './helpers/spans.js';

const costs: CostRecord[] = [];
const harness = useHarness({ abandonedTimeoutMs: 200, onCost: (record) => costs.push(record) });
const { otel } = harness;
let client: InstanceType<typeof otel.OpenAI>;
const messages = [
  { role: 'system' as const, content: 'You are a terse assistant.' },
  { role: 'user' as const, content: 'Tell me about the weather in Lisbon in spring.' },
];
const model = 'gpt-4o-mini';

harness.setup(() => {
  client = harness.openai();
});
beforeEach(() => {
  costs.length = 0;
});

describe('openai chat.completions.create, streaming', () => {
  it('completed: reported usage, exact cost, usage chunk hidden from the consumer', async () => {
    const stream = await client.chat.completions.create({ model, messages, stream: true }, script({ outputTokens: 30 }));
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.ok(
      chunks.every((c) => c.choices.length > 0),
      'every chunk the consumer sees has a choice',
    );
    const span = onlySpan(await otel.settle());
    assertCost(span, { outcome: 'completed', input: 'reported', output: 'reported' });
    assert.equal(attr(span, 'gen_ai.usage.output_tokens'), 30);
    assert.equal(attr(span, 'llm_cost.stream.chunks'), chunks.length);
    assert.equal(attr(span, 'gen_ai.provider.name'), 'openai');
    assert.equal(attr(span, 'gen_ai.operation.name'), 'chat');
    assert.equal(attr(span, 'gen_ai.request.model'), model);
    assert.match(String(attr(span, 'gen_ai.response.model')), /^gpt-4o-mini/);
    assert.match(String(attr(span, 'gen_ai.response.id')), /^chatcmpl-/);
    assert.deepEqual(attr(span, 'gen_ai.response.finish_reasons'), ['stop']);
    assert.equal(attr(span, 'gen_ai.request.stream'), true);
    assert.equal(attr(span, 'server.address'), '127.0.0.1');
    assert.equal(typeof attr(span, 'gen_ai.response.time_to_first_chunk'), 'number');
    assert.equal(span.name, `chat ${model}`);
    assert.equal(span.kind, 2 /* CLIENT */);
    const sent = harness.emulator.requests.at(-1)!.body as { stream_options?: { include_usage?: boolean } };
    assert.equal(sent.stream_options?.include_usage, true, 'usage was asked of the provider');
  });

  it('the consumer sees exactly the chunks it sees without the instrumentation', async () => {
    const read = async () => {
      const stream = await client.chat.completions.create(
        { model, messages, stream: true },
        script({ text: 'Lisbon in spring is mild, bright and a little windy by the river.' }),
      );
      const chunks = [];
      for await (const chunk of stream) chunks.push(normalizeChunk(chunk));
      return chunks;
    };
    otel.instrumentation.disable();
    const without = await read();
    otel.instrumentation.enable();
    const withUs = await read();
    assert.deepEqual(withUs, without);
    onlySpan(await otel.settle());
  });

  it('a user who asked for include_usage still gets the usage chunk', async () => {
    const stream = await client.chat.completions.create(
      { model, messages, stream: true, stream_options: { include_usage: true } },
      script({ outputTokens: 5 }),
    );
    let usageChunks = 0;
    for await (const chunk of stream) if (chunk.choices.length === 0 && chunk.usage) usageChunks++;
    assert.equal(usageChunks, 1);
    assertCost(onlySpan(await otel.settle()), { outcome: 'completed', input: 'reported', output: 'reported' });
  });

  it('broken: break after 3 chunks estimates input and output, and closes the connection', async () => {
    const stream = await client.chat.completions.create({ model, messages, stream: true }, script({ outputTokens: 200, chunkDelayMs: 2 }));
    let seen = 0;
    for await (const _chunk of stream) if (++seen === 3) break;
    const span = onlySpan(await otel.settle());
    assertCost(span, { outcome: 'broken', input: 'estimated', output: 'estimated' });
    assert.equal(attr(span, 'llm_cost.stream.chunks'), 3);
    assert.ok((attr(span, 'gen_ai.usage.output_tokens') as number) < 200);
    await harness.emulator.waitForRequestEnd(harness.emulator.requests.at(-1)!.id);
    assert.equal(harness.emulator.requests.at(-1)!.clientClosedEarly, true);
    assert.equal(costs.length, 1);
    assert.equal(costs[0]!.outcome, 'broken');
  });

  it('broken: an error thrown inside the loop reaches the consumer unchanged', async () => {
    const stream = await client.chat.completions.create({ model, messages, stream: true }, script({ outputTokens: 50 }));
    const mine = new Error('consumer failure');
    await assert.rejects(
      async () => {
        for await (const _chunk of stream) throw mine;
      },
      (error) => error === mine,
    );
    assertCost(onlySpan(await otel.settle()), { outcome: 'broken', input: 'estimated', output: 'estimated' });
  });

  it('cancelled: an AbortSignal mid-stream', async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model, messages, stream: true },
      { signal: controller.signal, ...script({ outputTokens: 200, chunkDelayMs: 2 }) },
    );
    let seen = 0;
    for await (const _chunk of stream) if (++seen === 4) controller.abort();
    const span = onlySpan(await otel.settle());
    assertCost(span, { outcome: 'cancelled', input: 'estimated', output: 'estimated' });
    assert.equal(span.status.code, 0, 'a cancel is not an error');
  });

  it('cancelled: stream.controller.abort()', async () => {
    const stream = await client.chat.completions.create({ model, messages, stream: true }, script({ outputTokens: 200, chunkDelayMs: 2 }));
    let seen = 0;
    for await (const _chunk of stream) if (++seen === 4) stream.controller.abort();
    assertCost(onlySpan(await otel.settle()), { outcome: 'cancelled', input: 'estimated', output: 'estimated' });
  });

  it('cancelled: aborted before the response headers', async () => {
    // Aborted once the emulator has the request, long before its headers are due.
    const controller = new AbortController();
    harness.emulator.once('request', () => controller.abort());
    const pending = client.chat.completions.create({ model, messages, stream: true }, { signal: controller.signal, ...script({ firstChunkDelayMs: 60_000 }) });
    await assert.rejects(pending, errorNamed('APIUserAbortError'));
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'cancelled');
    assert.equal(attr(span, 'llm_cost.usage.input_tokens.source'), 'estimated');
    assert.equal(attr(span, 'gen_ai.usage.output_tokens'), 0);
  });

  it('error: the connection drops mid-stream', async () => {
    const stream = await client.chat.completions.create({ model, messages, stream: true }, script({ outputTokens: 100, dropAfterChunks: 5 }));
    let seen = 0;
    await assert.rejects(async () => {
      for await (const _chunk of stream) seen++;
    });
    assert.ok(seen >= 1);
    const span = onlySpan(await otel.settle());
    assertCost(span, { outcome: 'error', input: 'estimated', output: 'estimated' });
    assert.equal(span.status.code, 2 /* ERROR */);
    assert.equal(typeof attr(span, 'error.type'), 'string');
  });

  it('error: an error chunk mid-stream', async () => {
    const stream = await client.chat.completions.create({ model, messages, stream: true }, script({ outputTokens: 100, errorAfterChunks: 4 }));
    await assert.rejects(async () => {
      for await (const _chunk of stream);
    }, errorNamed('APIError'));
    const span = onlySpan(await otel.settle());
    assertCost(span, { outcome: 'error', input: 'estimated', output: 'estimated' });
    assert.equal(attr(span, 'error.type'), 'APIError');
  });

  it('error: HTTP 500 rejects as the SDK does, and nothing is billed', async () => {
    await assert.rejects(client.chat.completions.create({ model, messages, stream: true }, script({ status: 500 })), errorNamed('InternalServerError'));
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'error');
    assert.equal(attr(span, 'error.type'), 'InternalServerError');
    assert.equal(attr(span, 'gen_ai.usage.input_tokens'), 0);
    assert.equal(attr(span, 'gen_ai.usage.output_tokens'), 0);
  });

  it('truncated: the stream ends without its terminal chunk', async () => {
    const stream = await client.chat.completions.create({ model, messages, stream: true }, script({ outputTokens: 20, omitTerminal: true }));
    for await (const _chunk of stream);
    assertCost(onlySpan(await otel.settle()), { outcome: 'truncated', input: 'estimated', output: 'estimated' });
  });

  it("a call of the function tool_choice forces: its name and framing are the API's, not in the estimate", async () => {
    const toolCall = { name: 'get_weather', arguments: { city: 'Lisbon' } };
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const estimate = async (forced: boolean) => {
      const tool_choice = forced ? { tool_choice: { type: 'function' as const, function: { name: 'get_weather' } } } : {};
      const stream = await client.chat.completions.create({ model, messages, tools, ...tool_choice, stream: true }, script({ toolCall, omitTerminal: true }));
      for await (const _chunk of stream);
      const span = onlySpan(await otel.settle());
      otel.reset();
      assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
      return attr(span, 'gen_ai.usage.output_tokens') as number;
    };
    // "get_weather" is 2 o200k tokens; a chosen call's framing is 7.
    assert.equal((await estimate(false)) - (await estimate(true)), 2 + 7);
  });

  it('abandoned: a stream that is never iterated ends after the idle timeout', async () => {
    const stream = await client.chat.completions.create({ model, messages, stream: true }, script({ outputTokens: 5 }));
    assert.equal(otel.spans().length, 0);
    // settle() waits for the idle timer (abandonedTimeoutMs above) to end the request.
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'abandoned');
    stream.controller.abort();
  });

  it('tee(): both branches read to the end give one completed span', async () => {
    const stream = await client.chat.completions.create({ model, messages, stream: true }, script({ outputTokens: 10 }));
    const [left, right] = stream.tee();
    const seen = { left: 0, right: 0 };
    for await (const _chunk of left) seen.left++;
    for await (const _chunk of right) seen.right++;
    assert.equal(seen.left, seen.right);
    assertCost(onlySpan(await otel.settle()), { outcome: 'completed', input: 'reported', output: 'reported' });
  });

  it('toReadableStream() cancelled by the reader is broken', async () => {
    const stream = await client.chat.completions.create({ model, messages, stream: true }, script({ outputTokens: 100, chunkDelayMs: 2 }));
    const reader = stream.toReadableStream().getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    assertCost(onlySpan(await otel.settle()), { outcome: 'broken', input: 'estimated', output: 'estimated' });
  });

  it('withResponse() keeps working on a stream', async () => {
    const { data, response } = await client.chat.completions.create({ model, messages, stream: true }, script({ outputTokens: 6 })).withResponse();
    assert.equal(response.status, 200);
    for await (const _chunk of data);
    assertCost(onlySpan(await otel.settle()), { outcome: 'completed', input: 'reported', output: 'reported' });
  });
});

describe('openai chat helpers', () => {
  it('chat.completions.stream() finishes with the final completion', async () => {
    const runner = client.chat.completions.stream({ model, messages }, script({ outputTokens: 15 }));
    const final = await runner.finalChatCompletion();
    assert.equal(typeof final.choices[0]?.message.content, 'string');
    assertCost(onlySpan(await otel.settle()), { outcome: 'completed', input: 'reported', output: 'reported' });
  });

  it("a helper's abort() is cancelled", async () => {
    const runner = client.chat.completions.stream({ model, messages }, script({ outputTokens: 300, chunkDelayMs: 2 }));
    let seen = 0;
    runner.on('chunk', () => {
      if (++seen === 3) runner.abort();
    });
    await assert.rejects(runner.finalChatCompletion(), errorNamed('APIUserAbortError'));
    assertCost(onlySpan(await otel.settle()), { outcome: 'cancelled', input: 'estimated', output: 'estimated' });
  });
});

describe('openai chat.completions.create, non-streaming', () => {
  it('completed with reported usage; withResponse() works', async () => {
    const { data, response } = await client.chat.completions
      .create({ model, messages, max_tokens: 100, temperature: 0.2 }, script({ outputTokens: 25 }))
      .withResponse();
    assert.equal(response.status, 200);
    assert.equal(data.usage?.completion_tokens, 25);
    const span = onlySpan(await otel.settle());
    assertCost(span, { outcome: 'completed', input: 'reported', output: 'reported' });
    assert.equal(attr(span, 'gen_ai.usage.input_tokens'), data.usage?.prompt_tokens);
    assert.equal(attr(span, 'gen_ai.request.max_tokens'), 100);
    assert.equal(attr(span, 'gen_ai.request.temperature'), 0.2);
    assert.equal(attr(span, 'gen_ai.request.stream'), false);
    assert.equal(attr(span, 'llm_cost.stream.chunks'), undefined);
  });

  it('cancelled before the response', async () => {
    const controller = new AbortController();
    harness.emulator.once('request', () => controller.abort());
    const pending = client.chat.completions.create({ model, messages }, { signal: controller.signal, ...script({ firstChunkDelayMs: 60_000 }) });
    await assert.rejects(pending, errorNamed('APIUserAbortError'));
    assert.equal(attr(onlySpan(await otel.settle()), 'llm_cost.stream.outcome'), 'cancelled');
  });

  it('an unknown model is unpriced, never costed at 0', async () => {
    await client.chat.completions.create({ model: 'my-own-finetune-xyz', messages }, script({ outputTokens: 5 }));
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.cost.source'), 'unpriced');
    assert.equal(attr(span, 'llm_cost.cost.usd'), undefined);
    assert.equal(attr(span, 'gen_ai.usage.output_tokens'), 5);
  });
});

describe('metrics and the cost callback', () => {
  it('spend grows by exactly the sum of the spans, split by token type and source', async () => {
    const spendBefore = sumPoints(await otel.metricPoints('llm_cost.spend'));
    const brokenBefore = sumPoints(await otel.metricPoints('llm_cost.spend'), {
      'llm_cost.stream.outcome': 'broken',
      'gen_ai.token.type': 'output',
      'llm_cost.source': 'estimated',
    });
    const stream = await client.chat.completions.create({ model, messages, stream: true }, script({ outputTokens: 40 }));
    let seen = 0;
    for await (const _chunk of stream) if (++seen === 5) break;
    await client.chat.completions.create({ model, messages }, script({ outputTokens: 10 }));
    const spans = await otel.settle(2);
    assert.equal(spans.length, 2);
    const spanTotal = spans.reduce((sum, s) => sum + (attr(s, 'llm_cost.cost.usd') as number), 0);
    const points = await otel.metricPoints('llm_cost.spend');
    assert.ok(Math.abs(sumPoints(points) - spendBefore - spanTotal) < 1e-12, 'spend counter = sum of span costs');
    const brokenAfter = sumPoints(points, {
      'llm_cost.stream.outcome': 'broken',
      'gen_ai.token.type': 'output',
      'llm_cost.source': 'estimated',
    });
    assert.ok(brokenAfter > brokenBefore, 'estimated output spend of the broken stream is counted');
    assert.ok(points.every((p) => p.attributes['gen_ai.provider.name'] === 'openai'));
    const tokens = await otel.metricPoints('gen_ai.client.token.usage');
    assert.ok(tokens.some((p) => p.attributes['gen_ai.token.type'] === 'input' && p.attributes['llm_cost.source'] === 'reported'));
    assert.ok(
      tokens.every((p) => !('gen_ai.response.id' in p.attributes)),
      'no unbounded attributes on metrics',
    );
    assert.ok((await otel.metricPoints('gen_ai.client.operation.duration')).length > 0);
    assert.ok((await otel.metricPoints('gen_ai.client.operation.time_to_first_chunk')).length > 0);
    assert.equal(costs.length, 2);
    for (const record of costs) assert.ok(record.cost.source !== 'unpriced' && record.cost.totalUsd > 0);
  });

  it('an onCost callback that throws never reaches the request', async () => {
    otel.instrumentation.setConfig({
      abandonedTimeoutMs: 200,
      onCost: () => {
        throw new Error('billing system down');
      },
    });
    try {
      const result = await client.chat.completions.create({ model, messages }, script({ outputTokens: 3 }));
      assert.equal(result.usage?.completion_tokens, 3);
      onlySpan(await otel.settle());
    } finally {
      otel.instrumentation.setConfig({ abandonedTimeoutMs: 200, onCost: (record) => costs.push(record) });
    }
  });
});
