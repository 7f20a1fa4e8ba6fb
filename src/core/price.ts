/**
 * USD prices from `@pydantic/genai-prices` (never a hand-kept table). A model the data
 * does not know is `unpriced`: no USD figure at all rather than a fake zero.
 */
import { calcPrice } from '@pydantic/genai-prices';
import type { PricedCost, ResolvedUsage } from './model.js';
import { logInternalError } from './safely.js';

/** Provider names (`gen_ai.provider.name`) that genai-prices files under another id. */
const PRICE_PROVIDER_IDS: Record<string, string> = {
  'azure.ai.openai': 'azure',
  'aws.bedrock': 'aws',
  'gcp.vertex_ai': 'google',
};

export function priceUsage(provider: string, models: readonly (string | undefined)[], usage: ResolvedUsage): PricedCost {
  const priceable = {
    input_tokens: usage.input.value,
    output_tokens: usage.output.value,
    cache_read_tokens: usage.cacheRead?.value,
    cache_write_tokens: usage.cacheCreation?.value,
  };
  const providerId = PRICE_PROVIDER_IDS[provider] ?? provider;
  for (const model of models) {
    if (!model) continue;
    let result: ReturnType<typeof calcPrice>;
    try {
      result = calcPrice(priceable, model, { providerId });
    } catch (error) {
      logInternalError('price lookup', error);
      continue;
    }
    if (!result) continue;
    const quantities = [usage.input, usage.output, usage.cacheRead, usage.cacheCreation];
    const allReported = quantities.every((q) => q === undefined || q.source === 'reported');
    return {
      source: allReported ? 'reported' : 'estimated',
      totalUsd: result.total_price,
      inputUsd: result.input_price,
      outputUsd: result.output_price,
      priceModel: result.model.id,
    };
  }
  return { source: 'unpriced' };
}
