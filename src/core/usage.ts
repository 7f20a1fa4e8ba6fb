/**
 * Fills in, value by value, what the provider did not report. A reported figure is never
 * replaced by an estimate; an estimate is always marked as one.
 */
import type { ResolvedUsage, UsageValue } from './model.js';
import type { FinishedRequest } from './record.js';
import { logInternalError } from './safely.js';
import { calibrationKey, estimateCalibration, isReasoningModel, MAX_SAMPLED_CHARS, requestedEffort } from './calibration.js';
import { countTexts, estimateTokens, roughTokenCounter } from './tokenizer.js';

const reported = (value: number): UsageValue => ({ value, source: 'reported' });
const estimated = (value: number): UsageValue => ({ value: Math.max(0, Math.round(value)), source: 'estimated' });
/** Counting failed altogether: no number at all is better than a made-up one. */
const estimatedOrUnknown = (value: number | undefined): UsageValue =>
  value === undefined ? { value: 0, source: 'unknown' } : estimated(value);

export async function resolveUsage(done: FinishedRequest): Promise<ResolvedUsage> {
  const { reported: usage, call } = done;
  // A request never sent (a budget refused it) or refused with an HTTP error was never
  // processed: nothing to bill.
  const refused = !done.sent || (done.chunks === 0 && isHttpRefusal(done.error));

  // Both counts go to the worker at once: one round trip, not two in a row.
  const countingOutput =
    usage.output === undefined && done.outputText.length > 0
      ? estimateSafely(
          async () => (await countTexts(call.estimator.encoding, [done.outputText]))[0] ?? Number.NaN,
          () => roughTokenCounter.count(done.outputText),
        )
      : undefined;

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

  const provider = call.description.provider;
  const model = done.responseModel ?? call.description.model;
  const key = calibrationKey(provider, model, requestedEffort(call.body));
  const fitted = call.estimator.outputFactor;
  const overhead = done.outputText.length > 0 ? outputOverhead(done) : 0;

  let output: UsageValue;
  let reasoning: UsageValue | undefined = usage.reasoning === undefined ? undefined : reported(usage.reasoning);
  let calibration: number | undefined;
  if (usage.output !== undefined) {
    output = reported(usage.output);
    if (done.outcome === 'completed') learnFrom(done, key, fitted, overhead, usage.output);
  } else if (done.outputText.length === 0) output = estimated(0);
  else {
    const counted = await countingOutput;
    calibration = estimateCalibration.outputFactor(key, fitted);
    const visible = counted === undefined ? undefined : counted * calibration + overhead;
    // Hidden reasoning is never streamed: estimate it from what this model family reported
    // before (never 0 for a model that reasons), and count it in the output, as providers do.
    if (visible !== undefined && reasoning === undefined && isReasoningModel(provider, model)) {
      reasoning = estimated(estimateCalibration.reasoningTokens(key));
      output = estimated(visible + reasoning.value);
    } else output = estimatedOrUnknown(visible);
  }

  return {
    input,
    output,
    cacheRead: usage.cacheRead === undefined ? undefined : reported(usage.cacheRead),
    cacheCreation: usage.cacheCreation === undefined ? undefined : reported(usage.cacheCreation),
    reasoning,
    ...(calibration !== undefined ? { calibration } : {}),
  };
}

function outputOverhead(done: FinishedRequest): number {
  try {
    const value = done.call.estimator.outputOverhead?.() ?? 0;
    return Number.isFinite(value) && value > 0 ? value : 0;
  } catch (error) {
    logInternalError('estimating output overhead', error);
    return 0;
  }
}

/**
 * Teaches the calibration from a completed request with reported usage. The text is
 * counted only for a sample, in the tokenizer worker, and nobody waits for it.
 */
function learnFrom(done: FinishedRequest, key: string, fitted: number, overhead: number, reportedOutput: number): void {
  const { provider } = done.call.description;
  const reportedReasoning = done.reported.reasoning;
  const chars = done.outputText.length;
  const sampled = chars > 0 && chars <= MAX_SAMPLED_CHARS && estimateCalibration.shouldSample(key, fitted);
  if (!sampled) {
    if (reportedReasoning !== undefined) estimateCalibration.observe(key, provider, fitted, { overhead, reportedOutput, reportedReasoning });
    return;
  }
  countTexts(done.call.estimator.encoding, [done.outputText]).then(
    ([counted]) => estimateCalibration.observe(key, provider, fitted, { counted, overhead, reportedOutput, reportedReasoning }),
    (error: unknown) => logInternalError('calibrating estimates', error),
  );
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
