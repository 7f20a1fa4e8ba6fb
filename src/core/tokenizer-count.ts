/**
 * What the tokenizer worker and the main-thread fallback share: loading an encoding's
 * rank data and building its counter (`bpe/counter.ts`: exact, linear at any size).
 * Building is a generator so that the main thread can do it in slices.
 */
import { BpeCounter } from './bpe/counter.js';
import type { RankData } from './bpe/rank-table.js';

export type EncodingName = 'o200k_base' | 'cl100k_base';
export { BpeCounter } from './bpe/counter.js';

export function isEncodingName(value: unknown): value is EncodingName {
  return value === 'o200k_base' || value === 'cl100k_base';
}

/** js-tiktoken's rank data for the encoding (a 1–2 MB module, parsed in ~10–30 ms). */
export async function importRankData(encoding: EncodingName): Promise<RankData> {
  const module = encoding === 'cl100k_base' ? await import('js-tiktoken/ranks/cl100k_base') : await import('js-tiktoken/ranks/o200k_base');
  return module.default;
}

/** Builds the counter for rank data, yielding every few thousand tokens. */
export function buildCounter(data: RankData): Generator<void, BpeCounter> {
  return BpeCounter.build(data);
}
