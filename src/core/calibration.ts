/**
 * Self-calibration of output estimates. Completed requests that report usage show how far
 * the local count is from the provider's, per provider and model family; later estimates
 * use what was learned. Learning is cheap (the text of only a sample of requests is
 * counted, in the tokenizer worker), bounded (every factor stays within a band around its
 * fitted default) and smoothed (a slow moving average in log space), and it never touches
 * a reported value. A fresh process starts from the fitted defaults (docs/accuracy.md).
 */

/** What one finished request can teach, once its reported usage is known. */
export interface CalibrationSample {
  /** Locally counted tokens of the received text (undefined when it was not counted). */
  readonly counted?: number;
  /** Structural tokens the estimator adds around the text (tool-call framing and the like). */
  readonly overhead: number;
  readonly reportedOutput: number;
  readonly reportedReasoning?: number;
}

interface FamilyState {
  outputFactor: number;
  outputSamples: number;
  reasoningTokens: number;
  reasoningSamples: number;
  /** Requests seen, for sampling. */
  seen: number;
}

/** Families remembered at most (a service uses a handful; this only bounds memory). */
const MAX_FAMILIES = 256;
/** Always count the first few requests of a family, then one in `SAMPLE_EVERY`. */
const ALWAYS_SAMPLE = 5;
const SAMPLE_EVERY = 20;
/**
 * Longer texts are never counted for calibration: they cost the most to count and say no
 * more about a ratio than a few thousand characters do (`npm run bench` showed counting
 * every 100 kB stream doubling the CPU per chunk).
 */
export const MAX_SAMPLED_CHARS = 8_000;
/** Texts shorter than this say little about a ratio. */
const MIN_COUNTED = 20;
/** The slowest learning rate: an observation moves a factor by at most 1/20 of the way (log space). */
const MIN_WEIGHT = 0.05;

/**
 * Hidden reasoning tokens of one response, before a family has reported any: the median
 * over the dev recordings' OpenAI reasoning-model responses (64; 119 records). They hardly
 * follow the visible length (reasoning/visible spreads 3.6–15 between quartiles), so the
 * estimate is a typical count per family, learned as a geometric mean of reported ones.
 */
export const DEFAULT_REASONING_TOKENS = 64;
/** By requested effort where the recordings show a clear level: none and minimal think for ~0 tokens, high for ~450. */
const REASONING_TOKENS_BY_EFFORT: Readonly<Record<string, number>> = { none: 0, minimal: 0, high: 448 };

/** The reasoning effort a request asked for (`reasoning_effort` on chat, `reasoning.effort` on Responses). */
export function requestedEffort(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as { reasoning_effort?: unknown; reasoning?: { effort?: unknown } | null };
  const effort = b.reasoning_effort ?? b.reasoning?.effort;
  return typeof effort === 'string' ? effort : undefined;
}
const REASONING_BOUNDS = [1, 100_000] as const;

/** How far learning may move an output factor from its fitted default, per provider. */
function outputBounds(provider: string, fitted: number): readonly [number, number] {
  // OpenAI's tokenizer is public: the factor is 1 and only drifts for framing we miss.
  if (provider.startsWith('openai') || provider === 'azure.ai.openai') return [fitted * 0.97, fitted * 1.03];
  return [fitted * 0.85, fitted * 1.2];
}

/** `provider/family[#effort]`: the model id without its date or `-latest` suffix, and the reasoning effort asked for. */
export function calibrationKey(provider: string, model: string | undefined, effort?: string): string {
  const family = (model ?? 'unknown')
    .toLowerCase()
    .replace(/-latest$/, '')
    .replace(/-(\d{4}-\d{2}-\d{2}|\d{8})$/, '');
  return effort ? `${provider}/${family}#${effort}` : `${provider}/${family}`;
}

function defaultReasoningTokens(key: string): number {
  const effort = key.split('#')[1];
  const byEffort = effort === undefined ? undefined : REASONING_TOKENS_BY_EFFORT[effort];
  return byEffort ?? DEFAULT_REASONING_TOKENS;
}

/** OpenAI models that think before answering, whose output includes hidden reasoning tokens. */
export function isReasoningModel(provider: string, model: string | undefined): boolean {
  if (!provider.startsWith('openai') && provider !== 'azure.ai.openai') return false;
  const id = (model ?? '').toLowerCase();
  return /^(o[1-9]|gpt-5)/.test(id) && !id.includes('-chat');
}

const clamp = (value: number, [low, high]: readonly [number, number]): number => Math.min(high, Math.max(low, value));

/** Moves `current` towards `observed` in log space, by a weight that shrinks as samples accumulate. */
function smooth(current: number, observed: number, samples: number): number {
  if (current <= 0) return observed;
  const weight = Math.max(MIN_WEIGHT, 1 / (samples + 5));
  return Math.exp(Math.log(current) + weight * (Math.log(observed) - Math.log(current)));
}

export class EstimateCalibration {
  private readonly families = new Map<string, FamilyState>();

  /** The factor from counted to provider output tokens for this family (the fitted one until learned). */
  outputFactor(key: string, fitted: number): number {
    return this.families.get(key)?.outputFactor ?? fitted;
  }

  /** Typical hidden reasoning tokens of one response of this family. */
  reasoningTokens(key: string): number {
    return this.families.get(key)?.reasoningTokens ?? defaultReasoningTokens(key);
  }

  /** Whether this finished request's text should be counted to learn from it. */
  shouldSample(key: string, fitted: number): boolean {
    const state = this.state(key, fitted);
    if (!state) return false;
    state.seen++;
    return state.seen <= ALWAYS_SAMPLE || state.seen % SAMPLE_EVERY === 0;
  }

  /** Learns from one completed request with reported usage. */
  observe(key: string, provider: string, fitted: number, sample: CalibrationSample): void {
    const state = this.state(key, fitted);
    if (!state) return;
    const reasoning = sample.reportedReasoning ?? 0;
    const visible = sample.reportedOutput - reasoning;
    if (sample.reportedReasoning !== undefined && reasoning > 0) {
      state.reasoningTokens = clamp(smooth(state.reasoningTokens, clamp(reasoning, REASONING_BOUNDS), state.reasoningSamples), REASONING_BOUNDS);
      state.reasoningSamples++;
    }
    const { counted } = sample;
    if (counted === undefined || counted < MIN_COUNTED || visible <= sample.overhead) return;
    const bounds = outputBounds(provider, fitted);
    const observed = clamp((visible - sample.overhead) / counted, bounds);
    state.outputFactor = clamp(smooth(state.outputFactor, observed, state.outputSamples), bounds);
    state.outputSamples++;
  }

  /** Forgets everything learned (tests; a fresh process starts this way). */
  reset(): void {
    this.families.clear();
  }

  private state(key: string, fitted: number): FamilyState | undefined {
    let state = this.families.get(key);
    if (!state) {
      if (this.families.size >= MAX_FAMILIES) return undefined;
      state = { outputFactor: fitted, outputSamples: 0, reasoningTokens: defaultReasoningTokens(key), reasoningSamples: 0, seen: 0 };
      this.families.set(key, state);
    }
    return state;
  }
}

