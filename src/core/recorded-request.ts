/**
 * Marks the code that runs for a request something already records, so that a lower layer
 * the same request passes through does not record it again: the hooked SDK method calls
 * `fetch`, which may be `costFetch` or the instrumented global `fetch`; a `costFetch` may
 * wrap another. The outermost recorder marks the call; everything it starts, however
 * asynchronously (the SDKs call `fetch` after several awaits), sees the mark.
 *
 * An `AsyncLocalStorage` rather than an OpenTelemetry context key: it works without a
 * context manager (metrics-only setups register none). Shared through the global symbol
 * registry, so two copies of this package agree.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const STORAGE = Symbol.for('otel-llm-cost.recorded-request');

function storage(): AsyncLocalStorage<true> {
  const registry = globalThis as { [STORAGE]?: AsyncLocalStorage<true> };
  registry[STORAGE] ??= new AsyncLocalStorage<true>();
  return registry[STORAGE];
}

/** Runs `fn` as part of a request that is being recorded. */
export function runRecorded<T>(fn: () => T): T {
  return storage().run(true, fn);
}

/** Whether the running code belongs to a request something already records. */
export function insideRecordedRequest(): boolean {
  return storage().getStore() === true;
}
