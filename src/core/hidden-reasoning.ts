/**
 * Reasoning the provider bills but never streams, for a request whose usage is missing,
 * and what a completed request teaches about it. The provider folder says what to expect
 * (`ReasoningExpectation`); the figures are learned per key by the calibration:
 *
 * - `typical`: a count per response (OpenAI hidden reasoning; Claude thinking whose text
 *   is not returned). The reported reasoning is all hidden (OpenAI), or the hidden part is
 *   what the reported output holds beyond the received text and its framing (Claude);
 * - `summarized`: the reasoning arrived as a summary and is billed in full (Claude 4 and
 *   later): the hidden part is a share of the summary's tokens, learned from the same
 *   residual. The estimated reasoning is then the summary and what it left out.
 */
import type { CalibrationSpec, ReasoningExpectation } from './adapter.js';
import type { EstimateCalibration } from './calibration.js';

export interface HiddenEstimate {
  /** Tokens to add to the output beyond the received text and its framing. */
  readonly hidden: number;
  /** The reasoning tokens this estimate stands for, when there are any. */
  readonly reasoning?: number;
}

const hiddenKey = (spec: CalibrationSpec | undefined): string | undefined => spec?.hiddenKey ?? spec?.outputKey;

/** Whether a completed request shows its hidden reasoning only as a residual (nothing reports it apart). */
export function learnsFromResidual(expectation: ReasoningExpectation): boolean {
  return expectation.kind === 'summarized' || (expectation.kind === 'typical' && expectation.learnFrom === 'residual');
}

/**
 * The hidden reasoning of a request whose usage is missing. `textTokens`: the received text
 * in the provider's tokens (counted and scaled by the output factor); `chars`: its length.
 */
export function estimateHidden(
  expectation: ReasoningExpectation,
  calibration: EstimateCalibration,
  spec: CalibrationSpec | undefined,
  textTokens: number,
  chars: number,
): HiddenEstimate {
  const key = hiddenKey(spec);
  if (expectation.kind === 'typical') {
    const typical = key ? calibration.reasoningTokens(key, expectation.defaultTokens) : expectation.defaultTokens;
    return typical > 0 ? { hidden: typical, reasoning: typical } : { hidden: 0 };
  }
  if (expectation.kind !== 'summarized') return { hidden: 0 };
  const summary = summaryTokens(textTokens, expectation.summaryChars, chars);
  if (summary <= 0) return { hidden: 0 };
  const share = key ? calibration.hiddenShare(key, expectation.defaultShare) : expectation.defaultShare;
  const hidden = Math.max(0, share * summary);
  return { hidden, reasoning: summary + hidden };
}

/** What one completed request with reported output shows beyond its received text. */
export interface ResidualSample {
  /** Locally counted tokens of the received text (undefined when it was not counted). */
  readonly counted: number | undefined;
  /** The output factor in force for this request's key. */
  readonly factor: number;
  readonly overhead: number;
  readonly reportedOutput: number;
  /** Reported reasoning tokens (Claude `output_tokens_details.thinking_tokens`), when the provider gives them. */
  readonly reportedReasoning: number | undefined;
  readonly chars: number;
}

/**
 * Teaches the calibration the hidden reasoning of a completed request whose expectation
 * `learnsFromResidual`: reported output − framing − the received text in provider tokens.
 * Where nothing was streamed of the reasoning, a reported reasoning count is all hidden and
 * needs no counting.
 */
export function learnHidden(
  expectation: ReasoningExpectation,
  calibration: EstimateCalibration,
  spec: CalibrationSpec | undefined,
  sample: ResidualSample,
): void {
  const key = hiddenKey(spec);
  if (!key || !learnsFromResidual(expectation)) return;
  if (expectation.kind === 'typical' && sample.reportedReasoning !== undefined) {
    calibration.observeHidden(key, sample.reportedReasoning);
    return;
  }
  if (sample.counted === undefined) return;
  const textTokens = sample.counted * sample.factor;
  const hidden = Math.max(0, sample.reportedOutput - sample.overhead - textTokens);
  if (expectation.kind === 'typical') calibration.observeHidden(key, hidden);
  else if (expectation.kind === 'summarized') calibration.observeShare(key, hidden, summaryTokens(textTokens, expectation.summaryChars, sample.chars));
}

/** The summary's share of the received text's tokens, by its share of the characters. */
function summaryTokens(textTokens: number, summaryChars: number, chars: number): number {
  if (!(chars > 0) || !(summaryChars > 0) || !Number.isFinite(textTokens)) return 0;
  return textTokens * Math.min(1, summaryChars / chars);
}
