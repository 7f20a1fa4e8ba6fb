/**
 * Exact counting by the provider (opt-in `exactCounting: 'provider'`): when a request's
 * usage never arrived, its input and received output are counted through the provider's
 * own counting endpoint (the provider folder's `countWithProvider`, with the user's client
 * and credentials), after the request ended, never on its path.
 *
 * Bounded on every side, because the endpoint is the user's quota and may misbehave:
 * - a timeout (the count is abandoned and its HTTP request aborted);
 * - a cap on counts in flight, and one per minute: beyond them the local estimate is used
 *   at once, nothing is queued;
 * - any failure (an error, a refusal, garbage instead of a count) means the local estimate;
 * - the count runs with tracing suppressed: it creates no span of ours or any other
 *   instrumentation's, and it is not a request of the user's (no metrics, no budgets).
 */
import { context, createContextKey, type Context } from '@opentelemetry/api';
import type { ProviderCounts } from './adapter.js';

export interface ProviderCountLimits {
  /** How long one count may take before the local estimate is used. */
  readonly timeoutMs: number;
  /** Counts in flight at once. */
  readonly maxConcurrent: number;
  /** Counts started per minute (a sliding window). */
  readonly maxPerMinute: number;
}

export const DEFAULT_PROVIDER_COUNT_LIMITS: ProviderCountLimits = { timeoutMs: 5_000, maxConcurrent: 4, maxPerMinute: 60 };

/** The same key `@opentelemetry/core`'s `suppressTracing` sets (context keys are `Symbol.for` their name). */
const SUPPRESS_TRACING_KEY = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

export function suppressedTracing(parent: Context = context.active()): Context {
  return parent.setValue(SUPPRESS_TRACING_KEY, true);
}

/** The largest count believed: anything above is garbage, not a prompt. */
const MAX_TOKENS = 100_000_000;

export type ProviderCountTask = (signal: AbortSignal) => Promise<ProviderCounts>;

/** Why a count gave nothing (for tests and diagnostics). */
export type ProviderCountSkip = 'concurrency' | 'rate' | 'timeout' | 'failed' | 'invalid';

export class ProviderCountScheduler {
  private inFlight = 0;
  /** Start times of the counts of the last minute, oldest first. */
  private readonly starts: number[] = [];

  constructor(
    private readonly limits: ProviderCountLimits = DEFAULT_PROVIDER_COUNT_LIMITS,
    private readonly now: () => number = Date.now,
    private readonly onSkip?: (reason: ProviderCountSkip, error?: unknown) => void,
  ) {}

  /** The provider's counts, or undefined (use the local estimate). Never rejects. */
  async count(task: ProviderCountTask): Promise<ProviderCounts | undefined> {
    if (this.inFlight >= this.limits.maxConcurrent) return this.skip('concurrency');
    const now = this.now();
    while (this.starts.length > 0 && now - (this.starts[0] ?? now) >= 60_000) this.starts.shift();
    if (this.starts.length >= this.limits.maxPerMinute) return this.skip('rate');
    this.starts.push(now);
    this.inFlight++;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    try {
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), this.limits.timeoutMs);
        timer.unref?.();
      });
      const counting = context.with(suppressedTracing(), () => task(controller.signal));
      // A late rejection after the timeout must not surface as unhandled.
      counting.catch(() => undefined);
      const result = await Promise.race([counting, timedOut]);
      if (result === 'timeout') {
        controller.abort();
        return this.skip('timeout');
      }
      const counts = validCounts(result);
      return counts ?? this.skip('invalid');
    } catch (error) {
      return this.skip('failed', error);
    } finally {
      clearTimeout(timer);
      this.inFlight--;
    }
  }

  private skip(reason: ProviderCountSkip, error?: unknown): undefined {
    try {
      this.onSkip?.(reason, error);
    } catch {
      // a diagnostic hook must not change the outcome
    }
    return undefined;
  }
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_TOKENS;

/** Keeps the counts that are whole, non-negative, plausible numbers; undefined when none is. */
function validCounts(value: unknown): ProviderCounts | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { input, outputText } = value as { input?: unknown; outputText?: unknown };
  const counts: { input?: number; outputText?: number } = {};
  if (isCount(input)) counts.input = input;
  if (isCount(outputText)) counts.outputText = outputText;
  return counts.input === undefined && counts.outputText === undefined ? undefined : counts;
}
