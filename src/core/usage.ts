/**
 * Fills in, value by value, what the provider did not report. A reported figure is never
 * replaced by an estimate; an estimate is always marked as one.
 */
import type { ResolvedUsage, UsageValue } from './model.js';
import type { FinishedRequest } from './record.js';
import { logInternalError } from './safely.js';
import { loadTokenCounter, roughTokenCounter, type TokenCounter } from './tokenizer.js';

const reported = (value: number): UsageValue => ({ value, source: 'reported' });
const estimated = (value: number): UsageValue => ({ value: Math.max(0, Math.round(value)), source: 'estimated' });

export async function resolveUsage(done: FinishedRequest): Promise<ResolvedUsage> {
  const { reported: usage, call } = done;
  let counter: TokenCounter | undefined;
  const getCounter = async (): Promise<TokenCounter> => {
    counter ??= await loadTokenCounter(call.estimator.encoding).catch((error: unknown) => {
      logInternalError('loading the tokenizer', error);
      return roughTokenCounter;
    });
    return counter;
  };

  // A request the provider refused with an HTTP error was never processed: nothing to bill.
  const refused = done.chunks === 0 && isHttpRefusal(done.error);

  let input: UsageValue;
  if (usage.input !== undefined) input = reported(usage.input);
  else if (refused) input = estimated(0);
  else {
    const tokens = await getCounter();
    input = estimated(estimateSafely(() => call.estimator.estimateInput(tokens), () => roughTokenCounter.count(JSON.stringify(call.body) ?? '')));
  }

  let output: UsageValue;
  if (usage.output !== undefined) output = reported(usage.output);
  else if (done.outputText.length === 0) output = estimated(0);
  else {
    const tokens = await getCounter();
    output = estimated(
      estimateSafely(() => tokens.count(done.outputText), () => roughTokenCounter.count(done.outputText)) *
        call.estimator.outputFactor,
    );
  }

  return {
    input,
    output,
    cacheRead: usage.cacheRead === undefined ? undefined : reported(usage.cacheRead),
    cacheCreation: usage.cacheCreation === undefined ? undefined : reported(usage.cacheCreation),
    reasoning: usage.reasoning === undefined ? undefined : reported(usage.reasoning),
  };
}

function estimateSafely(estimate: () => number, fallback: () => number): number {
  try {
    const value = estimate();
    if (Number.isFinite(value)) return value;
  } catch (error) {
    logInternalError('estimating tokens', error);
  }
  return fallback();
}

function isHttpRefusal(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const status = (error as { status?: unknown }).status;
  return typeof status === 'number' && status >= 400;
}
