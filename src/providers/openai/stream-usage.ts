/**
 * Chat and legacy Completions streams report usage only with `stream_options.include_usage`,
 * in one extra chunk with `choices: []`. We ask for it; for a user who did not, that chunk
 * and the `usage: null` the API then adds to every other chunk are hidden, so their code
 * sees exactly the chunks it always did.
 */
import type { AdapterOptions } from '../../core/adapter.js';
import { asDict, type Dict } from '../../core/values.js';

export interface StreamUsageRequest {
  /** The body to send: the user's own, or a copy asking for usage. */
  readonly body: Dict;
  /** We added the option, so its traces must be hidden from the consumer. */
  readonly injected: boolean;
}

export function requestStreamUsage(body: Dict, options: AdapterOptions): StreamUsageRequest {
  const userAskedForUsage = asDict(body.stream_options)?.include_usage === true;
  if (body.stream !== true || !options.injectStreamUsage || userAskedForUsage) return { body, injected: false };
  return { body: { ...body, stream_options: { ...asDict(body.stream_options), include_usage: true } }, injected: true };
}

/** Whether the consumer may see `chunk`; strips the injected `usage: null` as a side effect. */
export function isVisibleChunk(chunk: Dict, injected: boolean, hasUsage: boolean, choices: number): boolean {
  if (!injected) return true;
  if (!hasUsage) {
    if (chunk.usage === null) delete chunk.usage;
    return true;
  }
  return choices > 0;
}
