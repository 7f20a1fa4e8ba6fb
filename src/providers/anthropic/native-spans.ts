/**
 * `@anthropic-ai/sdk` 0.134 and later writes its own span for each Messages request
 * (`anthropic.messages.create`, scope `com.anthropic.sdk.typescript`) whenever a tracer
 * provider is registered, with `gen_ai.usage.*` on it. Beside our span that counts every
 * request's tokens twice in a backend that sums them.
 *
 * With `anthropicNativeSpans: 'suppress'` (the default) the client's tracer is wrapped the
 * first time we see the client: for `anthropic.messages.create` it hands back a span that
 * records nothing but carries the current span context. The SDK then still propagates
 * `traceparent` (pointing at our span) and nests HTTP spans under it, and its other spans
 * (batches, count_tokens, the tool runner) are untouched. With `'keep'` the tracer is used as is.
 * The mode is read on every span start, so `setConfig()` and `disable()` apply to clients
 * seen before.
 */
import { INVALID_SPAN_CONTEXT, context, trace, type Context, type Span, type SpanOptions, type Tracer } from '@opentelemetry/api';

/** The span names of the requests this package records itself. */
const RECORDED_SPAN_NAMES: ReadonlySet<string> = new Set(['anthropic.messages.create']);
const QUIETED = Symbol.for('otel-llm-cost.quieted-anthropic-tracer');

interface TracingClient {
  _tracer?: unknown;
}

/** What happens to the SDK's own spans of the requests this package records. */
export type NativeSpansMode = 'suppress' | 'keep';

/** Wraps the tracer of the client behind `resource` (a Messages resource), once per client; `mode` is read at every span start. */
export function quietNativeSpans(resource: unknown, mode: () => NativeSpansMode): void {
  if (typeof resource !== 'object' || resource === null) return;
  const client = (resource as { _client?: unknown })._client;
  if (typeof client !== 'object' || client === null) return;
  const tracer = (client as TracingClient)._tracer;
  if (!isTracer(tracer) || (tracer as unknown as Partial<Record<symbol, unknown>>)[QUIETED] === true) return;
  const property = Object.getOwnPropertyDescriptor(client, '_tracer');
  if (!property?.writable) return;
  (client as TracingClient)._tracer = quietedTracer(tracer, mode);
}

function quietedTracer(inner: Tracer, mode: () => NativeSpansMode): Tracer {
  const startSpan = (name: string, options?: SpanOptions, parent?: Context): Span => {
    if (RECORDED_SPAN_NAMES.has(name) && mode() === 'suppress') {
      return trace.wrapSpanContext(trace.getSpanContext(parent ?? context.active()) ?? INVALID_SPAN_CONTEXT);
    }
    return inner.startSpan(name, options, parent);
  };
  const quieted = {
    startSpan,
    startActiveSpan: inner.startActiveSpan.bind(inner),
  } as Tracer;
  Object.defineProperty(quieted, QUIETED, { value: true, enumerable: false });
  return quieted;
}

function isTracer(value: unknown): value is Tracer {
  return (
    typeof value === 'object' && value !== null && typeof (value as Tracer).startSpan === 'function' && typeof (value as Tracer).startActiveSpan === 'function'
  );
}
