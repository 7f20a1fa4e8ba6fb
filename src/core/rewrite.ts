/** Building blocks for the adapters' `RequestRewrite`s: copies, never edits of the user's body. */
import type { RequestRewrite } from './adapter.js';
import { asNumber, isDict } from './values.js';

/** A rewrite for APIs whose body names its model `model` and its output limit in `limitField(body)`. */
export function fieldRewrite(limitField: (body: Record<string, unknown>) => string, minimum = 1): RequestRewrite {
  return {
    model: (body, model) => (isDict(body) ? { ...body, model } : body),
    maxOutputTokens: (body, maxTokens) => {
      if (!isDict(body)) return body;
      if (maxTokens < minimum) return undefined;
      const field = limitField(body);
      const current = asNumber(body[field]);
      if (current !== undefined && current <= maxTokens) return body;
      return { ...body, [field]: maxTokens };
    },
  };
}
