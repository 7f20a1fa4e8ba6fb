/**
 * Counting on the main thread, for when the worker is unavailable (or switched off):
 * the same counter as the worker's, built and run in short slices (`tokenizer-slices.ts`)
 * so that a cold encoder or a long text never stalls the application for long. A table a
 * worker already built (the warm-up's, in shared memory) is used as it is: a worker that
 * cannot start at the first count then costs no build here.
 */
import { BpeCounter, buildCounter, importRankData, type EncodingName } from './tokenizer-count.js';
import type { SharedCounters } from './tokenizer-protocol.js';
import { DEFAULT_SLICE_MS, runInSlices } from './tokenizer-slices.js';

export class MainThreadCounting {
  private readonly counters = new Map<EncodingName, Promise<BpeCounter>>();

  constructor(
    private readonly sliceMs: number = DEFAULT_SLICE_MS,
    private readonly builtElsewhere: () => SharedCounters = () => ({}),
  ) {}

  async count(encoding: EncodingName, texts: readonly string[]): Promise<readonly number[]> {
    const counter = await this.counter(encoding);
    const counts: number[] = [];
    for (const text of texts) counts.push(await runInSlices(counter.count(text), this.sliceMs));
    return counts;
  }

  /** Encodings loaded (or loading) on the main thread. For tests. */
  loadedEncodings(): EncodingName[] {
    return [...this.counters.keys()];
  }

  private counter(encoding: EncodingName): Promise<BpeCounter> {
    let counter = this.counters.get(encoding);
    if (!counter) {
      const shared = this.builtElsewhere()[encoding];
      counter = shared
        ? Promise.resolve().then(() => BpeCounter.fromShared(shared))
        : importRankData(encoding).then((data) => runInSlices(buildCounter(data), this.sliceMs));
      this.counters.set(encoding, counter);
      // A failed load may succeed later (for example a transient file-system error).
      counter.catch(() => this.counters.delete(encoding));
    }
    return counter;
  }
}
