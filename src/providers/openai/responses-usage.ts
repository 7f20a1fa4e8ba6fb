/**
 * The Responses API's `usage` (`ResponseUsage`), in the conventions' sense: `input_tokens`
 * already includes cached tokens and cache writes, `output_tokens` includes reasoning.
 * `input_tokens_details.cache_write_tokens` exists from openai 6 on; older payloads
 * simply lack it.
 */
import type { ReportedUsage } from '../../core/model.js';
import { asDict, asNumber, type Dict } from '../../core/values.js';

export function responsesUsage(usage: Dict): ReportedUsage {
  const inputDetails = asDict(usage.input_tokens_details);
  const outputDetails = asDict(usage.output_tokens_details);
  return {
    input: asNumber(usage.input_tokens),
    output: asNumber(usage.output_tokens),
    cacheRead: positive(inputDetails?.cached_tokens),
    cacheCreation: positive(inputDetails?.cache_write_tokens),
    reasoning: positive(outputDetails?.reasoning_tokens),
  };
}

/** Cache and reasoning details are written only when non-zero, to keep spans readable. */
function positive(value: unknown): number | undefined {
  const n = asNumber(value);
  return n !== undefined && n > 0 ? n : undefined;
}
