/**
 * `otel-llm-cost prices <model…>`: how each model would be priced, before deploying — which
 * data or override prices it, its prices per million tokens, long-context tiers, tool fees
 * and service tiers — or that it is unpriced.
 */
import type { ModelPrice } from '@pydantic/genai-prices';
import type { ServerTool } from '../core/model.js';
import { priceProviderId, type PriceLookup } from '../pricing/catalog.js';
import { overrideFor, overrideTokenPrices, type PriceOverrides, type TokenPrices } from '../pricing/overrides.js';
import { documentedMultiplier, OVERRIDE_TIERS, type OverrideTier } from '../pricing/service-tiers.js';
import { tableToolFee, CALLS_PER_KCOUNT, DATA_TOOL_PRICE_KEYS } from '../pricing/tool-fees.js';

/** The providers the two SDKs speak to, tried in this order when none is named. */
export const DEFAULT_PROVIDERS = ['openai', 'anthropic'];

/** The server-side tools and service tiers each API has (OpenAI's for OpenAI-compatible endpoints). */
function providerFeatures(provider: string): { tools: ServerTool[]; tiers: readonly OverrideTier[] } {
  return provider === 'anthropic'
    ? { tools: ['web_search', 'web_fetch', 'code_execution'], tiers: ['batch', 'priority'] }
    : { tools: ['web_search', 'file_search', 'code_interpreter'], tiers: OVERRIDE_TIERS };
}

export interface PerMTok {
  input: number;
  cacheRead?: number;
  cacheWrite?: number;
  cacheWrite1h?: number;
  output: number;
}

export interface ModelPriceReport {
  model: string;
  provider: string | undefined;
  priced: boolean;
  /** `genai-prices` or `override`. */
  source?: 'genai-prices' | 'override';
  /** The data's label (`genai-prices@0.1.8`, `fetched …`) or `override`. */
  priceData?: string;
  priceModel?: string;
  perMTok?: PerMTok;
  /** Prices for the whole request once its input tokens exceed `aboveInputTokens`. */
  longContext?: { aboveInputTokens: number; perMTok: PerMTok }[];
  toolFees?: { tool: ServerTool; usdPerCall?: number; source?: string }[];
  serviceTiers?: { tier: string; pricing: string }[];
  priceChanges?: string[];
}

/** Splits `provider:model`; otherwise the provider is the one given, or found by trying the defaults. */
export function describeModel(
  spec: string,
  lookup: PriceLookup,
  overrides: PriceOverrides | undefined,
  providerOption: string | undefined,
  at: Date,
): ModelPriceReport {
  const colon = spec.indexOf(':');
  // `ft:gpt-4o-mini:acme::id` is a model id, not provider:model.
  const named = colon > 0 && !spec.startsWith('ft:') ? { provider: spec.slice(0, colon), model: spec.slice(colon + 1) } : undefined;
  const model = named?.model ?? spec;
  const providers = named ? [named.provider] : providerOption ? [providerOption] : DEFAULT_PROVIDERS;
  for (const provider of providers) {
    const override = overrideFor(overrides, provider, model);
    const tokens = overrideTokenPrices(override);
    const entry = lookup.find(provider, model);
    if (!tokens && !entry) continue;
    const report: ModelPriceReport = { model, provider, priced: true };
    const prices = entry?.pricesAt(at);
    if (tokens) {
      Object.assign(report, { source: 'override', priceData: 'override', priceModel: model, perMTok: fromOverride(tokens) });
    } else if (entry && prices) {
      Object.assign(report, { source: 'genai-prices', priceData: lookup.dataLabel, priceModel: entry.id, ...fromData(prices) });
      const changes = entry.priceChangeDates;
      if (changes.length > 0) report.priceChanges = changes;
    }
    const features = providerFeatures(provider);
    report.toolFees = toolFees(provider, features.tools, prices, override?.toolCallUsd);
    report.serviceTiers = features.tiers.map((tier) => {
      if (override?.tiers?.[tier]) return { tier, pricing: `override: ${formatPerMTok(fromOverride(override.tiers[tier]!))}` };
      const factor = documentedMultiplier(priceProviderId(provider), tier);
      if (factor !== undefined) return { tier, pricing: `${factor * 100}% of standard (documented by the provider)` };
      return { tier, pricing: 'standard prices, cost marked estimated (priceOverrides tiers can price it)' };
    });
    return report;
  }
  return { model, provider: named?.provider ?? providerOption, priced: false };
}

function fromOverride(prices: TokenPrices): PerMTok {
  const cacheWrite = prices.cacheWritePerMTok ?? prices.inputPerMTok;
  return {
    input: prices.inputPerMTok,
    cacheRead: prices.cacheReadPerMTok ?? prices.inputPerMTok,
    cacheWrite,
    cacheWrite1h: prices.cacheWrite1hPerMTok ?? cacheWrite,
    output: prices.outputPerMTok,
  };
}

interface Tiered {
  base: number;
  tiers: { start: number; price: number }[];
}

const TOKEN_KEYS: [keyof PerMTok, string][] = [
  ['input', 'input_mtok'],
  ['cacheRead', 'cache_read_mtok'],
  ['cacheWrite', 'cache_write_mtok'],
  ['cacheWrite1h', 'cache_write_1h_mtok'],
  ['output', 'output_mtok'],
];

/** Base prices, and one set per long-context threshold (genai-prices applies a tier when the input exceeds its start). */
function fromData(prices: ModelPrice): Pick<ModelPriceReport, 'perMTok' | 'longContext'> {
  const at = (key: string, above: number | undefined): number | undefined => {
    const value = prices[key] as number | Tiered | undefined;
    if (value === undefined || typeof value === 'number') return value;
    let price = value.base;
    if (above !== undefined) for (const tier of value.tiers) if (above >= tier.start) price = tier.price;
    return price;
  };
  const starts = new Set<number>();
  for (const [, key] of TOKEN_KEYS) {
    const value = prices[key];
    if (typeof value === 'object' && value !== null) for (const tier of (value as Tiered).tiers) starts.add(tier.start);
  }
  const perMTok = (above: number | undefined): PerMTok => {
    const result: PerMTok = { input: at('input_mtok', above) ?? 0, output: at('output_mtok', above) ?? 0 };
    for (const [name, key] of TOKEN_KEYS) {
      const value = at(key, above);
      if (value !== undefined && name !== 'input' && name !== 'output') result[name] = value;
    }
    return result;
  };
  const longContext = [...starts].sort((a, b) => a - b).map((start) => ({ aboveInputTokens: start, perMTok: perMTok(start) }));
  return { perMTok: perMTok(undefined), ...(longContext.length > 0 ? { longContext } : {}) };
}

function toolFees(
  provider: string,
  tools: readonly ServerTool[],
  prices: ModelPrice | undefined,
  overrides: Partial<Record<ServerTool, number>> | undefined,
): ModelPriceReport['toolFees'] {
  return tools.map((tool) => {
    const override = overrides?.[tool];
    if (override !== undefined) return { tool, usdPerCall: override, source: 'override' };
    const key = DATA_TOOL_PRICE_KEYS[tool];
    const data = key && prices ? prices[key] : undefined;
    if (typeof data === 'number') return { tool, usdPerCall: data / CALLS_PER_KCOUNT, source: 'genai-prices' };
    const table = tableToolFee(priceProviderId(provider), tool);
    if (table !== undefined) return { tool, usdPerCall: table, source: 'tool-fees' };
    return { tool };
  });
}

const usd = (value: number): string => `$${Number(value.toPrecision(6))}`;

export function formatPerMTok(p: PerMTok): string {
  const parts = [`input ${usd(p.input)}`];
  if (p.cacheRead !== undefined) parts.push(`cache read ${usd(p.cacheRead)}`);
  if (p.cacheWrite !== undefined) parts.push(`cache write ${usd(p.cacheWrite)}`);
  if (p.cacheWrite1h !== undefined) parts.push(`1-hour cache write ${usd(p.cacheWrite1h)}`);
  parts.push(`output ${usd(p.output)}`);
  return parts.join(', ');
}

/** The report as the terminal shows it. */
export function formatReport(report: ModelPriceReport): string {
  if (!report.priced) {
    const where = report.provider ? ` (${report.provider})` : ` (tried ${DEFAULT_PROVIDERS.join(', ')})`;
    return [
      `${report.model}${where}: UNPRICED`,
      '  Neither the price data nor priceOverrides price it: its requests get llm_cost.cost.source=unpriced,',
      '  no USD figure, and count in llm_cost.unpriced.tokens. Add a priceOverrides entry, or enable priceUpdates',
      '  if the model is newer than the bundled data (try: prices --update <model>).',
    ].join('\n');
  }
  const lines = [`${report.model} (${report.provider}): priced as ${report.priceModel} from ${report.priceData}`];
  if (report.perMTok) lines.push(`  per million tokens: ${formatPerMTok(report.perMTok)}`);
  for (const tier of report.longContext ?? []) {
    lines.push(`  above ${tier.aboveInputTokens.toLocaleString('en-US')} input tokens (whole request): ${formatPerMTok(tier.perMTok)}`);
  }
  if (report.priceChanges) lines.push(`  dated prices: changes on ${report.priceChanges.join(', ')} (priced by the request's date)`);
  const tools = (report.toolFees ?? []).map((fee) =>
    fee.usdPerCall === undefined ? `${fee.tool}: no per-call price (calls counted, cost estimated)` : `${fee.tool} ${usd(fee.usdPerCall)}/call (${fee.source})`,
  );
  for (const tool of tools) lines.push(`  server-side tool ${tool}`);
  // Tiers priced the same way on one line: `flex, batch: 50% of standard ...`.
  const byPricing = new Map<string, string[]>();
  for (const tier of report.serviceTiers ?? []) byPricing.set(tier.pricing, [...(byPricing.get(tier.pricing) ?? []), tier.tier]);
  for (const [pricing, tiers] of byPricing) lines.push(`  service tier ${tiers.join(', ')}: ${pricing}`);
  return lines.join('\n');
}
