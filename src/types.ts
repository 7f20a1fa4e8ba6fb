import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { CostRecord } from './core/model.js';

export interface LLMCostInstrumentationConfig extends InstrumentationConfig {
  /**
   * Add `stream_options.include_usage` to OpenAI Chat streams so the provider reports
   * usage, and hide the extra usage-only chunk from code that did not ask for it.
   * Default `true`.
   */
  injectStreamUsage?: boolean;
  /**
   * A response nobody reads (a stream never iterated, a body never parsed) ends as
   * `abandoned` after this many milliseconds without activity. Default 300000 (5 min).
   */
  abandonedTimeoutMs?: number;
  /**
   * Called once per request with its final record (tokens and cost, each with its
   * source), for services that bill their own users. Errors it throws are logged
   * through `diag` and never reach the request.
   */
  onCost?: (record: CostRecord) => void;
}

export const DEFAULT_ABANDONED_TIMEOUT_MS = 300_000;
