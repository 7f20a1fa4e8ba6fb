/**
 * USD prices: the user's own overrides first (fine-tunes, private deployments, negotiated
 * rates), then `@pydantic/genai-prices` (never a hand-kept table). A model neither knows
 * is `unpriced`: no USD figure at all rather than a fake zero.
 */
import { calcPrice } from '@pydantic/genai-prices';
import type { PricedCost, ResolvedUsage, UsageValue } from './model.js';
import { logInternalError } from './safely.js';

/** A price the user sets for one model, in USD per million tokens. */
export interface PriceOverride {
  /** Uncached input tokens. */
  inputPerMTok: number;
  /** Output tokens, reasoning included. */
  outputPerMTok: number;
  /** Cache-read input tokens. Default: `inputPerMTok`. */
  cacheReadPerMTok?: number;
  /** Cache-write (cache-creation) input tokens. Default: `inputPerMTok`. */
  cacheWritePerMTok?: number;
  /** Only for this provider (`gen_ai.provider.name`, e.g. `openai`, `azure.ai.openai`). Default: any. */
  provider?: string;
}

/** Overrides by model id, as the request or response names it (e.g. `ft:gpt-4o-mini:acme::abc123`). */
export type PriceOverrides = Readonly<Record<string, PriceOverride>>;

/** Provider names (`gen_ai.provider.name`) that genai-prices files under another id. */
const PRICE_PROVIDER_IDS: Record<string, string> = {
  'azure.ai.openai': 'azure',
  'aws.bedrock': 'aws',
  'gcp.vertex_ai': 'google',
  'gcp.gemini': 'google',
  'azure.ai.inference': 'azure',
  mistral_ai: 'mistral',
  x_ai: 'x-ai',
};

/**
 * Prices `usage` as the first of `models` (the response's model, then the request's) that an
 * override or the price data knows; overrides win over the data for every model.
 */
export function priceUsage(
  provider: string,
  models: readonly (string | undefined)[],
  usage: ResolvedUsage,
  overrides?: PriceOverrides,
): PricedCost {
  // A count that could not be had at all is not priced as zero.
  if (usage.input.source === 'unknown' || usage.output.source === 'unknown') return { source: 'unpriced' };
  if (overrides) {
    for (const model of models) {
      const override = model === undefined ? undefined : overrideFor(overrides, provider, model);
      if (model !== undefined && override) return priceWithOverride(model, override, usage);
    }
  }
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
    return {
      source: costSource(usage),
      totalUsd: result.total_price,
      inputUsd: result.input_price,
      outputUsd: result.output_price,
      priceModel: result.model.id,
      priceSource: 'genai-prices',
    };
  }
  return { source: 'unpriced' };
}

function overrideFor(overrides: PriceOverrides, provider: string, model: string): PriceOverride | undefined {
  if (!Object.prototype.hasOwnProperty.call(overrides, model)) return undefined;
  const override = overrides[model];
  if (!override || (override.provider !== undefined && override.provider !== provider)) return undefined;
  return override;
}

function priceWithOverride(model: string, price: PriceOverride, usage: ResolvedUsage): PricedCost {
  const cacheRead = usage.cacheRead?.value ?? 0;
  const cacheWrite = usage.cacheCreation?.value ?? 0;
  // `input` holds cache reads and writes (the conventions' sense); each is priced at its own rate.
  const uncached = Math.max(0, usage.input.value - cacheRead - cacheWrite);
  const inputUsd =
    (uncached * price.inputPerMTok +
      cacheRead * (price.cacheReadPerMTok ?? price.inputPerMTok) +
      cacheWrite * (price.cacheWritePerMTok ?? price.inputPerMTok)) /
    1_000_000;
  const outputUsd = (usage.output.value * price.outputPerMTok) / 1_000_000;
  return {
    source: costSource(usage),
    totalUsd: inputUsd + outputUsd,
    inputUsd,
    outputUsd,
    priceModel: model,
    priceSource: 'override',
  };
}

function costSource(usage: ResolvedUsage): 'reported' | 'estimated' {
  const quantities: (UsageValue | undefined)[] = [usage.input, usage.output, usage.cacheRead, usage.cacheCreation];
  return quantities.every((q) => q === undefined || q.source === 'reported') ? 'reported' : 'estimated';
}
