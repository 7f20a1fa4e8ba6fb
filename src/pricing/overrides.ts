/**
 * The `priceOverrides` option: the user's own prices (fine-tunes, private deployments,
 * negotiated rates, service tiers the price data lacks, tool fees), and its validation,
 * which fails when the instrumentation is built rather than pricing requests wrongly later.
 */
import type { ServerTool } from '../core/model.js';
import type { OverrideTier } from './service-tiers.js';

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
  if (!overrides || model === undefined || !Object.hasOwn(overrides, model)) return undefined;
  const override = overrides[model];
  if (!override || (override.provider !== undefined && override.provider !== provider)) return undefined;
  return override;
}

/** The override's standard token prices, when it sets them. */
export function overrideTokenPrices(override: PriceOverride | undefined): TokenPrices | undefined {
  if (override?.inputPerMTok === undefined || override.outputPerMTok === undefined) return undefined;
  return override as TokenPrices;
}
