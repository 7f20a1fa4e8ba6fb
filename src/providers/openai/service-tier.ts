/**
 * `service_tier` on OpenAI requests (Chat and Responses): the tier asked for goes on the span
 * as `openai.request.service_tier` and is priced when the response does not say which tier
 * served it (a stream cut before its first chunk).
 */
import * as sc from '../../semconv.js';
import { asString, type Dict } from '../../core/values.js';

export function requestedServiceTier(body: Dict): { serviceTier?: string } {
  const tier = asString(body.service_tier);
  return tier === undefined ? {} : { serviceTier: tier };
}

export function serviceTierAttribute(body: Dict): Record<string, string> {
  const tier = asString(body.service_tier);
  return tier === undefined ? {} : { [sc.ATTR_OPENAI_REQUEST_SERVICE_TIER]: tier };
}
