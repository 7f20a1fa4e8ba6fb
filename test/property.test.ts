/**
 * Property-based: random outputs, random cut points and random ways to end, through the
 * real SDKs. Every request ends exactly one span; token counts are never negative; a
 * reported figure is never replaced by an estimate.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import type { EmulatorScript } from '../src/emulator/index.js';
import { useHarness } from './helpers/harness.js';
import { attr, script } from './helpers/spans.js';

const harness = useHarness({ abandonedTimeoutMs: 5000 });
const { otel } = harness;

const ending = fc.constantFrom('read-all', 'break', 'abort', 'drop', 'error-event', 'no-terminal');

it('every span ends once, counts are never negative, reported figures are kept', async () => {
  const openai = harness.openai();
  const anthropic = harness.anthropic();
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('openai', 'anthropic'),
      fc.integer({ min: 0, max: 60 }),
      fc.integer({ min: 0, max: 70 }),
      ending,
      async (provider, outputTokens, cut, how) => {
        otel.reset();
        const s: EmulatorScript = { outputTokens };
        if (how === 'drop') s.dropAfterChunks = cut;
        if (how === 'error-event') s.errorAfterChunks = cut;
        if (how === 'no-terminal') s.omitTerminal = true;
        const controller = new AbortController();
        const options = { ...script(s), signal: controller.signal };
        const seen = harness.emulator.requests.length;
        try {
          const stream =
            provider === 'openai'
              ? await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true }, options)
              : await anthropic.messages.create(
                  { model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], stream: true },
                  options,
                );
          let n = 0;
          for await (const _chunk of stream as AsyncIterable<unknown>) {
            if (++n < cut) continue;
            if (how === 'break') break;
            if (how === 'abort') controller.abort();
          }
        } catch {
          // the SDK's own errors
        }
        const spans = await otel.settle(1);
        await otel.instrumentation.flush();
        assert.equal(otel.spans().length, 1, 'exactly one span');
        const span = spans[0]!;
        const input = attr(span, 'gen_ai.usage.input_tokens') as number;
        const output = attr(span, 'gen_ai.usage.output_tokens') as number;
        assert.ok(Number.isInteger(input) && input >= 0, `input ${input}`);
        assert.ok(Number.isInteger(output) && output >= 0, `output ${output}`);
        const log = harness.emulator.requests[seen]!;
        if (attr(span, 'llm_cost.stream.outcome') === 'completed' && log.completed) {
          // The provider reported its figures: they stand, exactly.
          assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'reported');
          assert.equal(output, log.outputTokensSent);
        }
        if (attr(span, 'llm_cost.usage.output_tokens.source') === 'reported') assert.equal(output, log.outputTokensSent);
      },
    ),
    { numRuns: 40, seed: 8 },
  );
});
