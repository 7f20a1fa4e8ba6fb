/** Messages between the main thread and the tokenizer worker. */
import type { SharedCounter } from './bpe/counter.js';
import type { EncodingName } from './tokenizer-count.js';

/** Counters built by an earlier worker, handed to a new one (`workerData`). */
export type SharedCounters = Partial<Record<EncodingName, SharedCounter>>;

export type ToWorker =
  | { readonly type: 'count'; readonly id: number; readonly encoding: EncodingName; readonly texts: readonly string[] }
  /** Build these encodings now, so that the first count does not wait for them. */
  | { readonly type: 'warm'; readonly encodings: readonly EncodingName[] };

export type FromWorker =
  | { readonly type: 'counts'; readonly id: number; readonly counts: readonly number[] }
  | { readonly type: 'failed'; readonly id: number; readonly error: string }
  /** A `warm` is done: the counters this worker has, their tables in shared memory. */
  | { readonly type: 'warmed'; readonly counters: SharedCounters }
  /** Sent while a long build or count is under way: the worker is busy, not stuck. */
  | { readonly type: 'alive' };

/** How often a busy worker says it is alive. */
export const HEARTBEAT_MS = 250;
