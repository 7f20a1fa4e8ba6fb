/**
 * `captureMessageContent: true`: the messages sent and received, as the conventions'
 * opt-in attributes (JSON strings of typed parts), with every supported API, streamed and
 * not; bounded in size with the cut marked; and the caller sees exactly the same chunks.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { tracing } from '@opentelemetry/sdk-node';
import { useHarness } from './helpers/harness.js';
import { attr, onlySpan, script } from './helpers/spans.js';

const CONFIG = { captureMessageContent: true };
const harness = useHarness(CONFIG);
const { otel } = harness;

beforeEach(() => {
  otel.instrumentation.setConfig(CONFIG);
});

const json = (span: tracing.ReadableSpan, name: string): unknown => {
  const value = attr(span, name);
  assert.equal(typeof value, 'string', `${name} is a JSON string`);
  return JSON.parse(value as string) as unknown;
};

const TEXT = 'Tide pools hold anemones.';
const openai = () => harness.openai();
const anthropic = () => harness.anthropic();

describe('content capture: OpenAI Chat Completions', () => {
  const messages = [
    { role: 'system' as const, content: 'You are terse.' },
    { role: 'user' as const, content: 'What lives in tide pools?' },
  ];

  it('a response: input messages as sent, the answer as the output message', async () => {
    const completion = await openai().chat.completions.create({ model: 'gpt-4o-mini', messages }, script({ text: TEXT }));
    assert.equal(completion.choices[0]?.message.content, TEXT);
    const span = onlySpan(await otel.settle());
    assert.deepEqual(json(span, 'gen_ai.input.messages'), [
      { role: 'system', parts: [{ type: 'text', content: 'You are terse.' }] },
      { role: 'user', parts: [{ type: 'text', content: 'What lives in tide pools?' }] },
    ]);
    assert.deepEqual(json(span, 'gen_ai.output.messages'), [{ role: 'assistant', parts: [{ type: 'text', content: TEXT }], finish_reason: 'stop' }]);
    assert.equal(attr(span, 'gen_ai.system_instructions'), undefined, 'Chat keeps system messages in the history');
    assert.equal(attr(span, 'llm_cost.content.truncated'), undefined);
  });

  it('a stream with a tool call: the text and the call, with its arguments as an object', async () => {
    const toolCall = { name: 'lookup', arguments: { topic: 'tide pools', depth: 2 } };
    const stream = await openai().chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, script({ text: TEXT, toolCall }));
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, TEXT);
    const span = onlySpan(await otel.settle());
    const [output] = json(span, 'gen_ai.output.messages') as { parts: Record<string, unknown>[]; finish_reason: string }[];
    assert.ok(output);
    assert.deepEqual(output.parts[0], { type: 'text', content: TEXT });
    assert.equal(output.parts[1]?.type, 'tool_call');
    assert.equal(output.parts[1]?.name, 'lookup');
    assert.deepEqual(output.parts[1]?.arguments, toolCall.arguments);
    assert.equal(typeof output.parts[1]?.id, 'string');
    assert.equal(output.finish_reason, 'tool_calls');
  });

  it('the input as it was sent, even when the caller appends to the same array afterwards', async () => {
    const history: { role: 'user' | 'assistant'; content: string }[] = [{ role: 'user', content: 'First question.' }];
    const stream = await openai().chat.completions.create({ model: 'gpt-4o-mini', messages: history, stream: true }, script({ text: TEXT }));
    history.push({ role: 'assistant', content: 'Appended later.' });
    for await (const _chunk of stream) void _chunk;
    const span = onlySpan(await otel.settle());
    assert.deepEqual(json(span, 'gen_ai.input.messages'), [{ role: 'user', parts: [{ type: 'text', content: 'First question.' }] }]);
  });

  it('a broken stream: the output received so far, finish reason unknown', async () => {
    const stream = await openai().chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, script({ outputTokens: 50 }));
    let received = '';
    let count = 0;
    for await (const chunk of stream) {
      received += chunk.choices[0]?.delta?.content ?? '';
      if (++count === 3) break;
    }
    const span = onlySpan(await otel.settle());
    assert.deepEqual(json(span, 'gen_ai.output.messages'), [{ role: 'assistant', parts: [{ type: 'text', content: received }], finish_reason: 'unknown' }]);
  });

  it('images are named by kind only: no bytes, no URL', async () => {
    const secretURL = 'https://images.example.com/cat.png?sig=SECRET-SIGNATURE';
    await openai().chat.completions.create(
      {
        model: 'gpt-4o-mini',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Describe.' },
              { type: 'image_url', image_url: { url: secretURL } },
            ],
          },
        ],
      },
      script({ text: TEXT }),
    );
    const span = onlySpan(await otel.settle());
    assert.deepEqual(json(span, 'gen_ai.input.messages'), [
      {
        role: 'user',
        parts: [
          { type: 'text', content: 'Describe.' },
          { type: 'uri', modality: 'image' },
        ],
      },
    ]);
    assert.ok(!JSON.stringify(span.attributes).includes('SECRET-SIGNATURE'));
  });
});

describe('content capture: Anthropic Messages', () => {
  const body = {
    model: 'claude-haiku-4-5',
    max_tokens: 500,
    system: 'Answer like a marine biologist.',
    messages: [{ role: 'user' as const, content: 'What lives in tide pools?' }],
  };

  it('a stream: system instructions apart, thinking, text and tool use in the output', async () => {
    const toolCall = { name: 'lookup', arguments: { topic: 'anemones' } };
    const stream = await anthropic().messages.create({ ...body, stream: true }, script({ thinking: 'Consider the zones.', text: TEXT, toolCall }));
    for await (const _event of stream) void _event;
    const span = onlySpan(await otel.settle());
    assert.deepEqual(json(span, 'gen_ai.system_instructions'), [{ type: 'text', content: 'Answer like a marine biologist.' }]);
    assert.deepEqual(json(span, 'gen_ai.input.messages'), [{ role: 'user', parts: [{ type: 'text', content: 'What lives in tide pools?' }] }]);
    const [output] = json(span, 'gen_ai.output.messages') as { parts: Record<string, unknown>[]; finish_reason: string }[];
    assert.ok(output);
    assert.deepEqual(output.parts.slice(0, 2), [
      { type: 'reasoning', content: 'Consider the zones.' },
      { type: 'text', content: TEXT },
    ]);
    assert.equal(output.parts[2]?.type, 'tool_call');
    assert.deepEqual(output.parts[2]?.arguments, toolCall.arguments);
    assert.equal(output.finish_reason, 'tool_use');
  });

  it('a response, with a tool result in the history', async () => {
    const message = await anthropic().messages.create(
      {
        ...body,
        messages: [
          { role: 'user', content: 'Look it up.' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { q: 'kelp' } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'Kelp is algae.' }] },
        ],
      },
      script({ text: TEXT }),
    );
    assert.equal(message.content[0]?.type, 'text');
    const span = onlySpan(await otel.settle());
    assert.deepEqual(json(span, 'gen_ai.input.messages'), [
      { role: 'user', parts: [{ type: 'text', content: 'Look it up.' }] },
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'toolu_1', name: 'lookup', arguments: { q: 'kelp' } }] },
      { role: 'user', parts: [{ type: 'tool_call_response', id: 'toolu_1', response: 'Kelp is algae.' }] },
    ]);
    assert.deepEqual(json(span, 'gen_ai.output.messages'), [{ role: 'assistant', parts: [{ type: 'text', content: TEXT }], finish_reason: 'end_turn' }]);
  });
});

describe('content capture: OpenAI Responses', () => {
  it('a stream and a response: instructions apart, the text output', async () => {
    const client = openai();
    const request = { model: 'gpt-4o-mini', instructions: 'Be brief.', input: 'What lives in tide pools?' };
    const stream = await client.responses.create({ ...request, stream: true }, script({ text: TEXT }));
    for await (const _event of stream) void _event;
    await client.responses.create(request, script({ text: TEXT }));
    const spans = await otel.settle(2);
    assert.equal(spans.length, 2);
    for (const span of spans) {
      assert.deepEqual(json(span, 'gen_ai.system_instructions'), [{ type: 'text', content: 'Be brief.' }]);
      assert.deepEqual(json(span, 'gen_ai.input.messages'), [{ role: 'user', parts: [{ type: 'text', content: 'What lives in tide pools?' }] }]);
      assert.deepEqual(json(span, 'gen_ai.output.messages'), [{ role: 'assistant', parts: [{ type: 'text', content: TEXT }], finish_reason: 'stop' }]);
    }
  });
});

describe('content capture: bounded', () => {
  it('each attribute is cut to messageContentMaxLength, stays valid JSON, and the cut is named', async () => {
    otel.instrumentation.setConfig({ ...CONFIG, messageContentMaxLength: 400 });
    const longPrompt = 'kelp '.repeat(2000);
    const stream = await openai().chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: longPrompt }], stream: true },
      script({ outputTokens: 600 }),
    );
    let received = '';
    for await (const chunk of stream) received += chunk.choices[0]?.delta?.content ?? '';
    assert.ok(received.length > 1000, 'the caller still gets the whole answer');
    const span = onlySpan(await otel.settle());
    for (const name of ['gen_ai.input.messages', 'gen_ai.output.messages']) {
      const value = attr(span, name) as string;
      assert.ok(value.length <= 400, `${name}: ${value.length} characters`);
      assert.ok(value.length > 300, `${name} keeps what fits`);
    }
    const [input] = json(span, 'gen_ai.input.messages') as { parts: { content: string }[] }[];
    assert.ok(longPrompt.startsWith(input!.parts[0]!.content), 'the start of the content is kept');
    const [output] = json(span, 'gen_ai.output.messages') as { parts: { content: string }[] }[];
    assert.ok(received.startsWith(output!.parts[0]!.content));
    assert.deepEqual(attr(span, 'llm_cost.content.truncated'), ['gen_ai.input.messages', 'gen_ai.output.messages']);
  });

  it('text that JSON escapes (quotes, newlines, non-ASCII) still fits the bound', async () => {
    otel.instrumentation.setConfig({ ...CONFIG, messageContentMaxLength: 300 });
    await openai().chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: '"quoted"\n\u0001'.repeat(500) }] },
      script({ text: TEXT }),
    );
    const span = onlySpan(await otel.settle());
    const value = attr(span, 'gen_ai.input.messages') as string;
    assert.ok(value.length <= 300, `${value.length} characters`);
    JSON.parse(value);
    assert.deepEqual(attr(span, 'llm_cost.content.truncated'), ['gen_ai.input.messages']);
  });

  it('the default bound is 16384 characters', async () => {
    await openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'kelp '.repeat(8_000) }] }, script({ text: TEXT }));
    const span = onlySpan(await otel.settle());
    const value = attr(span, 'gen_ai.input.messages') as string;
    assert.ok(value.length <= 16_384 && value.length > 16_000, `${value.length} characters`);
  });
});
