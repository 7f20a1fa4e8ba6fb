/**
 * Self-calibration of estimates. Completed requests that report usage show how far the
 * local figures are from the provider's; later estimates of the same kind use what was
 * learned:
 * - the output factor (provider tokens per locally counted token), per output key;
 * - hidden reasoning tokens per response, per output key, zeros included (a model that
 *   never reasons is learned to reason 0);
 * - the share of reasoning a summary leaves out (hidden tokens per summary token), per
 *   key, where reasoning is streamed as a summary and billed in full (Claude 4 thinking);
 * - an input offset (reported − counted: what the provider adds to the prompt that no
 *   published rule describes), per input key.
 *
 * The provider folder names the keys and the bands (`CalibrationSpec`): nothing here knows
 * a provider or a model. Learning is cheap (only a sample of requests is counted, in the
 * tokenizer worker), bounded (every figure stays within its band), smoothed (slow moving
 * averages; an input observation far from what was learned counts only up to a limit),
 * and never touches a reported value. A fresh instance starts from the fitted defaults
 * (docs/accuracy.md).
 */

/** What one finished request can teach about output, once its reported usage is known. */
export interface CalibrationSample {
  /** Locally counted tokens of the received text (undefined when it was not counted). */
  readonly counted?: number;
  /** Structural tokens the estimator adds around the text (tool-call framing and the like). */
  readonly overhead: number;
  readonly reportedOutput: number;
  /** Reported hidden reasoning; undefined when the request could not have any. */
  readonly reportedReasoning?: number;
}

interface OutputState {
  outputFactor: number | undefined;
  outputSamples: number;
  reasoningTokens: number | undefined;
  reasoningSamples: number;
  /** Smoothed hidden and summary tokens: the share is their ratio (a ratio of sums, as a bill adds up). */
  shareHidden: number;
  shareSummary: number;
  shareSamples: number;
  /** Requests seen, for sampling. */
  seen: number;
}

interface InputState {
  offset: number;
  samples: number;
  /** The first observations, until there are enough to start from their median. */
  first: number[];
  seen: number;
}

/** Keys remembered at most, per kind (a service uses a handful; this only bounds memory). */
const MAX_KEYS = 256;
/** Always count the first few requests of a key, then one in `SAMPLE_EVERY`. */
const ALWAYS_SAMPLE = 5;
const SAMPLE_EVERY = 20;
/**
 * Longer texts are never counted for calibration: they cost the most to count and say no
 * more about a ratio than a few thousand characters do (`npm run bench` showed counting
 * every 100 kB stream doubling the CPU per chunk).
 */
export const MAX_SAMPLED_CHARS = 8_000;
/** Longer prompts are never counted to learn an input offset (same reason). */
export const MAX_SAMPLED_INPUT_CHARS = 32_000;
/** Texts shorter than this say little about a ratio. */
const MIN_COUNTED = 20;
/** The slowest learning rate: an observation moves a figure by at most 1/20 of the way. */
const MIN_WEIGHT = 0.05;
const REASONING_BOUNDS = [0, 100_000] as const;
/** A summary says something about the share it leaves out once it has this many tokens. */
const MIN_SUMMARY_TOKENS = 20;
/** At most this many hidden tokens per summary token (a summary a twentieth of the reasoning). */
const MAX_SHARE = 20;
/**
 * An input observation counts at most this many tokens away from what was learned: one
 * request whose prompt our rules miss badly (an image of unknown size, a document) must not
 * move the offset of every later estimate. The offset starts from the median of the first
 * observations, for the same reason.
 */
const INPUT_STEP_LIMIT = 16;

const clamp = (value: number, [low, high]: readonly [number, number]): number => Math.min(high, Math.max(low, value));

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
const weightAfter = (samples: number): number => Math.max(MIN_WEIGHT, 1 / (samples + 5));

/** Moves `current` towards `observed` in log space, by a weight that shrinks as samples accumulate. */
function smoothLog(current: number, observed: number, samples: number): number {
  if (current <= 0) return observed;
  return Math.exp(Math.log(current) + weightAfter(samples) * (Math.log(observed) - Math.log(current)));
}

/** `model` without its date or `-latest` suffix: the family a calibration key names. */
export function modelFamily(model: string | undefined): string {
  return (model ?? 'unknown')
    .toLowerCase()
    .replace(/-latest$/, '')
    .replace(/-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4})$/, '');
}

export class EstimateCalibration {
  private readonly outputs = new Map<string, OutputState>();
  private readonly inputs = new Map<string, InputState>();

  /** The factor from counted to provider output tokens for this key (the fitted one until learned). */
  outputFactor(key: string, fitted: number): number {
    return this.outputs.get(key)?.outputFactor ?? fitted;
  }

  /** Typical hidden reasoning tokens of one response for this key (`fallback` until learned). */
  reasoningTokens(key: string, fallback: number): number {
    return this.outputs.get(key)?.reasoningTokens ?? fallback;
  }

  /** Hidden reasoning tokens per summary token for this key (`fallback` until learned). */
  hiddenShare(key: string, fallback: number): number {
    const state = this.outputs.get(key);
    return state && state.shareSummary > 0 ? state.shareHidden / state.shareSummary : fallback;
  }

  /** What to add to a locally counted input of this kind (0 until learned). */
  inputOffset(key: string): number {
    return this.inputs.get(key)?.offset ?? 0;
  }

  /** Whether this finished request's output text should be counted to learn from it. */
  shouldSample(key: string): boolean {
    const state = this.outputState(key);
    if (!state) return false;
    state.seen++;
    return state.seen <= ALWAYS_SAMPLE || state.seen % SAMPLE_EVERY === 0;
  }

  /** Whether this finished request's input should be counted to learn an offset from it. */
  shouldSampleInput(key: string): boolean {
    const state = this.inputState(key);
    if (!state) return false;
    state.seen++;
    return state.seen <= ALWAYS_SAMPLE || state.seen % SAMPLE_EVERY === 0;
  }

  /** Learns from one completed request with reported output. */
  observe(key: string, bounds: readonly [number, number], fitted: number, sample: CalibrationSample): void {
    const state = this.outputState(key);
    if (!state) return;
    const reasoning = sample.reportedReasoning;
    if (reasoning !== undefined) this.learnReasoning(state, reasoning);
    const { counted } = sample;
    const visible = sample.reportedOutput - (reasoning ?? 0);
    if (counted === undefined || counted < MIN_COUNTED || visible <= sample.overhead) return;
    const observed = clamp((visible - sample.overhead) / counted, bounds);
    state.outputFactor = clamp(smoothLog(state.outputFactor ?? fitted, observed, state.outputSamples), bounds);
    state.outputSamples++;
  }

  /** Learns the typical hidden reasoning of one response from what it showed beyond its text. */
  observeHidden(key: string, hidden: number): void {
    const state = this.outputState(key);
    if (state) this.learnReasoning(state, hidden);
  }

  /**
   * Learns the share of reasoning a summary leaves out, from one completed request: the
   * hidden tokens (reported output beyond the received text and framing) and the summary's
   * tokens. Sums are smoothed apart, so long summaries weigh as much as they bill.
   */
  observeShare(key: string, hidden: number, summary: number): void {
    if (!Number.isFinite(hidden) || !Number.isFinite(summary) || summary < MIN_SUMMARY_TOKENS) return;
    const state = this.outputState(key);
    if (!state) return;
    const observed = clamp(hidden, [0, summary * MAX_SHARE]);
    const weight = state.shareSamples === 0 ? 1 : weightAfter(state.shareSamples);
    state.shareHidden += weight * (observed - state.shareHidden);
    state.shareSummary += weight * (summary - state.shareSummary);
    state.shareSamples++;
  }

  /** Linear, zeros included: the typical count is what a bill sums. */
  private learnReasoning(state: OutputState, reasoning: number): void {
    if (!Number.isFinite(reasoning)) return;
    const observed = clamp(reasoning, REASONING_BOUNDS);
    const current = state.reasoningTokens;
    state.reasoningTokens = current === undefined ? observed : clamp(current + weightAfter(state.reasoningSamples) * (observed - current), REASONING_BOUNDS);
    state.reasoningSamples++;
  }

  /**
   * Learns the input offset from one completed request: the reported input and the local
   * count of the same prompt. The first few observations give a median to start from; each
   * later one moves the offset slowly, by at most `INPUT_STEP_LIMIT` tokens' worth.
   */
  observeInput(key: string, bounds: readonly [number, number], counted: number, reported: number): void {
    if (!Number.isFinite(counted) || !Number.isFinite(reported) || counted <= 0) return;
    const state = this.inputState(key);
    if (!state) return;
    const observed = clamp(reported - counted, bounds);
    state.samples++;
    if (state.samples <= ALWAYS_SAMPLE) {
      state.first.push(observed);
      state.offset = median(state.first);
      if (state.samples === ALWAYS_SAMPLE) state.first = [];
      return;
    }
    const step = clamp(observed - state.offset, [-INPUT_STEP_LIMIT, INPUT_STEP_LIMIT]);
    state.offset = clamp(state.offset + weightAfter(state.samples) * step, bounds);
  }

  /** Forgets everything learned (tests; a fresh instance starts this way). */
  reset(): void {
    this.outputs.clear();
    this.inputs.clear();
  }

  private outputState(key: string): OutputState | undefined {
    let state = this.outputs.get(key);
    if (!state) {
      if (this.outputs.size >= MAX_KEYS) return undefined;
      state = {
        outputFactor: undefined,
        outputSamples: 0,
        reasoningTokens: undefined,
        reasoningSamples: 0,
        shareHidden: 0,
        shareSummary: 0,
        shareSamples: 0,
        seen: 0,
      };
      this.outputs.set(key, state);
    }
    return state;
  }

  private inputState(key: string): InputState | undefined {
    let state = this.inputs.get(key);
    if (!state) {
      if (this.inputs.size >= MAX_KEYS) return undefined;
      state = { offset: 0, samples: 0, first: [], seen: 0 };
      this.inputs.set(key, state);
    }
    return state;
  }
}
