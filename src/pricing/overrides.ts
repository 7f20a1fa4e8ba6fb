/**
 * The `priceOverrides` option: the user's own prices (fine-tunes, private deployments,
 * negotiated rates, service tiers the price data lacks, tool fees), and its validation,
 * which fails when the instrumentation is built rather than pricing requests wrongly later.
 */
import { SERVER_TOOLS, type ServerTool } from '../core/model.js';
import { OVERRIDE_TIERS, type OverrideTier } from './service-tiers.js';

/** Token prices in USD per million tokens. */
export interface TokenPrices {
  /** Uncached input tokens. */
  inputPerMTok: number;
  /** Output tokens, reasoning included. */
  outputPerMTok: number;
  /** Cache-read input tokens. Default: `inputPerMTok`. */
  cacheReadPerMTok?: number;
  /** Cache-write (cache-creation) input tokens; for Anthropic, 5-minute writes. Default: `inputPerMTok`. */
  cacheWritePerMTok?: number;
  /** Anthropic 1-hour cache writes. Default: `cacheWritePerMTok`. */
  cacheWrite1hPerMTok?: number;
}

/**
 * A price the user sets for one model. Token prices (`inputPerMTok` and `outputPerMTok`
 * together) replace the price data's standard prices; `tiers` gives prices for service
 * tiers (`{ priority: { inputPerMTok: 2.5, outputPerMTok: 20 } }`); `toolCallUsd` gives
 * USD per server-side tool call. Any of the three may come alone: what is not given comes
 * from the price data.
 */
export interface PriceOverride extends Partial<TokenPrices> {
  /** Only for this provider (`gen_ai.provider.name`, e.g. `openai`, `azure.ai.openai`). Default: any. */
  provider?: string;
  /** Prices for the tier served (the response's `service_tier`, else the request's). */
  tiers?: Partial<Record<OverrideTier, TokenPrices>>;
  /** USD per call of a server-side tool (code interpreter: per container). */
  toolCallUsd?: Partial<Record<ServerTool, number>>;
}

/** Overrides by model id, as the request or response names it (e.g. `ft:gpt-4o-mini:acme::abc123`). */
export type PriceOverrides = Readonly<Record<string, PriceOverride>>;

/** The override for `model`, if one is set for it and for this provider. */
export function overrideFor(overrides: PriceOverrides | undefined, provider: string, model: string | undefined): PriceOverride | undefined {
  if (!overrides || model === undefined || !Object.prototype.hasOwnProperty.call(overrides, model)) return undefined;
  const override = overrides[model];
  if (!override || (override.provider !== undefined && override.provider !== provider)) return undefined;
  return override;
}

/** The override's standard token prices, when it sets them. */
export function overrideTokenPrices(override: PriceOverride | undefined): TokenPrices | undefined {
  if (override?.inputPerMTok === undefined || override.outputPerMTok === undefined) return undefined;
  return override as TokenPrices;
}

const TOKEN_PRICE_FIELDS = ['inputPerMTok', 'outputPerMTok', 'cacheReadPerMTok', 'cacheWritePerMTok', 'cacheWrite1hPerMTok'] as const;
const REQUIRED_TOKEN_FIELDS = new Set<string>(['inputPerMTok', 'outputPerMTok']);
const OVERRIDE_FIELDS = [...TOKEN_PRICE_FIELDS, 'provider', 'tiers', 'toolCallUsd'];

/**
 * Checks the `priceOverrides` option. Throws naming the exact entry and field, e.g.
 * `priceOverrides["gpt-5"].tiers.priority.inputPerMTok`.
 */
export function validatePriceOverrides(value: unknown): void {
  if (value === undefined) return;
  if (!isPlainObject(value)) {
    throw new TypeError(`otel-llm-cost: priceOverrides must be an object keyed by model id, got ${describe(value)}`);
  }
  for (const [model, override] of Object.entries(value)) {
    const where = `priceOverrides[${JSON.stringify(model)}]`;
    if (model.length === 0) throw new TypeError('otel-llm-cost: priceOverrides has an empty model id');
    if (!isPlainObject(override)) {
      throw new TypeError(`otel-llm-cost: ${where} must be an object with inputPerMTok and outputPerMTok, tiers or toolCallUsd, got ${describe(override)}`);
    }
    for (const key of Object.keys(override)) {
      if (!OVERRIDE_FIELDS.includes(key)) {
        throw new TypeError(`otel-llm-cost: ${where}.${key} is not a price override field (expected ${OVERRIDE_FIELDS.join(', ')})`);
      }
    }
    const hasTokenPrices = TOKEN_PRICE_FIELDS.some((field) => override[field] !== undefined);
    if (hasTokenPrices || (override.tiers === undefined && override.toolCallUsd === undefined)) {
      validateTokenPrices(override, where);
    }
    if (override.provider !== undefined && (typeof override.provider !== 'string' || override.provider.length === 0)) {
      throw new TypeError(`otel-llm-cost: ${where}.provider must be a non-empty string, got ${describe(override.provider)}`);
    }
    if (override.tiers !== undefined) validateTiers(override.tiers, `${where}.tiers`);
    if (override.toolCallUsd !== undefined) validateToolFees(override.toolCallUsd, `${where}.toolCallUsd`);
  }
}

function validateTokenPrices(prices: Record<string, unknown>, where: string): void {
  for (const field of TOKEN_PRICE_FIELDS) {
    const price = prices[field];
    if (price === undefined && !REQUIRED_TOKEN_FIELDS.has(field)) continue;
    if (!isPrice(price)) {
      throw new RangeError(`otel-llm-cost: ${where}.${field} must be a finite number of USD per million tokens, 0 or more, got ${describe(price)}`);
    }
  }
}

function validateTiers(tiers: unknown, where: string): void {
  if (!isPlainObject(tiers)) throw new TypeError(`otel-llm-cost: ${where} must be an object keyed by service tier, got ${describe(tiers)}`);
  for (const [tier, prices] of Object.entries(tiers)) {
    if (!(OVERRIDE_TIERS as readonly string[]).includes(tier)) {
      throw new TypeError(`otel-llm-cost: ${where}.${tier} is not a service tier with its own prices (expected ${OVERRIDE_TIERS.join(', ')})`);
    }
    if (!isPlainObject(prices)) throw new TypeError(`otel-llm-cost: ${where}.${tier} must be an object with inputPerMTok and outputPerMTok, got ${describe(prices)}`);
    for (const key of Object.keys(prices)) {
      if (!(TOKEN_PRICE_FIELDS as readonly string[]).includes(key)) {
        throw new TypeError(`otel-llm-cost: ${where}.${tier}.${key} is not a token price field (expected ${TOKEN_PRICE_FIELDS.join(', ')})`);
      }
    }
    validateTokenPrices(prices, `${where}.${tier}`);
  }
}

function validateToolFees(fees: unknown, where: string): void {
  if (!isPlainObject(fees)) throw new TypeError(`otel-llm-cost: ${where} must be an object keyed by tool, got ${describe(fees)}`);
  for (const [tool, usd] of Object.entries(fees)) {
    if (!(SERVER_TOOLS as readonly string[]).includes(tool)) {
      throw new TypeError(`otel-llm-cost: ${where}.${tool} is not a server-side tool (expected ${SERVER_TOOLS.join(', ')})`);
    }
    if (!isPrice(usd)) throw new RangeError(`otel-llm-cost: ${where}.${tool} must be a finite number of USD per call, 0 or more, got ${describe(usd)}`);
  }
}

const isPrice = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}
