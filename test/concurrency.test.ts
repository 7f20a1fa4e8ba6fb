/**
 * 1,000 concurrent streams with mixed outcomes in one process: each span has the right
 * parent and its own numbers, and the spend counter equals the sum of the spans' costs.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { trace } from '@opentelemetry/api';
import { sumPoints } from './helpers/otel.js';
import { useHarness } from './helpers/harness.js';
import { attr, script } from './helpers/spans.js';

const harness = useHarness();
const { otel } = harness;

const STREAMS = 1000;
type Plan = 'completed' | 'broken' | 'cancelled' | 'error';
const plans: Plan[] = ['completed', 'broken', 'cancelled', 'error'];

it('1,000 concurrent streams: right parents, own numbers, spend = sum of span costs', async () => {
  const openai = harness.openai();
  const anthropic = harness.anthropic();
  const tracer = trace.getTracer('concurrency-test');
  /** traceId → what that request expects. */
  const expected = new Map<string, { parentSpanId: string; plan: Plan; outputTokens: number }>();

  const run = async (i: number): Promise<void> => {
    const plan = plans[i % plans.length]!;
    const outputTokens = 3 + (i % 5);
    const scripted = script({ outputTokens, ...(plan === 'error' ? { errorAfterChunks: 1 } : {}), ...(plan === 'completed' ? {} : { chunkDelayMs: 1 }) });
    await tracer.startActiveSpan(`parent-${i}`, { root: true }, async (parent) => {
      const { traceId, spanId } = parent.spanContext();
      expected.set(traceId, { parentSpanId: spanId, plan, outputTokens });
      const controller = new AbortController();
      const options = { ...scripted, signal: controller.signal };
      const stream =
        i % 2 === 0
          ? await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `q${i}` }], stream: true }, options)
          : await anthropic.messages.create(
              { model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: `q${i}` }], stream: true },
              options,
            );
      try {
        for await (const _chunk of stream as AsyncIterable<unknown>) {
          if (plan === 'broken') break;
          if (plan === 'cancelled') controller.abort();
        }
      } catch {
        // the SDK's own error (mid-stream error event, or the abort): not ours to judge here
      } finally {
        parent.end();
      }
    });
  };
  await Promise.all(Array.from({ length: STREAMS }, (_, i) => run(i)));

  const spans = await otel.settle(STREAMS);
  assert.equal(spans.length, STREAMS, 'one span per request');
  let spanCostSum = 0;
  for (const span of spans) {
    const want = expected.get(span.spanContext().traceId);
    assert.ok(want, 'every span belongs to one request');
    const parent = span as { parentSpanContext?: { spanId: string }; parentSpanId?: string };
    assert.equal(parent.parentSpanContext?.spanId ?? parent.parentSpanId, want.parentSpanId, 'parent');
    assert.equal(attr(span, 'llm_cost.stream.outcome'), want.plan);
    const output = attr(span, 'gen_ai.usage.output_tokens') as number;
    if (want.plan === 'completed') {
      assert.equal(output, want.outputTokens, 'its own output tokens');
      assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'reported');
    } else {
      // Estimated from what arrived: Anthropic's estimate carries its fitted factor (1.18) and
      // per-response overhead (3 tokens), see docs/accuracy.md.
      assert.ok(output >= 0 && output <= Math.ceil(want.outputTokens * 1.2) + 3, `output ${output} for ${want.outputTokens}`);
    }
    spanCostSum += (attr(span, 'llm_cost.cost.usd') as number | undefined) ?? 0;
  }
  const spend = sumPoints(await otel.metricPoints('llm_cost.spend'));
  // Same additions in another order: equal up to floating-point rounding.
  assert.ok(Math.abs(spend - spanCostSum) <= 1e-12 * spanCostSum, `spend ${spend} vs spans ${spanCostSum}`);
  assert.ok(spanCostSum > 0);
});
