/** The span attributes of a request's cost: one function, so exporters write them all the same way. */
import type { Attributes } from '@opentelemetry/api';
import * as sc from '../semconv.js';
import { SERVER_TOOLS, type CostRecord } from '../core/model.js';

/**
 * Cost, tier, price-data and tool attributes of `record` (tokens and budgets are written
 * elsewhere). An unpriced record gets only `llm_cost.cost.source = unpriced` and what was
 * counted (tool calls, the tier served), never a USD figure.
 */
export function costAttributes(record: CostRecord): Attributes {
  const { cost, usage } = record;
  const attributes: Attributes = { [sc.ATTR_LLM_COST_SOURCE]: cost.source };
  if (usage.cacheCreation1h) attributes[sc.ATTR_LLM_COST_USAGE_CACHE_CREATION_1H_INPUT_TOKENS] = usage.cacheCreation1h.value;
  for (const tool of SERVER_TOOLS) {
    const calls = usage.toolCalls?.[tool];
    if (calls) attributes[sc.toolCallsAttribute(tool)] = calls.value;
  }
  // The conventions' name is OpenAI's; Anthropic's tier shows as `llm_cost.cost.service_tier` only.
  if (record.servedServiceTier !== undefined && record.provider !== 'anthropic') {
    attributes[sc.ATTR_OPENAI_RESPONSE_SERVICE_TIER] = record.servedServiceTier;
  }
  if (cost.source === 'unpriced') return attributes;
  attributes[sc.ATTR_LLM_COST_USD] = cost.totalUsd;
  attributes[sc.ATTR_LLM_COST_INPUT_USD] = cost.inputUsd;
  attributes[sc.ATTR_LLM_COST_OUTPUT_USD] = cost.outputUsd;
  attributes[sc.ATTR_LLM_COST_PRICE_MODEL] = cost.priceModel;
  attributes[sc.ATTR_LLM_COST_PRICE_SOURCE] = cost.priceSource;
  attributes[sc.ATTR_LLM_COST_SERVICE_TIER] = cost.serviceTier;
  attributes[sc.ATTR_LLM_COST_PRICE_BASIS] = cost.priceBasis;
  attributes[sc.ATTR_LLM_COST_PRICE_DATA] = cost.priceData;
  if (cost.tools.length > 0) {
    attributes[sc.ATTR_LLM_COST_TOOL_USD] = cost.toolUsd;
    const unpriced = cost.tools.filter((fee) => fee.usd === undefined).map((fee) => fee.tool);
    if (unpriced.length > 0) attributes[sc.ATTR_LLM_COST_UNPRICED_TOOLS] = unpriced;
  }
  return attributes;
}
