/**
 * Fills in, value by value, what the provider did not report. A reported figure is never
 * replaced by an estimate; an estimate is always marked as one, with how it was made
 * (`local`, or `provider_count` when the provider's counting endpoint was asked) and, for
 * input the provider adds or removes out of sight, which way it is off (`inputBound`).
 *
 * Everything provider-specific comes through the call's `UsageEstimator` (the provider
 * folder): counting rules, hidden-reasoning expectations, calibration keys and bands.
 * Completed requests that report usage teach the calibration passed in.
 */
import type { ProviderCounts, ReasoningExpectation, UsageEstimator } from './adapter.js';
import { MAX_SAMPLED_CHARS, MAX_SAMPLED_INPUT_CHARS, type EstimateCalibration } from './calibration.js';
import { estimateHidden, learnHidden, learnsFromResidual } from './hidden-reasoning.js';
import type { EndedRequest } from './lifecycle.js';
import { SERVER_TOOLS, type EstimateMethod, type ResolvedUsage, type ServerTool, type UsageValue } from './model.js';
import type { ProviderCountScheduler } from './provider-count.js';
import { logInternalError } from './safely.js';
import { countTexts, estimateTokens, roughTokenCounter } from './tokenizer.js';

const reported = (value: number): UsageValue => ({ value, source: 'reported' });
const estimated = (value: number): UsageValue => ({ value: Math.max(0, Math.round(value)), source: 'estimated' });
/** Counting failed altogether: no number at all is better than a made-up one. */
const estimatedOrUnknown = (value: number | undefined): UsageValue => (value === undefined ? { value: 0, source: 'unknown' } : estimated(value));

export interface EstimateContext {
  /** What this instrumentation has learned from completed requests. */
  readonly calibration: EstimateCalibration;
  /** Set with `exactCounting: 'provider'`: counts through the provider's own endpoint. */
  readonly providerCounts?: ProviderCountScheduler;
  /**
   * Resolves when the estimate must not wait any longer (a shutdown is flushing): what is
   * not counted by then is counted roughly, still marked estimated.
   */
  readonly hurry?: Promise<void>;
  /** Work nobody waits for now, which a flush should still wait for (learning from a sample). */
  readonly background?: (work: Promise<unknown>) => void;
}

export async function resolveUsage(done: EndedRequest, context: EstimateContext): Promise<ResolvedUsage> {
  const { calibration, providerCounts, hurry } = context;
  const { reported: usage, call } = done;
  const { estimator } = call;
  // A request never sent (a budget refused it) or refused with an HTTP error was never
  // processed: nothing to bill.
  const refused = !done.sent || (done.chunks === 0 && isHttpRefusal(done.error));
  const spec = estimator.calibration;
  const needsInput = usage.input === undefined && !refused;
  const needsOutput = usage.output === undefined && done.outputText.length > 0;
  const methods = new Set<EstimateMethod>();

  // Only a request whose usage is missing is ever counted through the provider.
  const counted = needsInput || needsOutput ? await countThroughProvider(done, providerCounts, needsInput, needsOutput, hurry) : undefined;

  // The output's local count starts now, beside the input's: one worker round trip, not two in a row.
  const countingOutput =
    needsOutput && counted?.outputText === undefined
      ? estimateSafely(
          async () => (await countTexts(estimator.encoding, [done.outputText]))[0] ?? Number.NaN,
          () => roughTokenCounter.count(done.outputText),
          hurry,
        )
      : undefined;

  let input: UsageValue;
  let inputOffset: number | undefined;
  if (usage.input !== undefined) input = reported(usage.input);
  else if (refused) input = estimated(0);
  else if (counted?.input !== undefined) {
    input = estimated(counted.input);
    methods.add('provider_count');
  } else {
    const local = await estimateSafely(
      () => estimateTokens(estimator.encoding, (tokens) => estimator.estimateInput(tokens)),
      () => estimator.estimateInput(roughTokenCounter),
      hurry,
    );
    // What this process learned the provider adds to prompts of this kind.
    const offset = local !== undefined && spec ? calibration.inputOffset(spec.inputKey) : 0;
    if (offset !== 0) inputOffset = offset;
    input = estimatedOrUnknown(local === undefined ? undefined : local + offset);
    methods.add('local');
  }
  const inputBound = input.source === 'estimated' && !refused ? boundOf(estimator) : undefined;

  const fitted = estimator.outputFactor;
  const overhead = done.outputText.length > 0 ? outputOverhead(estimator) : 0;
  const expectation = hiddenReasoning(estimator);

  let output: UsageValue;
  let reasoning: UsageValue | undefined = usage.reasoning === undefined ? undefined : reported(usage.reasoning);
  let factor: number | undefined;
  if (usage.output !== undefined) {
    output = reported(usage.output);
    if (done.outcome === 'completed') {
      const learning = [
        learnOutput(done, calibration, overhead, usage.output, expectation),
        usage.input !== undefined ? learnInput(done, calibration, usage.input) : undefined,
      ];
      for (const work of learning) if (work) context.background?.(work);
    }
  } else if (done.outputText.length === 0) output = estimated(0);
  else {
    let textTokens: number | undefined;
    // The overhead's correction of the local text count, where the provider counted the text itself.
    let corrected = 0;
    if (counted?.outputText !== undefined) {
      textTokens = counted.outputText;
      corrected = Math.min(overhead, textCorrection(estimator));
      methods.add('provider_count');
    } else {
      const local = await countingOutput;
      factor = spec ? calibration.outputFactor(spec.outputKey, fitted) : fitted;
      textTokens = local === undefined ? undefined : local * factor;
      methods.add('local');
    }
    const visible = textTokens === undefined ? undefined : textTokens + overhead - corrected;
    // Hidden reasoning is never streamed: where it may have happened, estimate it from what
    // this model family showed before, and count it in the output, as providers do.
    if (textTokens !== undefined && visible !== undefined && reasoning === undefined && expectation.kind !== 'none') {
      const { hidden, reasoning: thought } = estimateHidden(expectation, calibration, spec, textTokens, done.outputText.length);
      if (thought !== undefined && Math.round(thought) > 0) reasoning = estimated(thought);
      output = estimated(visible + hidden);
    } else output = estimatedOrUnknown(visible);
  }

  // `local` wins when the two mix: a value not counted by the provider is a local estimate.
  const estimateMethod: EstimateMethod | undefined = methods.has('local') ? 'local' : methods.has('provider_count') ? 'provider_count' : undefined;
  return {
    input,
    ...(inputBound !== undefined ? { inputBound } : {}),
    ...(inputOffset !== undefined ? { inputOffset } : {}),
    output,
    cacheRead: usage.cacheRead === undefined ? undefined : reported(usage.cacheRead),
    cacheCreation: usage.cacheCreation === undefined ? undefined : reported(usage.cacheCreation),
    ...(usage.cacheCreation1h === undefined ? {} : { cacheCreation1h: reported(usage.cacheCreation1h) }),
    ...toolCalls(done),
    reasoning,
    ...(factor !== undefined ? { calibration: factor } : {}),
    ...(estimateMethod !== undefined ? { estimateMethod } : {}),
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

async function countThroughProvider(
  done: EndedRequest,
  scheduler: ProviderCountScheduler | undefined,
  input: boolean,
  output: boolean,
  hurry: Promise<void> | undefined,
): Promise<ProviderCounts | undefined> {
  const { estimator } = done.call;
  if (!scheduler || !estimator.countWithProvider || !done.sent) return undefined;
  const request = { input, output, text: done.outputText };
  const counting = scheduler.count((signal) => estimator.countWithProvider!(request, signal));
  // A shutdown does not wait for the provider: the local count takes over.
  return hurry ? Promise.race([counting, hurry.then(() => undefined)]) : counting;
}

function boundOf(estimator: UsageEstimator): ResolvedUsage['inputBound'] {
  try {
    return estimator.inputBound?.();
  } catch (error) {
    logInternalError('reading the input bound', error);
    return undefined;
  }
}

function outputOverhead(estimator: UsageEstimator): number {
  return tokensFrom('estimating output overhead', () => estimator.outputOverhead?.());
}

function textCorrection(estimator: UsageEstimator): number {
  return tokensFrom('correcting the output text count', () => estimator.outputTextCorrection?.());
}

/** A token figure an estimator gives: 0 when it gives none, a non-finite or negative one, or throws. */
function tokensFrom(what: string, read: () => number | undefined): number {
  try {
    const value = read() ?? 0;
    return Number.isFinite(value) && value > 0 ? value : 0;
  } catch (error) {
    logInternalError(what, error);
    return 0;
  }
}

function hiddenReasoning(estimator: UsageEstimator): ReturnType<NonNullable<UsageEstimator['hiddenReasoning']>> {
  try {
    const expectation = estimator.hiddenReasoning?.();
    if (expectation?.kind === 'typical' && Number.isFinite(expectation.defaultTokens)) return expectation;
    if (expectation?.kind === 'summarized' && Number.isFinite(expectation.defaultShare) && Number.isFinite(expectation.summaryChars)) return expectation;
  } catch (error) {
    logInternalError('estimating hidden reasoning', error);
  }
  return { kind: 'none' };
}

/**
 * Teaches the output factor and the typical hidden reasoning from a completed request with
 * reported usage. The text is counted only for a sample, in the tokenizer worker, and
 * nobody waits for it. Where reasoning may have happened, a report without reasoning
 * tokens teaches a zero. Where the hidden part shows only as a residual (Claude thinking),
 * the request teaches that residual and not the factor, which it would inflate.
 */
function learnOutput(
  done: EndedRequest,
  calibration: EstimateCalibration,
  overhead: number,
  reportedOutput: number,
  expectation: ReasoningExpectation,
): Promise<void> | undefined {
  const spec = done.call.estimator.calibration;
  if (!spec) return undefined;
  const key = spec.outputKey;
  const fitted = done.call.estimator.outputFactor;
  const residual = learnsFromResidual(expectation);
  const reportedReasoning = expectation.kind === 'typical' && !residual ? (done.reported.reasoning ?? 0) : undefined;
  const chars = done.outputText.length;
  const sampled = chars > 0 && chars <= MAX_SAMPLED_CHARS && calibration.shouldSample(key);
  const teachResidual = (counted: number | undefined): void =>
    learnHidden(expectation, calibration, spec, {
      counted,
      factor: calibration.outputFactor(key, fitted),
      overhead,
      reportedOutput,
      reportedReasoning: done.reported.reasoning,
      chars,
    });
  if (!sampled) {
    if (residual) teachResidual(undefined);
    else if (reportedReasoning !== undefined) calibration.observe(key, spec.outputFactorBounds, fitted, { overhead, reportedOutput, reportedReasoning });
    return undefined;
  }
  return countTexts(done.call.estimator.encoding, [done.outputText]).then(
    ([counted]) =>
      residual ? teachResidual(counted) : calibration.observe(key, spec.outputFactorBounds, fitted, { counted, overhead, reportedOutput, reportedReasoning }),
    (error: unknown) => logInternalError('calibrating estimates', error),
  );
}

/**
 * Teaches the input offset (reported − counted) from a sample of completed requests whose
 * whole input the request shows, counted in the tokenizer worker; nobody waits for it.
 */
function learnInput(done: EndedRequest, calibration: EstimateCalibration, reportedInput: number): Promise<void> | undefined {
  const { estimator } = done.call;
  const spec = estimator.calibration;
  if (!spec || boundOf(estimator) !== undefined || !calibration.shouldSampleInput(spec.inputKey)) return undefined;
  return estimateTokens(estimator.encoding, (tokens) => estimator.estimateInput(tokens), { maxChars: MAX_SAMPLED_INPUT_CHARS }).then(
    (counted) => {
      if (counted <= spec.inputOffsetMaxTokens) calibration.observeInput(spec.inputKey, spec.inputOffsetBounds, counted, reportedInput);
    },
    (error: unknown) => logInternalError('calibrating input estimates', error),
  );
}

/**
 * A tokenizer failure degrades to a rough count (still marked estimated), and a failure of
 * that too to `undefined` (marked unknown), never to an error.
 */
async function estimateSafely(estimate: () => Promise<number>, rough: () => number, hurry: Promise<void> | undefined): Promise<number | undefined> {
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
