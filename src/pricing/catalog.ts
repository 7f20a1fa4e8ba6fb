/**
 * The price data one instrumentation prices with: `@pydantic/genai-prices`' bundled data,
 * or data fetched later (`priceUpdates`), with a bounded cache of model look-ups.
 *
 * Why a cache: finding a model in genai-prices walks its provider's match rules (93 OpenAI
 * models) before pricing; measured here 180–205 µs per request (2-core Xeon, Node 20).
 * The first look-up of a (provider, model) pair keeps the matched model; later requests
 * price it through a one-model provider whose price keys are cut to what the request's
 * usage has (cache reads, writes, 1-hour writes), measured 8–80 µs (docs/pricing.md).
 * At most `MAX_CACHED_MODELS` pairs are kept (least recently used dropped), unpriced
 * names included, so a stream of invented model names cannot grow it.
 *
 * Fetched data is held here and passed to genai-prices per call (`{ provider }`), never
 * installed into genai-prices' own module-wide data: two instrumentations in one process
 * (or another library using genai-prices) each keep the data they were given, and every
 * span can say which data priced it.
 */
import { calcPrice, findProvider, type ConditionalPrice, type ModelInfo, type ModelPrice, type Provider } from '@pydantic/genai-prices';
import type { ServerTool } from '../core/model.js';
import { GENAI_PRICES_VERSION } from '../version.js';
import { CALLS_PER_KCOUNT, DATA_TOOL_PRICE_KEYS } from './tool-fees.js';

/** Provider names (`gen_ai.provider.name`) that genai-prices files under another id. */
const PRICE_PROVIDER_IDS: Readonly<Record<string, string>> = {
  'azure.ai.openai': 'azure',
  'aws.bedrock': 'aws',
  'gcp.vertex_ai': 'google',
  'gcp.gemini': 'google',
  'azure.ai.inference': 'azure',
  mistral_ai: 'mistral',
  x_ai: 'x-ai',
};

/** The price data's id for a provider named as on the span. */
export function priceProviderId(provider: string): string {
  return PRICE_PROVIDER_IDS[provider] ?? provider;
}

/** The label of the bundled data on spans (`llm_cost.cost.price_data`). */
export const BUNDLED_PRICE_DATA = `genai-prices@${GENAI_PRICES_VERSION}`;

/** (provider, model) look-ups kept; each holds one model's prices (about 1–2 KB). */
export const MAX_CACHED_MODELS = 512;

/** Token counts in genai-prices' sense: `input` includes cache reads and writes; `cacheWrite` includes 1-hour writes. */
export interface TokenUsage {
  readonly input: number;
  readonly output: number;
  readonly cacheRead: number;
  readonly cacheWrite: number;
  readonly cacheWrite1h: number;
}

export interface DataPrice {
  readonly inputUsd: number;
  readonly outputUsd: number;
  /** USD per call of the server-side tools the data prices for this model, at the same date. */
  readonly toolUsdPerCall: Readonly<Partial<Record<ServerTool, number>>>;
}

/** What pricing needs from a catalog (tests and the CLI can pass their own). */
export interface PriceLookup {
  /** Which data this is, for `llm_cost.cost.price_data`. */
  readonly dataLabel: string;
  /** The data's entry for `model` of `provider` (a `gen_ai.provider.name`), or undefined when it has none. */
  find(provider: string, model: string): CatalogModel | undefined;
}

interface ProviderData {
  readonly label: string;
  provider(id: string): Provider | undefined;
}

const bundledData: ProviderData = {
  label: BUNDLED_PRICE_DATA,
  provider: (id) => findProvider({ providerId: id }),
};

export class PriceCatalog implements PriceLookup {
  private data: ProviderData = bundledData;
  private readonly models = new Map<string, CatalogModel | null>();

  get dataLabel(): string {
    return this.data.label;
  }

  find(provider: string, model: string): CatalogModel | undefined {
    const key = `${provider}\u0000${model}`;
    const cached = this.models.get(key);
    if (cached !== undefined) {
      // Re-inserted, so the Map's order is least recently used first.
      this.models.delete(key);
      this.models.set(key, cached);
      return cached ?? undefined;
    }
    const found = resolveModel(this.data, priceProviderId(provider), model) ?? null;
    this.models.set(key, found);
    if (this.models.size > MAX_CACHED_MODELS) {
      const oldest = this.models.keys().next();
      if (!oldest.done) this.models.delete(oldest.value);
    }
    return found ?? undefined;
  }

  /** Prices with `providers` from now on (fetched data), labelled `label` on spans. */
  install(providers: readonly Provider[], label: string): void {
    const byId = new Map(providers.map((p) => [p.id.toLowerCase(), p]));
    this.data = { label, provider: (id) => byId.get(id.toLowerCase()) };
    this.models.clear();
  }

  /** Back to the bundled data. */
  reset(): void {
    this.data = bundledData;
    this.models.clear();
  }

  /** Look-ups currently cached (for tests and diagnostics). */
  get cachedModels(): number {
    return this.models.size;
  }
}

/** The first model of the provider (or of its fallback providers) that matches `model`. */
function resolveModel(data: ProviderData, providerId: string, model: string): CatalogModel | undefined {
  const provider = data.provider(providerId);
  if (!provider) return undefined;
  const candidates = [provider, ...(provider.fallback_model_providers ?? []).map((id) => data.provider(id))];
  for (const candidate of candidates) {
    if (!candidate) continue;
    const found = calcPrice({ input_tokens: 0, output_tokens: 0 }, model, { provider: candidate });
    if (found) return new CatalogModel(found.provider, found.model, model.toLowerCase().trim());
  }
  return undefined;
}

/**
 * One model's prices. Each usage shape (with or without cache reads, writes, 1-hour
 * writes) gets a one-model provider carrying only the price keys that shape can use, so
 * genai-prices does not decompose units the request has none of.
 */
export class CatalogModel {
  readonly id: string;
  private readonly shapes: (Provider | undefined)[] = [];

  constructor(
    private readonly provider: Provider,
    private readonly model: ModelInfo,
    /** The id as looked up (lower case), matched exactly from now on. */
    private readonly lookupId: string,
  ) {
    this.id = model.id;
  }

  /** Every price key of the model in force at `at`, as genai-prices resolves dated prices (for the CLI). */
  pricesAt(at: Date): ModelPrice {
    const model: ModelInfo = { ...this.model, match: { equals: this.lookupId } };
    const provider: Provider = { id: this.provider.id, name: this.provider.name, api_pattern: this.provider.api_pattern, models: [model] };
    return calcPrice({ input_tokens: 0, output_tokens: 0 }, this.lookupId, { provider, timestamp: at })?.model_price ?? {};
  }

  /** Dates on which this model's prices change (genai-prices' dated entries). */
  get priceChangeDates(): string[] {
    if (!Array.isArray(this.model.prices)) return [];
    return this.model.prices.flatMap((p) => (p.constraint?.type === 'start_date' ? [p.constraint.start_date] : []));
  }

  get providerId(): string {
    return this.provider.id;
  }

  price(usage: TokenUsage, at: Date): DataPrice {
    const shape = (usage.cacheRead > 0 ? 1 : 0) | (usage.cacheWrite > 0 ? 2 : 0) | (usage.cacheWrite1h > 0 ? 4 : 0);
    const provider = (this.shapes[shape] ??= this.shapeProvider(shape));
    const result = calcPrice(
      {
        input_tokens: usage.input,
        output_tokens: usage.output,
        ...(shape & 1 ? { cache_read_tokens: usage.cacheRead } : {}),
        ...(shape & 6 ? { cache_write_tokens: usage.cacheWrite } : {}),
        ...(shape & 4 ? { cache_write_1h_tokens: usage.cacheWrite1h } : {}),
      },
      this.lookupId,
      { provider, timestamp: at },
    );
    if (!result) throw new Error(`genai-prices no longer matches ${this.lookupId} to ${this.id}`);
    return { inputUsd: result.input_price, outputUsd: result.output_price, toolUsdPerCall: toolPrices(result.model_price) };
  }

  private shapeProvider(shape: number): Provider {
    const keep = new Set(['input_mtok', 'output_mtok', 'requests_kcount', ...Object.values(DATA_TOOL_PRICE_KEYS)]);
    if (shape & 1) keep.add('cache_read_mtok');
    if (shape & 6) keep.add('cache_write_mtok');
    if (shape & 4) keep.add('cache_write_1h_mtok');
    const cut = (prices: ModelPrice): ModelPrice => Object.fromEntries(Object.entries(prices).filter(([key]) => keep.has(key)));
    const prices: ModelInfo['prices'] = Array.isArray(this.model.prices)
      ? this.model.prices.map((p: ConditionalPrice) => ({ ...p, prices: cut(p.prices) }))
      : cut(this.model.prices);
    const model: ModelInfo = { id: this.model.id, match: { equals: this.lookupId }, prices };
    return { id: this.provider.id, name: this.provider.name, api_pattern: this.provider.api_pattern, models: [model] };
  }
}

function toolPrices(prices: ModelPrice): Partial<Record<ServerTool, number>> {
  const result: Partial<Record<ServerTool, number>> = {};
  for (const [tool, key] of Object.entries(DATA_TOOL_PRICE_KEYS) as [ServerTool, string][]) {
    const price = prices[key];
    if (typeof price === 'number') result[tool] = price / CALLS_PER_KCOUNT;
  }
  return result;
}
