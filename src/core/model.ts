/**
 * The neutral vocabulary of the core: what a request is, how its stream ended, and where
 * each number came from. Nothing in here knows a particular SDK.
 */
import type { Attributes } from '@opentelemetry/api';

/** Where a number came from: the provider said so, or this package counted it locally. */
export type UsageSource = 'reported' | 'estimated';

/**
 * `unknown`: not reported, and our own counting failed as well (the rough fallback
 * included); the value is 0 and no USD figure rests on it (the cost is `unpriced`).
 */
export type UsageValueSource = UsageSource | 'unknown';

export interface UsageValue {
  readonly value: number;
  readonly source: UsageValueSource;
}

/** `unpriced`: the price data has no entry for the model, so no USD figure is given at all. */
export type CostSource = UsageSource | 'unpriced';

/**
 * How a request ended, decided exactly once.
 * - completed: the provider finished the response (its terminal event arrived);
 * - broken: the consumer stopped reading (`break`, `return()`, a readable stream cancelled);
 * - cancelled: an abort signal, `stream.controller.abort()`, a helper's `.abort()`;
 * - error: HTTP or API error, a dropped connection, an error event;
 * - truncated: the stream ended cleanly but without its terminal event;
 * - abandoned: the response was never consumed (idle timeout or garbage collection);
 * - budget_exceeded: a budget stopped the request.
 */
export type StreamOutcome = 'completed' | 'broken' | 'cancelled' | 'error' | 'truncated' | 'abandoned' | 'budget_exceeded';

export type Operation = 'chat' | 'text_completion' | 'embeddings';

/**
 * Token counts as the provider reported them, already in the conventions' sense:
 * `input` includes cache reads and cache writes, `output` includes reasoning.
 */
export interface ReportedUsage {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheCreation?: number;
  /** Cache writes with the 1-hour lifetime (Anthropic `ephemeral_1h_input_tokens`), inside `cacheCreation`. */
  cacheCreation1h?: number;
  reasoning?: number;
}

/**
 * Server-side tools a provider runs and bills on top of the tokens. Provider names map
 * onto these: Anthropic `web_search`, `web_fetch`, `code_execution` (and its bash and
 * text-editor variants); OpenAI `web_search_call`, `file_search_call`, `code_interpreter_call`.
 */
export type ServerTool = 'web_search' | 'web_fetch' | 'file_search' | 'code_interpreter' | 'code_execution';

export const SERVER_TOOLS: readonly ServerTool[] = ['web_search', 'web_fetch', 'file_search', 'code_interpreter', 'code_execution'];

/** Calls of each server-side tool in one response (code interpreter: containers). */
export type ServerToolCalls = Partial<Record<ServerTool, number>>;

/** What the provider adapter reads from a request before it is sent. */
export interface RequestDescription {
  readonly provider: string;
  readonly operation: Operation;
  readonly model: string | undefined;
  readonly stream: boolean;
  /** The `service_tier` the request asks for, as written (priced when the response does not say which it served). */
  readonly serviceTier?: string;
  /** Set on the span when it starts, with the above: what a sampler may look at (the server's address and port). Shared by requests: never changed. */
  readonly attributes: Attributes;
  /**
   * The request's parameters (sampling settings, limits, stop sequences), read from the body
   * when the span starts, after `create()` has returned (`deferred-span.ts`): nothing here
   * runs while the caller waits.
   */
  readonly parameters?: () => Attributes;
}

/**
 * How an estimated input relates to what the provider bills: `lower` when the provider
 * adds input the client never sees (server-side tools, compaction items, redacted
 * thinking, stored context this process did not see), `upper` when it only removes some
 * (server-side context management), `neither` when it may do both.
 */
export type InputBound = 'lower' | 'upper' | 'neither';

/** How estimated values were obtained: counted locally, or by the provider's counting endpoint. */
export type EstimateMethod = 'local' | 'provider_count';

export interface ResolvedUsage {
  readonly input: UsageValue;
  /** Set when the input is estimated and the provider adds or removes input the request does not show. */
  readonly inputBound?: InputBound;
  /** Set when any value was estimated: how. */
  readonly estimateMethod?: EstimateMethod;
  /** Set when a learned input offset (reported − counted, per model and request kind) was added to an estimated input. */
  readonly inputOffset?: number;
  readonly output: UsageValue;
  readonly cacheRead?: UsageValue;
  readonly cacheCreation?: UsageValue;
  readonly reasoning?: UsageValue;
  /** Cache writes with the 1-hour lifetime, inside `cacheCreation` (the rest are 5-minute writes). */
  readonly cacheCreation1h?: UsageValue;
  /**
   * Server-side tool calls: `reported` when the response completed (the provider's usage
   * or its final list of items), `estimated` when counted from a stream cut short.
   */
  readonly toolCalls?: Readonly<Partial<Record<ServerTool, UsageValue>>>;
  /** Set when output was estimated: the factor applied to the locally counted text (fitted or self-calibrated). */
  readonly calibration?: number;
}

/** `override`: the `priceOverrides` option; `genai-prices`: the `@pydantic/genai-prices` data. */
export type PriceSource = 'override' | 'genai-prices';

/**
 * How the token prices were chosen for the tier served (docs/pricing.md):
 * - list: the prices as they are (the standard tier);
 * - tier_override: the `priceOverrides` option's prices for that tier;
 * - tier_multiplier: standard prices times a factor the provider documents for every model of the tier (flex, batch);
 * - standard_tier: nothing prices the tier served, so standard prices stand in, and the cost is `estimated`.
 */
export type PriceBasis = 'list' | 'tier_override' | 'tier_multiplier' | 'standard_tier';

/** Where a tool's per-call price came from: the price data, the package's own tool-fee table, or the overrides. */
export type ToolPriceSource = 'genai-prices' | 'tool-fees' | 'override';

/** The fee of one server-side tool in one request. */
export interface ToolFee {
  readonly tool: ServerTool;
  readonly calls: number;
  /** Absent when nothing prices this tool (then the cost leaves its fee out, and is `estimated`). */
  readonly usd?: number;
  readonly priceSource?: ToolPriceSource;
}

export interface Priced {
  readonly source: UsageSource;
  /** Tokens and tool fees: `inputUsd + outputUsd + toolUsd`. */
  readonly totalUsd: number;
  readonly inputUsd: number;
  readonly outputUsd: number;
  /** Server-side tool fees (0 when none were called). */
  readonly toolUsd: number;
  /** One entry per server-side tool called. */
  readonly tools: readonly ToolFee[];
  /** The model id the request was priced as: the price data's id, or the override's key. */
  readonly priceModel: string;
  /** Where the unit prices came from: the `priceOverrides` option or `@pydantic/genai-prices`. */
  readonly priceSource: PriceSource;
  /** The tier the tokens were priced for (`standard`, `flex`, `batch`, `priority`, ...). */
  readonly serviceTier: string;
  readonly priceBasis: PriceBasis;
  /** Which data priced it: `genai-prices@0.1.8`, `fetched 2026-12-07T06:00:00.000Z`, or `override`. */
  readonly priceData: string;
}

export type PricedCost = Priced | { readonly source: 'unpriced' };

/** What the costing step asks the pricer (src/pricing/price-request.ts) to price. */
export interface PricingInput {
  /** `gen_ai.provider.name`. */
  readonly provider: string;
  /** Model ids to price as, in order: the response's, then the request's. */
  readonly models: readonly (string | undefined)[];
  readonly usage: ResolvedUsage;
  /** The request's `service_tier`, as written. */
  readonly requestedServiceTier?: string;
  /** The response's `service_tier`, as written. */
  readonly servedServiceTier?: string;
  /** When the request was made (prices change on dated boundaries). Default: now. */
  readonly at?: Date;
}

/** The final record of one request, handed to `onCost` and written to the span and metrics. */
export interface CostRecord {
  readonly provider: string;
  readonly operation: Operation;
  readonly requestModel: string | undefined;
  readonly responseModel: string | undefined;
  readonly responseId: string | undefined;
  readonly stream: boolean;
  readonly outcome: StreamOutcome;
  /** Set when the outcome is `error`: the error's class name. */
  readonly errorType: string | undefined;
  readonly usage: ResolvedUsage;
  readonly cost: PricedCost;
  /** The service tier the request asked for, in the provider's words (`auto`, `flex`, `standard_only`, ...). */
  readonly requestedServiceTier?: string;
  /** The service tier the provider says it served, in its words (`default`, `flex`, `priority`, `standard`, ...). */
  readonly servedServiceTier?: string;
  readonly finishReasons: readonly string[];
  readonly chunks: number;
  /** HTTP requests sent: 1 plus the SDK's retries; absent when they could not be seen. */
  readonly attempts?: number;
  readonly durationMs: number;
  readonly timeToFirstChunkMs: number | undefined;
  readonly traceId: string;
  readonly spanId: string;
  /**
   * Set when an earlier request already charged part of this response (a resumed stream):
   * the metrics count only what exceeds it, and billing from `onCost` should do the same.
   */
  readonly alreadyCharged?: Charge;
  /** Set when the request ran under a budget. */
  readonly budget?: BudgetSettlement;
}

/** What a request did to the budgets it was charged to, once its final cost was settled. */
export interface BudgetSettlement {
  /** The budget that stopped the request, else the innermost one. */
  readonly name: string;
  readonly limitUsd: number;
  /** That budget's total after this request. */
  readonly spentUsd: number;
  /** Every budget charged, innermost first. */
  readonly names: readonly string[];
  readonly exceededReason: 'preflight' | 'midstream' | undefined;
  /** Set when a budget's fallback sent the request to another model: the model asked for. */
  readonly requestedModel: string | undefined;
  /** Set when a budget lowered the request's output-token limit. */
  readonly clampedMaxTokens: number | undefined;
}

/** What one response put on the spend and token metrics, per token type. */
export interface Charge {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly inputUsd: number;
  readonly outputUsd: number;
  /** Server-side tool fees (absent: none). */
  readonly toolUsd?: number;
}
