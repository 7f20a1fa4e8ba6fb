/**
 * Marks the code that runs for a request something already records, so that a lower layer
 * the same request passes through does not record it again: the hooked SDK method calls
 * `fetch`, which may be `costFetch` or the instrumented global `fetch`; a `costFetch` may
 * wrap another. The outermost recorder marks the call; everything it starts, however
 * asynchronously (the SDKs call `fetch` after several awaits), sees the mark.
 *
 * The key and the fallback storage are global symbols, so two copies of this package agree.
 */
import type { Context } from '@opentelemetry/api';
import { ScopedValue } from './scoped-value.js';

const recorded = new ScopedValue<true>(Symbol.for('otel-llm-cost.recorded-request'), Symbol.for('otel-llm-cost.recorded-request.storage'));

/** Runs `fn` in `requestContext` as part of a request that is being recorded. */
export function runRecorded<T>(requestContext: Context, fn: () => T): T {
  return recorded.run(true, fn, requestContext);
}

/** Whether the running code belongs to a request something already records. */
export function insideRecordedRequest(): boolean {
  return recorded.get() === true;
}
