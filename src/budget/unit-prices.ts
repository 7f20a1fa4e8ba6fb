/**
 * A request's prices per token, worked out from the same price data as the spans.
 *
 * Budgets need them before every request is sent, while the caller waits for `create()`.
 * Pricing through genai-prices takes tens of microseconds per look-up (two per request), so
 * the per-token rates are kept per provider and model: where a model's price is linear in
 * the input (no tiers by prompt size: the same rates at 1k, 100k and 1M input tokens), a
 * request's prices are its token count times the kept rates; a tiered model is priced
 * exactly every time. Kept rates are looked at again after `RATES_TTL_MS` (dated prices,
 * fetched price data), and at once when the catalog's data or the overrides object change.
 * These figures only decide admission and the running guess; the request's final cost is
 * priced exactly when it ends.
 */
import type { PricedCost } from '../core/model.js';
import type { PriceLookup } from '../pricing/catalog.js';
import { priceRequest, type PriceSources } from '../pricing/price-request.js';

export interface UnitPrices {
  /** What the request's input costs (for the given input token count). */
  readonly inputUsd: number;
  readonly outputUsdPerToken: number;
}

/** How long kept rates are used before they are worked out again. */
const RATES_TTL_MS = 60_000;
/** (provider, model) pairs kept per catalog; unpriced names included, so invented names cannot grow it past this. */
const MAX_KEPT = 512;
/** Input sizes at which a model's rates must agree for it to count as linear. */
const PROBE_INPUTS = [1_000, 100_000, 1_000_000] as const;
/** A million output tokens, so that tiered and rounded prices give a per-token figure. */
const OUTPUT_PROBE = 1_000_000;

interface Rates {
  readonly inputUsdPerToken: number;
  readonly outputUsdPerToken: number;
}

interface Kept {
  /** Rates, `'tiered'` (priced exactly each time) or `undefined` (unpriced). */
  readonly rates: Rates | 'tiered' | undefined;
  readonly dataLabel: string;
  readonly overrides: unknown;
  readonly until: number;
}

const kept = new WeakMap<PriceLookup, Map<string, Kept>>();

/** `undefined` when neither the overrides nor the price data price the model. */
export function unitPrices(provider: string, model: string | undefined, inputTokens: number, pricing: PriceSources | undefined): UnitPrices | undefined {
  if (!model || !pricing) return undefined;
  const rates = keptRates(provider, model, pricing);
  if (rates === undefined) return undefined;
  if (rates === 'tiered') return exactUnitPrices(provider, model, inputTokens, pricing);
  return { inputUsd: inputTokens * rates.inputUsdPerToken, outputUsdPerToken: rates.outputUsdPerToken };
}

function keptRates(provider: string, model: string, pricing: PriceSources): Rates | 'tiered' | undefined {
  let byModel = kept.get(pricing.catalog);
  if (!byModel) {
    byModel = new Map();
    kept.set(pricing.catalog, byModel);
  }
  const key = `${provider}\u0000${model}`;
  const now = Date.now();
  const known = byModel.get(key);
  if (known && known.until > now && known.dataLabel === pricing.catalog.dataLabel && known.overrides === pricing.overrides) return known.rates;
  const rates = measureRates(provider, model, pricing);
  if (byModel.size >= MAX_KEPT) byModel.clear();
  byModel.set(key, { rates, dataLabel: pricing.catalog.dataLabel, overrides: pricing.overrides, until: now + RATES_TTL_MS });
  return rates;
}

function measureRates(provider: string, model: string, pricing: PriceSources): Rates | 'tiered' | undefined {
  let first: Rates | undefined;
  for (const input of PROBE_INPUTS) {
    const prices = exactUnitPrices(provider, model, input, pricing);
    if (!prices) return undefined;
    const rates = { inputUsdPerToken: prices.inputUsd / input, outputUsdPerToken: prices.outputUsdPerToken };
    if (!first) first = rates;
    else if (!near(rates.inputUsdPerToken, first.inputUsdPerToken) || !near(rates.outputUsdPerToken, first.outputUsdPerToken)) return 'tiered';
  }
  return first;
}

const near = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));

function exactUnitPrices(provider: string, model: string, inputTokens: number, pricing: PriceSources): UnitPrices | undefined {
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
  const withOutput = price(inputTokens, OUTPUT_PROBE);
  if (inputOnly.source === 'unpriced' || withOutput.source === 'unpriced') return undefined;
  return { inputUsd: inputOnly.totalUsd, outputUsdPerToken: (withOutput.totalUsd - inputOnly.totalUsd) / OUTPUT_PROBE };
}
