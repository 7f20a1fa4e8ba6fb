/**
 * `costFetch(fetch?)`: a `fetch` to hand to any client that takes one (the Vercel AI SDK's
 * `createOpenAI({ fetch: costFetch() })`, OpenAI-compatible clients), recording the provider
 * requests it sends like the SDK hooks do. It is a free function, made before or after the
 * instrumentation: each request uses the most recently enabled `LLMCostInstrumentation`, and
 * passes through unrecorded while none is enabled. That list is this module's only state,
 * bounded by the number of instances (as `withBudget`'s).
 */
import { validateCostFetchArguments } from '../options/validate.js';
import type { FetchFunction, FetchRecorder } from './recorder.js';

export interface CostFetchOptions {
  /**
   * Base URLs (as given to the client: `http://localhost:8080/v1`) whose Chat Completions,
   * Responses, Completions and Messages requests are recorded, besides the providers' own
   * hosts and the instrumentation's `fetchBaseURLs`.
   */
  readonly baseURLs?: readonly string[];
}

const enabledRecorders: FetchRecorder[] = [];

/** @internal An instrumentation was enabled (true) or disabled (false). */
export function useFetchRecorder(recorder: FetchRecorder, enabled: boolean): void {
  const index = enabledRecorders.indexOf(recorder);
  if (index >= 0) enabledRecorders.splice(index, 1);
  if (enabled) enabledRecorders.push(recorder);
}

/**
 * Wraps `fetch` (default: the global `fetch` at the time of each request) so that provider
 * requests sent through it are recorded: span, metrics, `onCost` and budgets, as for the
 * SDKs. The caller receives exactly what `fetch` returns, its body read as it passes.
 */
export function costFetch(fetch?: FetchFunction, options?: CostFetchOptions): FetchFunction {
  validateCostFetchArguments(fetch, options);
  const baseURLs = [...(options?.baseURLs ?? [])];
  return function recordedFetch(input, init) {
    const inner: FetchFunction = fetch ?? globalThis.fetch;
    const recorder = enabledRecorders.at(-1);
    if (!recorder) return inner(input, init);
    return recorder.fetch({ inner, ownRuntimeFetch: fetch === undefined, baseURLs }, input, init);
  };
}
