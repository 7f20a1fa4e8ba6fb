/**
 * Local token counting, behind a small seam so the estimator can change without touching
 * anything else.
 *
 * - Counts are exact (equal to js-tiktoken's) and linear in the text's length at any size
 *   (`bpe/`): a 6,000,000-character run costs about a second, not a stack overflow.
 * - Counting runs in a worker thread (`tokenizer-thread.ts`): building o200k and counting a
 *   long prompt are far beyond what an instrumentation may take from the application's
 *   event loop. If the worker cannot start, dies or stops answering, it is given up once,
 *   with one `diag` warning, and counting continues on the main thread in short slices
 *   (`tokenizer-main-thread.ts`).
 * - Nothing here holds the process open.
 * - Encodings load on the first count that needs them, or earlier when `warmTokenizer` is
 *   called (at enable time): a worker builds them, hands them over in shared memory and
 *   stops (`tokenizer-thread.ts`), so the first cut stream of a fresh process waits for a
 *   worker to start, not for the build.
 *
 * Provider estimators count synchronously (`TokenCounter.count`); `estimateTokens` runs
 * them twice around one asynchronous count: the first pass collects the texts, the second
 * answers from the counts.
 */
import type { EncodingName } from './tokenizer-count.js';
import { MainThreadCounting } from './tokenizer-main-thread.js';
import { TokenizerWorker, TokenizerWorkerUnavailable, type TokenizerWorkerOptions } from './tokenizer-thread.js';
import { logWarning } from './safely.js';

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

/** What `enable()` should warm: o200k serves every current OpenAI model and all Anthropic estimates. */
export const DEFAULT_WARM_ENCODINGS: readonly EncodingName[] = ['o200k_base'];

export interface TokenizerOptions {
  readonly worker?: TokenizerWorkerOptions;
  /** Main-thread time one slice of fallback counting may take. */
  readonly sliceMs?: number;
  /** Where the one warning about giving up the worker goes (OpenTelemetry `diag` by default). */
  readonly warn?: (message: string) => void;
}

/** Counting for one process: one worker, and the main-thread fallback. */
export class Tokenizer {
  private readonly worker: TokenizerWorker;
  private readonly mainThread: MainThreadCounting;
  private workerEnabled = true;

  constructor(options: TokenizerOptions = {}) {
    const warn = options.warn ?? logWarning;
    this.worker = new TokenizerWorker({
      ...options.worker,
      onUnavailable: (reason) =>
        warn(`the tokenizer worker is unavailable (${reason.message}); token counts now run on the main thread, in slices of a few milliseconds`),
    });
    this.mainThread = new MainThreadCounting(options.sliceMs, () => this.worker.sharedCounters());
  }

  /** Tokens in each text, counted off the main thread when possible. */
  async count(encoding: EncodingName, texts: readonly string[]): Promise<readonly number[]> {
    if (texts.length === 0) return [];
    if (this.workerEnabled) {
      try {
        return await this.worker.count(encoding, texts);
      } catch (error) {
        if (!(error instanceof TokenizerWorkerUnavailable)) throw error;
      }
    }
    return this.mainThread.count(encoding, texts);
  }

  /**
   * Has the worker build these encodings now, so that the first estimate does not wait for
   * them. Never loads anything on the main thread, never holds the process open, never throws.
   */
  warm(encodings: readonly EncodingName[] = DEFAULT_WARM_ENCODINGS): void {
    if (this.workerEnabled) this.worker.warm(encodings);
  }

  /** Chooses where counting runs (tests and the benchmark compare both). */
  useWorker(enabled: boolean): void {
    this.workerEnabled = enabled;
  }

  workerState(): 'idle' | 'running' | 'unavailable' {
    return this.worker.state();
  }

  /** Encodings the main-thread fallback has loaded (none while the worker serves). For tests. */
  mainThreadEncodings(): EncodingName[] {
    return this.mainThread.loadedEncodings();
  }

  /** Stops the worker (it restarts on the next count). For tests and the benchmark. */
  stop(): Promise<void> {
    return this.worker.stop();
  }
}

let processTokenizer: Tokenizer | undefined;

/** The process's tokenizer: one worker per process, shared by every instrumentation. */
export function tokenizer(): Tokenizer {
  processTokenizer ??= new Tokenizer();
  return processTokenizer;
}

/** Tokens in each text, counted off the main thread when possible. */
export function countTexts(encoding: EncodingName, texts: readonly string[]): Promise<readonly number[]> {
  return tokenizer().count(encoding, texts);
}

/** Starts building these encodings in the worker (call at enable time). Never throws. */
export function warmTokenizer(encodings: readonly EncodingName[] = DEFAULT_WARM_ENCODINGS): void {
  try {
    tokenizer().warm(encodings);
  } catch {
    // warming is an optimisation: the first count loads what it needs
  }
}

/** Chooses where counting runs (tests and the benchmark compare both). */
export function useTokenizerWorker(enabled: boolean): void {
  tokenizer().useWorker(enabled);
}

/** Whether counts currently go to a worker. For tests and the benchmark. */
export function tokenizerWorkerState(): 'idle' | 'running' | 'unavailable' {
  return tokenizer().workerState();
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
  estimate({
    encoding,
    count: (text) => {
      texts.push(text);
      chars += text.length;
      return 0;
    },
  });
  // Too long to be worth counting (calibration samples only): no figure.
  if (options?.maxChars !== undefined && chars > options.maxChars) return Number.NaN;
  const counts = await countTexts(encoding, texts);
  const known = new Map<string, number>();
  for (const [i, text] of texts.entries()) known.set(text, counts[i] ?? roughTokenCounter.count(text));
  return estimate({ encoding, count: (text) => known.get(text) ?? roughTokenCounter.count(text) });
}
