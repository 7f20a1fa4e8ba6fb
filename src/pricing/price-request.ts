/**
 * The pricing step: resolved usage (tokens, cache reads, 5-minute and 1-hour cache writes,
 * server-side tool calls) and the service tier served, to a priced cost broken down into
 * input, output and tool fees. Pure: what it reads comes in as parameters (the catalog's
 * look-ups are a cache of the same data).
 *
 * Order of prices (docs/pricing.md):
 * - tokens: an override's token prices for any of the models (the response's, then the
 *   request's), else the first of them the price data knows;
 * - tier: standard is the list price; another tier is priced from `priceOverrides[model].tiers`,
 *   else by the provider's documented multiplier (flex, batch), else at standard prices,
 *   marked `estimated` with basis `standard_tier`;
 * - tools: `priceOverrides[model].toolCallUsd`, else the price data, else the tool-fee table;
 *   a tool nothing prices is listed as unpriced and the cost is `estimated`.
 * A model nothing prices is `unpriced`: no USD figure at all, never a zero.
 */
import {
  SERVER_TOOLS,
  type PriceBasis,
  type PricedCost,
  type PriceSource,
  type PricingInput,
  type ResolvedUsage,
  type ServerTool,
  type ToolFee,
  type ToolPriceSource,
  type UsageValue,
} from '../core/model.js';
import { logInternalError } from '../core/safely.js';
import { priceProviderId, type PriceLookup, type TokenUsage } from './catalog.js';
import { overrideFor, overrideTokenPrices, type PriceOverride, type PriceOverrides, type TokenPrices } from './overrides.js';
import { documentedMultiplier, servedTier, STANDARD_TIER, type OverrideTier } from './service-tiers.js';
import { tableToolFee } from './tool-fees.js';

/** Where prices come from: the instrumentation's catalog and the user's overrides. */
export interface PriceSources {
  readonly catalog: PriceLookup;
  readonly overrides?: PriceOverrides;
}

export type { PricingInput };

const UNPRICED: PricedCost = { source: 'unpriced' };

interface TokenCost {
  readonly inputUsd: number;
  readonly outputUsd: number;
}

interface BasePrice extends TokenCost {
  readonly priceModel: string;
  readonly priceSource: PriceSource;
  /** The data's per-call tool prices for this model (absent when the tokens came from an override). */
  readonly dataToolPrices?: Readonly<Partial<Record<ServerTool, number>>>;
}

export function priceRequest(input: PricingInput, sources: PriceSources): PricedCost {
  const { usage } = input;
  // A count that could not be had at all is not priced as zero.
  if (usage.input.source === 'unknown' || usage.output.source === 'unknown') return UNPRICED;
  const tokens = tokenUsage(usage);
  const at = input.at ?? new Date();
  const models = [...new Set(input.models.filter((m): m is string => typeof m === 'string' && m.length > 0))];
  const overrides = models.map((model) => ({ model, override: overrideFor(sources.overrides, input.provider, model) }));

  const base = basePrice(input.provider, models, overrides, tokens, at, sources.catalog);
  const tier = servedTier(input.requestedServiceTier, input.servedServiceTier);
  let basis: PriceBasis = 'list';
  let priced: BasePrice | undefined = base;
  if (tier !== STANDARD_TIER) {
    const tierOverride = overrides.find(({ override }) => override?.tiers?.[tier as OverrideTier]);
    const tierPrices = tierOverride?.override?.tiers?.[tier as OverrideTier];
    const factor = documentedMultiplier(priceProviderId(input.provider), tier);
    if (tierOverride && tierPrices) {
      priced = { ...tokenCost(tierPrices, tokens), priceModel: tierOverride.model, priceSource: 'override', dataToolPrices: base?.dataToolPrices };
      basis = 'tier_override';
    } else if (base && factor !== undefined) {
      priced = { ...base, inputUsd: base.inputUsd * factor, outputUsd: base.outputUsd * factor };
      basis = 'tier_multiplier';
    } else basis = 'standard_tier';
  }
  if (!priced) return UNPRICED;

  const tools = toolFees(input.provider, models, overrides, usage, priced, at, sources.catalog);
  const toolUsd = tools.reduce((sum, fee) => sum + (fee.usd ?? 0), 0);
  const approximated = basis === 'standard_tier' || tools.some((fee) => fee.usd === undefined);
  return {
    source: approximated || !allReported(usage) ? 'estimated' : 'reported',
    totalUsd: priced.inputUsd + priced.outputUsd + toolUsd,
    inputUsd: priced.inputUsd,
    outputUsd: priced.outputUsd,
    toolUsd,
    tools,
    priceModel: priced.priceModel,
    priceSource: priced.priceSource,
    serviceTier: tier,
    priceBasis: basis,
    priceData: priced.priceSource === 'override' ? 'override' : sources.catalog.dataLabel,
  };
}

function basePrice(
  provider: string,
  models: readonly string[],
  overrides: readonly { model: string; override: PriceOverride | undefined }[],
  tokens: TokenUsage,
  at: Date,
  catalog: PriceLookup,
): BasePrice | undefined {
  // An override names the deployment the user pays for: it wins over the data for every
  // model id (a request for `gpt-4o-mini` answered as `gpt-4o-mini-2024-07-18` keeps it).
  for (const { model, override } of overrides) {
    const prices = overrideTokenPrices(override);
    if (prices) return { ...tokenCost(prices, tokens), priceModel: model, priceSource: 'override' };
  }
  for (const model of models) {
    try {
      const entry = catalog.find(provider, model);
      if (!entry) continue;
      const price = entry.price(tokens, at);
      return { inputUsd: price.inputUsd, outputUsd: price.outputUsd, priceModel: entry.id, priceSource: 'genai-prices', dataToolPrices: price.toolUsdPerCall };
    } catch (error) {
      logInternalError('price lookup', error);
    }
  }
  return undefined;
}

function toolFees(
  provider: string,
  models: readonly string[],
  overrides: readonly { model: string; override: PriceOverride | undefined }[],
  usage: ResolvedUsage,
  priced: BasePrice,
  at: Date,
  catalog: PriceLookup,
): ToolFee[] {
  const calls = usage.toolCalls;
  if (!calls) return [];
  const fees: ToolFee[] = [];
  let dataPrices = priced.dataToolPrices;
  for (const tool of SERVER_TOOLS) {
    const count = calls[tool]?.value ?? 0;
    if (count <= 0) continue;
    dataPrices ??= dataToolPrices(provider, models, at, catalog);
    const price = toolPrice(tool, provider, overrides, dataPrices);
    fees.push(price ? { tool, calls: count, usd: count * price.usdPerCall, priceSource: price.source } : { tool, calls: count });
  }
  return fees;
}

function toolPrice(
  tool: ServerTool,
  provider: string,
  overrides: readonly { override: PriceOverride | undefined }[],
  dataPrices: Readonly<Partial<Record<ServerTool, number>>>,
): { usdPerCall: number; source: ToolPriceSource } | undefined {
  for (const { override } of overrides) {
    const usd = override?.toolCallUsd?.[tool];
    if (usd !== undefined) return { usdPerCall: usd, source: 'override' };
  }
  const data = dataPrices[tool];
  if (data !== undefined) return { usdPerCall: data, source: 'genai-prices' };
  const table = tableToolFee(priceProviderId(provider), tool);
  return table === undefined ? undefined : { usdPerCall: table, source: 'tool-fees' };
}

/** Tool prices from the data when the tokens were priced by an override. */
function dataToolPrices(provider: string, models: readonly string[], at: Date, catalog: PriceLookup): Readonly<Partial<Record<ServerTool, number>>> {
  for (const model of models) {
    try {
      const entry = catalog.find(provider, model);
      if (entry) return entry.price({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0 }, at).toolUsdPerCall;
    } catch (error) {
      logInternalError('price lookup', error);
    }
  }
  return {};
}

function tokenUsage(usage: ResolvedUsage): TokenUsage {
  const cacheWrite = usage.cacheCreation?.value ?? 0;
  return {
    input: usage.input.value,
    output: usage.output.value,
    cacheRead: usage.cacheRead?.value ?? 0,
    cacheWrite,
    // A provider reporting more 1-hour writes than writes is not believed past the total.
    cacheWrite1h: Math.min(usage.cacheCreation1h?.value ?? 0, cacheWrite),
  };
}

/** `input` holds cache reads and writes (the conventions' sense); each is priced at its own rate. */
function tokenCost(prices: TokenPrices, tokens: TokenUsage): TokenCost {
  const uncached = Math.max(0, tokens.input - tokens.cacheRead - tokens.cacheWrite);
  const write5m = tokens.cacheWrite - tokens.cacheWrite1h;
  const cacheWrite = prices.cacheWritePerMTok ?? prices.inputPerMTok;
  const inputUsd =
    (uncached * prices.inputPerMTok +
      tokens.cacheRead * (prices.cacheReadPerMTok ?? prices.inputPerMTok) +
      write5m * cacheWrite +
      tokens.cacheWrite1h * (prices.cacheWrite1hPerMTok ?? cacheWrite)) /
    1_000_000;
  return { inputUsd, outputUsd: (tokens.output * prices.outputPerMTok) / 1_000_000 };
}

function allReported(usage: ResolvedUsage): boolean {
  const quantities: (UsageValue | undefined)[] = [usage.input, usage.output, usage.cacheRead, usage.cacheCreation, usage.cacheCreation1h];
  if (usage.toolCalls) quantities.push(...Object.values(usage.toolCalls));
  return quantities.every((q) => q === undefined || q.source === 'reported');
}
