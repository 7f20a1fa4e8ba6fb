/** Messages between the main thread and the tokenizer worker. */
import type { EncodingName } from './tokenizer-count.js';

export type ToWorker =
  | { readonly type: 'count'; readonly id: number; readonly encoding: EncodingName; readonly texts: readonly string[] }
  /** Build these encodings now, so that the first count does not wait for them. */
  | { readonly type: 'warm'; readonly encodings: readonly EncodingName[] };

export type FromWorker =
  | { readonly type: 'counts'; readonly id: number; readonly counts: readonly number[] }
  | { readonly type: 'failed'; readonly id: number; readonly error: string }
  /** Sent while a long build or count is under way: the worker is busy, not stuck. */
  | { readonly type: 'alive' };

/** How often a busy worker says it is alive. */
export const HEARTBEAT_MS = 250;
