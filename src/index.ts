export { LLMCostInstrumentation } from './instrumentation.js';
export { costFetch, type CostFetchOptions } from './fetch/cost-fetch.js';
export type { LLMCostInstrumentationConfig } from './types.js';
export type {
  CostRecord,
  CostSource,
  Operation,
  PriceBasis,
  Priced,
  PricedCost,
  PriceSource,
  ServerTool,
  ToolFee,
  ToolPriceSource,
  ResolvedUsage,
  StreamOutcome,
  UsageSource,
  UsageValue,
  UsageValueSource,
} from './core/model.js';
export type { BudgetSettlement } from './core/model.js';
export type { PriceOverride, PriceOverrides, TokenPrices } from './pricing/overrides.js';
export type { PriceUpdateOptions } from './pricing/price-updates.js';
export {
  Budget,
  BudgetExceededError,
  BudgetStoreUnavailableError,
  getBudget,
  InMemoryBudgetStore,
  withBudget,
  type BudgetExceededReason,
  type BudgetFallback,
  type BudgetKey,
  type BudgetOptions,
  type BudgetStore,
  type BudgetWindow,
  type KeyedBudgetOptions,
  type ModelSpend,
  type Reservation,
  type StoppedRequest,
} from './budget/index.js';
export {
  RedisBudgetStore,
  type RedisBudgetStoreOptions,
  type RedisBudgetStoreStats,
  type RedisFailMode,
} from './budget/redis-store.js';
export type { RedisCommandClient } from './budget/redis-client.js';
export * as semconv from './semconv.js';
