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
export type StreamOutcome =
  | 'completed'
  | 'broken'
  | 'cancelled'
  | 'error'
  | 'truncated'
  | 'abandoned'
  | 'budget_exceeded';

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
  reasoning?: number;
}

/** What the provider adapter reads from a request before it is sent. */
export interface RequestDescription {
  readonly provider: string;
  readonly operation: Operation;
  readonly model: string | undefined;
  readonly stream: boolean;
  /** Request parameters and server attributes, set on the span when it starts. */
  readonly attributes: Attributes;
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
  /** Set when output was estimated: the factor applied to the locally counted text (fitted or self-calibrated). */
  readonly calibration?: number;
}

/** `override`: the `priceOverrides` option; `genai-prices`: the `@pydantic/genai-prices` data. */
export type PriceSource = 'override' | 'genai-prices';

export type PricedCost =
  | {
      readonly source: UsageSource;
      readonly totalUsd: number;
      readonly inputUsd: number;
      readonly outputUsd: number;
      /** The model id the request was priced as: the price data's id, or the override's key. */
      readonly priceModel: string;
      /** Where the unit prices came from: the `priceOverrides` option or `@pydantic/genai-prices`. */
      readonly priceSource: PriceSource;
    }
  | { readonly source: 'unpriced' };

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
}
