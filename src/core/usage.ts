/**
 * Fills in, value by value, what the provider did not report. A reported figure is never
 * replaced by an estimate; an estimate is always marked as one.
 */
import { SERVER_TOOLS, type ResolvedUsage, type ServerTool, type UsageValue } from './model.js';
import type { EndedRequest } from './lifecycle.js';
import { logInternalError } from './safely.js';
import { calibrationKey, isReasoningModel, MAX_SAMPLED_CHARS, requestedEffort, type EstimateCalibration } from './calibration.js';
import { countTexts, estimateTokens, roughTokenCounter } from './tokenizer.js';

export interface EstimateContext {
  /** What this instrumentation has learned from completed requests. */
  readonly calibration: EstimateCalibration;
  /**
   * Resolves when the estimate must not wait for the tokenizer any longer (a shutdown is
   * flushing): what is not counted by then is counted roughly, still marked estimated.
   */
  readonly hurry?: Promise<void>;
  /** Work nobody waits for now, which a flush should still wait for (learning from a sample). */
  readonly background?: (work: Promise<unknown>) => void;
}

const reported = (value: number): UsageValue => ({ value, source: 'reported' });
const estimated = (value: number): UsageValue => ({ value: Math.max(0, Math.round(value)), source: 'estimated' });
/** Counting failed altogether: no number at all is better than a made-up one. */
const estimatedOrUnknown = (value: number | undefined): UsageValue =>
  value === undefined ? { value: 0, source: 'unknown' } : estimated(value);

export async function resolveUsage(done: EndedRequest, context: EstimateContext): Promise<ResolvedUsage> {
  const { calibration: estimateCalibration, hurry } = context;
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
        hurry,
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
    if (done.outcome === 'completed') {
      const learning = learnFrom(done, estimateCalibration, key, fitted, overhead, usage.output);
      if (learning) context.background?.(learning);
    }
  } else if (done.outputText.length === 0) output = estimated(0);
  else {
    const counted = await estimateSafely(
      async () => (await countTexts(call.estimator.encoding, [done.outputText]))[0] ?? Number.NaN,
      () => roughTokenCounter.count(done.outputText),
      hurry,
    );
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
    ...(usage.cacheCreation1h === undefined ? {} : { cacheCreation1h: reported(usage.cacheCreation1h) }),
    ...toolCalls(done),
    reasoning,
    ...(calibration !== undefined ? { calibration } : {}),
  };
}

/**
 * Server-side tool calls: the provider's figure once the response completed; counted from
 * a stream cut short, an estimate (a call cut off may or may not have been billed).
 */
function toolCalls(done: EndedRequest): Pick<ResolvedUsage, 'toolCalls'> {
  let calls: Partial<Record<ServerTool, UsageValue>> | undefined;
  const source = done.outcome === 'completed' ? 'reported' : 'estimated';
  for (const tool of SERVER_TOOLS) {
    const count = done.toolCalls[tool];
    if (count !== undefined && count > 0) (calls ??= {})[tool] = { value: count, source };
  }
  return calls ? { toolCalls: calls } : {};
}

function outputOverhead(done: EndedRequest): number {
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
function learnFrom(
  done: EndedRequest,
  estimateCalibration: EstimateCalibration,
  key: string,
  fitted: number,
  overhead: number,
  reportedOutput: number,
): Promise<void> | undefined {
  const { provider } = done.call.description;
  const reportedReasoning = done.reported.reasoning;
  const chars = done.outputText.length;
  const sampled = chars > 0 && chars <= MAX_SAMPLED_CHARS && estimateCalibration.shouldSample(key, fitted);
  if (!sampled) {
    if (reportedReasoning !== undefined) estimateCalibration.observe(key, provider, fitted, { overhead, reportedOutput, reportedReasoning });
    return undefined;
  }
  return countTexts(done.call.estimator.encoding, [done.outputText]).then(
    ([counted]) => estimateCalibration.observe(key, provider, fitted, { counted, overhead, reportedOutput, reportedReasoning }),
    (error: unknown) => logInternalError('calibrating estimates', error),
  );
}

/**
 * A tokenizer failure degrades to a rough count (still marked estimated), and a failure of
 * that too to `undefined` (marked unknown), never to an error.
 */
async function estimateSafely(
  estimate: () => Promise<number>,
  rough: () => number,
  hurry: Promise<void> | undefined,
): Promise<number | undefined> {
  try {
    const counted = estimate();
    const value = hurry ? await Promise.race([counted, hurry.then(() => Number.NaN)]) : await counted;
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
