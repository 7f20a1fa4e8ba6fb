export { LLMCostInstrumentation } from './instrumentation.js';
export type { LLMCostInstrumentationConfig } from './types.js';
export type {
  CostRecord,
  CostSource,
  Operation,
  PricedCost,
  ResolvedUsage,
  StreamOutcome,
  UsageSource,
  UsageValue,
} from './core/model.js';
export * as semconv from './semconv.js';
