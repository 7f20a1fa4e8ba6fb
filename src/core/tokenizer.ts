/**
 * Local token counting with js-tiktoken, behind a small seam so the estimator can change
 * without touching anything else.
 *
 * - Counting runs in a worker thread (tokenizer-thread.ts): building o200k takes ~600 ms
 *   and a 100k-token prompt tens of milliseconds, both far beyond what an
 *   instrumentation may take from the application's event loop. If the worker cannot
 *   run, the same counting runs on the main thread instead.
 * - Encodings load lazily, on the first estimate that needs them: a service whose
 *   streams always report usage never pays for them.
 * - The long-run guard (tokenizer-count.ts) bounds the cost of whitespace-free blobs.
 *
 * Provider estimators count synchronously (`TokenCounter.count`); `estimateTokens` runs
 * them twice around one worker round trip: the first pass collects the texts, the
 * second answers from the worker's counts.
 */
import { countGuarded, loadEncoder, type EncodingName } from './tokenizer-count.js';
import { countInWorker, TokenizerWorkerUnavailable } from './tokenizer-thread.js';

export type { EncodingName } from './tokenizer-count.js';

export interface TokenCounter {
  readonly encoding: EncodingName;
  /** Tokens in `text`, special-token markers counted as plain text. */
  count(text: string): number;
}

/** The cheap fallback when no encoder can be loaded: about four characters per token. */
export const roughTokenCounter: TokenCounter = {
  encoding: 'o200k_base',
  count: (text) => Math.ceil(text.length / 4),
};

let useWorker = true;

/** Chooses where counting runs (tests and the benchmark compare both). */
export function useTokenizerWorker(enabled: boolean): void {
  useWorker = enabled;
}

/** Tokens in each text, counted off the main thread when possible. */
export async function countTexts(encoding: EncodingName, texts: readonly string[]): Promise<readonly number[]> {
  if (texts.length === 0) return [];
  if (useWorker) {
    try {
      return await countInWorker(encoding, texts);
    } catch (error) {
      if (!(error instanceof TokenizerWorkerUnavailable)) throw error;
    }
  }
  const counter = await loadTokenCounter(encoding);
  return texts.map((text) => counter.count(text));
}

/**
 * Runs a synchronous estimate with real token counts obtained asynchronously. A text
 * the second pass asks for that the first did not (the request body changed meanwhile)
 * is counted roughly rather than waited for again. With `maxChars`, an estimate whose texts
 * are longer in total is not counted at all (NaN).
 */
export async function estimateTokens(
  encoding: EncodingName,
  estimate: (counter: TokenCounter) => number,
  options?: { readonly maxChars?: number },
): Promise<number> {
  const texts: string[] = [];
  let chars = 0;
  estimate({ encoding, count: (text) => (texts.push(text), (chars += text.length), 0) });
  // Too long to be worth counting (calibration samples only): no figure.
  if (options?.maxChars !== undefined && chars > options.maxChars) return Number.NaN;
  const counts = await countTexts(encoding, texts);
  const known = new Map<string, number>();
  texts.forEach((text, i) => known.set(text, counts[i] ?? roughTokenCounter.count(text)));
  return estimate({ encoding, count: (text) => known.get(text) ?? roughTokenCounter.count(text) });
}

const loading = new Map<EncodingName, Promise<TokenCounter>>();

/** A counter on the main thread: the fallback when the worker is unavailable. */
export function loadTokenCounter(encoding: EncodingName): Promise<TokenCounter> {
  let counter = loading.get(encoding);
  if (!counter) {
    counter = loadEncoder(encoding).then((encoder) => ({ encoding, count: (text: string) => countGuarded(encoder, text) }));
    loading.set(encoding, counter);
    // A failed load may succeed later (for example a transient file-system error).
    counter.catch(() => loading.delete(encoding));
  }
  return counter;
}
