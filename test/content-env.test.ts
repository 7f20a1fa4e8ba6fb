/**
 * `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true` turns content capture on when
 * the configuration does not say; `captureMessageContent: false` in the configuration wins.
 * (Its own test file: the variable is read from this process's environment.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LLMCostInstrumentation } from '../src/index.js';
import { useHarness } from './helpers/harness.js';
import { attr, onlySpan, script } from './helpers/spans.js';

process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = 'true';
const harness = useHarness();
const { otel } = harness;

async function ask() {
  const client = harness.openai();
  await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello?' }] }, script({ text: 'Hi.' }));
  return onlySpan(await otel.settle());
}

describe('OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT', () => {
  it('=true captures content when the configuration does not say', async () => {
    const span = await ask();
    assert.equal(attr(span, 'gen_ai.input.messages'), JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'Hello?' }] }]));
    assert.equal(
      attr(span, 'gen_ai.output.messages'),
      JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Hi.' }], finish_reason: 'stop' }]),
    );
  });

  it('captureMessageContent: false in the configuration wins over the variable', async () => {
    otel.instrumentation.setConfig({ captureMessageContent: false });
    try {
      const span = await ask();
      assert.equal(attr(span, 'gen_ai.input.messages'), undefined);
      assert.equal(attr(span, 'gen_ai.output.messages'), undefined);
    } finally {
      otel.instrumentation.setConfig({});
    }
  });

  it('the options are checked at construction, naming the option', () => {
    assert.throws(
      () => new LLMCostInstrumentation({ enabled: false, captureMessageContent: 'yes' as unknown as boolean }),
      /otel-llm-cost: captureMessageContent must be a boolean, got "yes"/,
    );
    for (const bad of [0, -5, 1.5, Number.NaN]) {
      assert.throws(
        () => new LLMCostInstrumentation({ enabled: false, messageContentMaxLength: bad }),
        /otel-llm-cost: messageContentMaxLength must be a positive whole number/,
      );
    }
  });
});
