/** Messages between the main thread and the tokenizer worker. */
import type { EncodingName, EncodingRanks } from './tokenizer-count.js';

export interface CountRequest {
  readonly id: number;
  readonly encoding: EncodingName;
  readonly texts: readonly string[];
  /**
   * The encoding's rank table, on the first request for it, to a worker that cannot load
   * modules (one started from the self-contained script, in a single-file bundle).
   */
  readonly ranks?: EncodingRanks;
}

export type CountReply =
  | { readonly id: number; readonly counts: readonly number[] }
  | { readonly id: number; readonly error: string };
