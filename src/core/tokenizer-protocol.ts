/** Messages between the main thread and the tokenizer worker. */
import type { EncodingName } from './tokenizer-count.js';

export interface CountRequest {
  readonly id: number;
  readonly encoding: EncodingName;
  readonly texts: readonly string[];
}

export type CountReply =
  | { readonly id: number; readonly counts: readonly number[] }
  | { readonly id: number; readonly error: string };
