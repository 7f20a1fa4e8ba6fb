import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { KeyedBudgetOptions } from './budget/watcher.js';
import type { BudgetOptions } from './budget/budget.js';
import type { BudgetStore } from './budget/store.js';
import type { CostRecord } from './core/model.js';
import type { PriceOverrides } from './pricing/overrides.js';
import type { PriceUpdateOptions } from './pricing/price-updates.js';
import type { EstimatorConstantOverrides } from './core/fitted-constants.js';
import type { ProviderCountLimits } from './core/provider-count.js';

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
   * source), for services that bill their own users. It may return a promise, which is
   * awaited (a flush or shutdown waits for it). Errors it throws or rejects with are
   * logged through `diag` and never reach the request.
   */
  onCost?: (record: CostRecord) => unknown;
  /**
   * A budget every request is charged to, with no code around the calls (in addition to
   * any `withBudget` scope). Named `default` unless given a name.
   */
  defaultBudget?: BudgetOptions;
  /**
   * One budget per key read from the active context or baggage (a tenant, a user), so a
   * service caps each of its own customers: `{ baggageKey: 'tenant.id', maxUsd: 5, window: 'day' }`.
   */
  keyedBudget?: KeyedBudgetOptions;
  /** Where named budgets keep their spent amounts. Default: in this process. */
  budgetStore?: BudgetStore;
  /**
   * `@anthropic-ai/sdk` 0.134 and later writes its own span for each Messages request, with
   * the same token counts as ours. `'suppress'` (default): that span is not recorded for the
   * requests this package records (its trace context still propagates); `'keep'`: it is left
   * alone, and a backend that sums `gen_ai.usage.*` over all spans counts those tokens twice.
   */
  anthropicNativeSpans?: 'suppress' | 'keep';
  /**
   * Your own prices, in USD per million tokens, by model id as the request or response
   * names it; used before the bundled price data, for fine-tunes, private deployments,
   * negotiated rates, and models the data does not know (which are otherwise `unpriced`):
   * `{ 'ft:gpt-4o-mini:acme::abc123': { inputPerMTok: 0.3, outputPerMTok: 1.2 } }`.
   * Also per service tier (`{ 'gpt-5': { tiers: { priority: { inputPerMTok: 2.5, outputPerMTok: 20 } } } }`)
   * and per server-side tool call (`{ 'gpt-5': { toolCallUsd: { code_interpreter: 0.03 } } }`).
   * Spans priced this way carry `llm_cost.cost.price_source = override`. See docs/pricing.md.
   */
  priceOverrides?: PriceOverrides;
  /**
   * Opt-in: fetch genai-prices' published price data at start and every `intervalHours`
   * (default 24), so new models are priced without a new release of this package. Never
   * delays a request; a failed fetch keeps the last good data and logs one `diag` line;
   * `cacheFile` keeps the last good data across restarts. Spans say which data priced
   * them (`llm_cost.cost.price_data`). `{}` uses genai-prices' own URL.
   */
  priceUpdates?: PriceUpdateOptions;
  /**
   * Record the messages sent and received, as the conventions' opt-in attributes
   * `gen_ai.system_instructions`, `gen_ai.input.messages` and `gen_ai.output.messages`
   * (JSON). Off by default: prompts and answers often hold personal data. When unset,
   * `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true` turns it on.
   */
  captureMessageContent?: boolean;
  /**
   * The most characters of JSON each content attribute holds (default 16384); longer
   * content is cut, kept valid JSON, and named in `llm_cost.content.truncated`.
   */
  messageContentMaxLength?: number;
  /**
   * `'provider'`: when a request's usage never arrives (a stream broken, cancelled or cut),
   * count its input and the output received through the provider's own free counting
   * endpoint (Anthropic `messages.countTokens`, OpenAI `responses.inputTokens.count`), with
   * the same client and credentials, after the request ended. Bounded by a timeout and by
   * caps on counts in flight and per minute (`providerCountLimits`); on any failure the
   * local estimate stands. Values stay `estimated`, with `llm_cost.estimate.method` =
   * `provider_count` or `local`. Default `'off'`: nothing is sent beyond your own requests.
   */
  exactCounting?: 'provider' | 'off';
  /** Bounds of `exactCounting: 'provider'`. Default: 5 s timeout, 4 in flight, 60 per minute. */
  providerCountLimits?: Partial<ProviderCountLimits>;
  /**
   * Overrides of the estimators' fitted constants, by name (docs/accuracy.md lists them).
   * For measuring the estimators (`npm run accuracy -- <file> --by-source` refits them per
   * source); not needed in normal use.
   */
  estimatorConstants?: EstimatorConstantOverrides;
  /**
   * Opt-in: replace `globalThis.fetch` with a wrapper that records the provider requests sent
   * through it (OpenAI Chat Completions, Responses and Completions, Anthropic Messages, to the
   * providers' own hosts and `fetchBaseURLs`), for apps that cannot hand `costFetch()` to their
   * client. Requests of the hooked `openai` and `@anthropic-ai/sdk` clients are recorded once.
   * Default `false`.
   */
  instrumentGlobalFetch?: boolean;
  /**
   * Base URLs, as given to a client (`http://localhost:8080/v1`), whose API requests through
   * `costFetch` and the instrumented global `fetch` are recorded, besides `api.openai.com` and
   * `api.anthropic.com`.
   */
  fetchBaseURLs?: readonly string[];
}

export const DEFAULT_ABANDONED_TIMEOUT_MS = 300_000;
