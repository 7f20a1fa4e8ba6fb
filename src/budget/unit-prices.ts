/** A request's prices per token, worked out once from the same price data as the spans. */
import type { PricedCost } from '../core/model.js';
import { priceRequest, type PriceSources } from '../pricing/price-request.js';

export interface UnitPrices {
  /** What the request's input costs (for the given input token count). */
  readonly inputUsd: number;
  readonly outputUsdPerToken: number;
}

/** `undefined` when neither the overrides nor the price data price the model. */
export function unitPrices(provider: string, model: string | undefined, inputTokens: number, pricing: PriceSources | undefined): UnitPrices | undefined {
  if (!model || !pricing) return undefined;
  const price = (input: number, output: number): PricedCost =>
    priceRequest(
      {
        provider,
        models: [model],
        usage: { input: { value: input, source: 'estimated' }, output: { value: output, source: 'estimated' } },
      },
      pricing,
    );
  const inputOnly = price(inputTokens, 0);
  // A million output tokens, so that tiered and rounded prices give a per-token figure.
  const withOutput = price(inputTokens, 1_000_000);
  if (inputOnly.source === 'unpriced' || withOutput.source === 'unpriced') return undefined;
  return { inputUsd: inputOnly.totalUsd, outputUsdPerToken: (withOutput.totalUsd - inputOnly.totalUsd) / 1_000_000 };
}
