/**
 * The request's span starts after `create()` has returned (core/deferred-span.ts), yet it is
 * the span it would have been: its start time is the call's, a span started inside the SDK
 * call (an HTTP client instrumentation's, here one the test's `fetch` starts) is its child,
 * and it carries the request's attributes. Real SDKs over HTTP against the emulator.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, trace, type Span } from '@opentelemetry/api';
import { DeferredSpan } from '../src/core/deferred-span.js';
import { useHarness } from './helpers/harness.js';

const h = useHarness();

/** A `fetch` that starts a span in the active context, as an HTTP instrumentation would. */
function fetchWithChildSpan(children: Span[]): typeof fetch {
  return (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const span = trace.getTracer('test-http').startSpan('HTTP POST', undefined, context.active());
    children.push(span);
    try {
      return await fetch(input, init);
    } finally {
      span.end();
    }
  }) as typeof fetch;
}

describe('a span started after create() returned', () => {
  for (const provider of ['openai', 'anthropic'] as const) {
    it(`${provider}: starts at the call, parents the HTTP span, carries the request's attributes`, async () => {
      const children: Span[] = [];
      const before = Date.now();
      let returned = 0;
      if (provider === 'openai') {
        const client = h.openai({ fetch: fetchWithChildSpan(children) });
        const pending = client.chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'Hi' }],
          stream: true,
          max_completion_tokens: 64,
        });
        returned = Date.now();
        for await (const _chunk of await pending);
      } else {
        const client = h.anthropic({ fetch: fetchWithChildSpan(children) });
        const pending = client.messages.create({
          model: 'claude-haiku-4-5',
          max_tokens: 64,
          messages: [{ role: 'user', content: 'Hi' }],
          stream: true,
        });
        returned = Date.now();
        for await (const _event of await pending);
      }
      const [span] = await h.otel.settle();
      assert.ok(span);
      const startedAt = span.startTime[0] * 1000 + span.startTime[1] / 1e6;
      assert.ok(startedAt >= before - 1 && startedAt <= returned + 1, `span start ${startedAt} within the call [${before}, ${returned}]`);
      assert.equal(span.attributes['gen_ai.request.max_tokens'], 64);
      assert.equal(span.attributes['gen_ai.request.stream'], true);
      assert.equal(children.length, 1);
      const child = h.otel.allSpans().find((s) => s.name === 'HTTP POST');
      assert.ok(child, 'the HTTP span was exported');
      const parent =
        (child as { parentSpanContext?: { spanId: string }; parentSpanId?: string }).parentSpanContext?.spanId ??
        (child as { parentSpanId?: string }).parentSpanId;
      assert.equal(parent, span.spanContext().spanId, 'the HTTP span is a child of the request span');
      assert.equal(child.spanContext().traceId, span.spanContext().traceId);
    });
  }
});

describe('a span whose tracer fails when it starts', () => {
  it('becomes a non-recording span; nothing it is asked throws', () => {
    const failing = {
      spanTracer: () => {
        throw new Error('tracer provider is gone');
      },
    };
    const span = new DeferredSpan(
      failing,
      { provider: 'openai', operation: 'chat', model: 'gpt-4o-mini', stream: true, attributes: {} },
      Date.now(),
      context.active(),
    );
    assert.equal(span.isRecording(), false);
    span.setAttribute('x', 1).setAttributes({ y: 2 }).addEvent('e').setStatus({ code: 2 }).updateName('n');
    span.recordException(new Error('boom'));
    span.end();
    assert.equal(span.spanContext().traceFlags, 0);
  });
});
