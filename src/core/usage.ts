/**
 * Fills in, value by value, what the provider did not report. A reported figure is never
 * replaced by an estimate; an estimate is always marked as one.
 */
import type { ResolvedUsage, UsageValue } from './model.js';
import type { FinishedRequest } from './record.js';
import { logInternalError } from './safely.js';
import { countTexts, estimateTokens, roughTokenCounter } from './tokenizer.js';

const reported = (value: number): UsageValue => ({ value, source: 'reported' });
const estimated = (value: number): UsageValue => ({ value: Math.max(0, Math.round(value)), source: 'estimated' });
/** Counting failed altogether: no number at all is better than a made-up one. */
const estimatedOrUnknown = (value: number | undefined, factor = 1): UsageValue =>
  value === undefined ? { value: 0, source: 'unknown' } : estimated(value * factor);

export async function resolveUsage(done: FinishedRequest): Promise<ResolvedUsage> {
  const { reported: usage, call } = done;
  // A request never sent (a budget refused it) or refused with an HTTP error was never
  // processed: nothing to bill.
  const refused = !done.sent || (done.chunks === 0 && isHttpRefusal(done.error));

  let input: UsageValue;
  if (usage.input !== undefined) input = reported(usage.input);
  else if (refused) input = estimated(0);
  else {
    const { estimator } = call;
    input = estimatedOrUnknown(
      await estimateSafely(
        () => estimateTokens(estimator.encoding, (tokens) => estimator.estimateInput(tokens)),
        () => estimator.estimateInput(roughTokenCounter),
      ),
    );
  }

  let output: UsageValue;
  if (usage.output !== undefined) output = reported(usage.output);
  else if (done.outputText.length === 0) output = estimated(0);
  else {
    const counted = await estimateSafely(
      async () => (await countTexts(call.estimator.encoding, [done.outputText]))[0] ?? Number.NaN,
      () => roughTokenCounter.count(done.outputText),
    );
    output = estimatedOrUnknown(counted, call.estimator.outputFactor);
  }

  return {
    input,
    output,
    cacheRead: usage.cacheRead === undefined ? undefined : reported(usage.cacheRead),
    cacheCreation: usage.cacheCreation === undefined ? undefined : reported(usage.cacheCreation),
    reasoning: usage.reasoning === undefined ? undefined : reported(usage.reasoning),
  };
}

/**
 * A tokenizer failure degrades to a rough count (still marked estimated), and a failure of
 * that too to `undefined` (marked unknown), never to an error.
 */
async function estimateSafely(estimate: () => Promise<number>, rough: () => number): Promise<number | undefined> {
  try {
    const value = await estimate();
    if (Number.isFinite(value)) return value;
  } catch (error) {
    logInternalError('estimating tokens', error);
  }
  try {
    const value = rough();
    if (Number.isFinite(value)) return value;
  } catch (error) {
    logInternalError('estimating tokens roughly', error);
  }
  return undefined;
}

function isHttpRefusal(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const status = (error as { status?: unknown }).status;
  return typeof status === 'number' && status >= 400;
}
