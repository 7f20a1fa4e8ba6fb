/**
 * Server-side tool fees, billed per call on top of the tokens.
 *
 * The price data (genai-prices) has per-model prices for web search (`web_searches_kcount`)
 * and OpenAI file search (`storage_searches_kcount`): those come first. This table holds
 * only what the data lacks, each entry with its source and the date it was checked; the
 * `priceOverrides` option replaces any of it (`toolCallUsd`). Sources and dates are also
 * in docs/pricing.md.
 *
 * Code execution is billed by container (OpenAI: per container, by memory size, and since
 * 2026-06-02 per minute of container time; Anthropic: by container time). Neither API
 * reports a request's container size or time, so no per-call figure exists: those calls
 * are counted on the span, left out of the cost, and the cost is `estimated`.
 */
import type { ServerTool } from '../core/model.js';

/** genai-prices price keys (per 1,000 calls) for the tools it prices. */
export const DATA_TOOL_PRICE_KEYS: Readonly<Partial<Record<ServerTool, string>>> = {
  web_search: 'web_searches_kcount',
  file_search: 'storage_searches_kcount',
};

/** genai-prices `_kcount` keys are USD per 1,000 calls. */
export const CALLS_PER_KCOUNT = 1000;

interface ToolFeeEntry {
  /** USD per call. */
  readonly usdPerCall: number;
  readonly source: string;
  readonly checked: string;
}

/** Per price-data provider id: tools the data does not price, with a documented per-call fee. */
const TOOL_FEES: Readonly<Record<string, Readonly<Partial<Record<ServerTool, ToolFeeEntry>>>>> = {
  anthropic: {
    // "Web fetch usage has no additional charges beyond standard token costs."
    web_fetch: {
      usdPerCall: 0,
      source: 'https://platform.claude.com/docs/en/agents-and-tools/tool-use/web-fetch-tool',
      checked: '2026-12-07',
    },
  },
};

/** The table's per-call fee for `tool` at this provider, if it has one. */
export function tableToolFee(priceProviderId: string, tool: ServerTool): number | undefined {
  return TOOL_FEES[priceProviderId]?.[tool]?.usdPerCall;
}
