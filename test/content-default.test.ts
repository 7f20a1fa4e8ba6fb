/**
 * Message content is never captured unless asked for: with the default configuration (and
 * no `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`), no span attribute or event holds
 * a prompt, an instruction or an answer, with any API, streamed or not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { tracing } from '@opentelemetry/sdk-node';
import { useHarness } from './helpers/harness.js';
import { onlySpan, script } from './helpers/spans.js';

delete process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT;
const harness = useHarness();
const { otel } = harness;

const PROMPT = 'PROMPT-MARKER what lives in tide pools?';
const SYSTEM = 'SYSTEM-MARKER be brief';
const ANSWER = 'ANSWER-MARKER anemones and crabs';

function assertNoContent(span: tracing.ReadableSpan): void {
  const names = Object.keys(span.attributes);
  for (const name of ['gen_ai.input.messages', 'gen_ai.output.messages', 'gen_ai.system_instructions']) {
    assert.ok(!names.includes(name), `${name} is not captured by default`);
  }
  const everything = JSON.stringify([span.attributes, span.events]);
  for (const marker of ['PROMPT-MARKER', 'SYSTEM-MARKER', 'ANSWER-MARKER']) {
    assert.ok(!everything.includes(marker), `${marker} appears nowhere on the span`);
  }
}

describe('content capture is off by default', () => {
  it('OpenAI Chat, streamed and not', async () => {
    const client = harness.openai();
    const messages = [
      { role: 'system' as const, content: SYSTEM },
      { role: 'user' as const, content: PROMPT },
    ];
    for (const stream of [false, true]) {
      otel.reset();
      const result = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream }, script({ text: ANSWER }));
      if (stream) for await (const _chunk of result as AsyncIterable<unknown>) void _chunk;
      assertNoContent(onlySpan(await otel.settle()));
    }
  });

  it('Anthropic Messages, streamed and not', async () => {
    const client = harness.anthropic();
    const body = { model: 'claude-haiku-4-5', max_tokens: 100, system: SYSTEM, messages: [{ role: 'user' as const, content: PROMPT }] };
    for (const stream of [false, true]) {
      otel.reset();
      const result = await client.messages.create({ ...body, stream }, script({ text: ANSWER, thinking: 'ANSWER-MARKER thinking' }));
      if (stream) for await (const _event of result as AsyncIterable<unknown>) void _event;
      assertNoContent(onlySpan(await otel.settle()));
    }
  });

  it('OpenAI Responses', async () => {
    otel.reset();
    const client = harness.openai();
    await client.responses.create({ model: 'gpt-4o-mini', instructions: SYSTEM, input: PROMPT }, script({ text: ANSWER }));
    assertNoContent(onlySpan(await otel.settle()));
  });
});
