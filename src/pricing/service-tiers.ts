/**
 * Service tiers: which tier a request was served in, in one vocabulary for every provider,
 * and the price multipliers a provider documents for every model of a tier.
 *
 * Only uniform, documented discounts are here (sources and dates in docs/pricing.md):
 * OpenAI prices Flex processing at Batch API rates, and Batch at half the standard rates;
 * Anthropic prices Message Batches at half. Priority, Scale and similar tiers are priced
 * per model or per contract, with no uniform factor: they need per-tier prices from
 * `priceOverrides`, else the standard price stands in and the cost is marked `estimated`.
 */

/** The tier priced when neither the response nor the request names one. */
export const STANDARD_TIER = 'standard';

/** Provider words that mean the standard tier (`auto`: the project's default, which is standard unless configured). */
const STANDARD_WORDS: ReadonlySet<string> = new Set(['default', 'standard', 'auto', 'standard_only']);

/** OpenAI answers `priority` when `fast` was asked for (openai-node 7, `ServiceTier`). */
const SYNONYMS: Readonly<Record<string, string>> = { fast: 'priority' };

/** The tiers `priceOverrides` can give prices for. */
export const OVERRIDE_TIERS = ['flex', 'batch', 'priority', 'scale', 'ultrafast'] as const;
export type OverrideTier = (typeof OVERRIDE_TIERS)[number];

/**
 * The tier that was served: the response's word when it gives one, else the request's,
 * else standard. Unknown words are kept (lower-cased), so a new tier shows on the span
 * and is priced as an unknown tier rather than silently as standard.
 */
export function servedTier(requested: string | undefined, served: string | undefined): string {
  return canonicalTier(served) ?? canonicalTier(requested) ?? STANDARD_TIER;
}

function canonicalTier(word: string | undefined): string | undefined {
  if (typeof word !== 'string') return undefined;
  const tier = word.trim().toLowerCase();
  if (tier === '') return undefined;
  if (STANDARD_WORDS.has(tier)) return STANDARD_TIER;
  return SYNONYMS[tier] ?? tier;
}

/** Price-data provider ids (genai-prices) whose documented tier discounts apply. */
const DOCUMENTED_MULTIPLIERS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  // developers.openai.com/api/docs/guides/flex-processing: "Tokens are priced at Batch API
  // rates"; help.openai.com/en/articles/9197833-batch-api-faq: "50% cost discount vs. the
  // synchronous APIs" (both checked 2026-12-07).
  openai: { flex: 0.5, batch: 0.5 },
  // platform.claude.com/docs/en/build-with-claude/batch-processing: "reducing costs by 50%" (checked 2026-12-07).
  anthropic: { batch: 0.5 },
};

/** The factor on standard token prices for `tier` at this provider, when one is documented for every model. */
export function documentedMultiplier(priceProviderId: string, tier: string): number | undefined {
  return DOCUMENTED_MULTIPLIERS[priceProviderId]?.[tier];
}
