/**
 * What the text a stream has received so far is worth in output tokens, on every chunk,
 * without re-tokenising it: characters times a tokens-per-character ratio. On request
 * (near a budget's limit) new text is counted exactly in the tokenizer worker, slice by
 * slice; each count replaces the guess for its slice and refines the ratio.
 */
import { logInternalError } from '../core/safely.js';
import { countTexts, type EncodingName } from '../core/tokenizer.js';

/**
 * Local-encoding tokens per character of model output before anything was counted in this
 * process: the median over the non-reasoning text outputs of the dev recordings (0.210
 * for OpenAI, p10-p90 0.176-0.249; see docs/budgets.md). Replaced as soon as exact counts
 * come in: per stream, and process-wide per encoding for the streams that follow.
 */
const DEFAULT_TOKENS_PER_CHAR = 0.21;
/** Weight of one stream's counted text in the instrumentation-wide ratio. */
const LEARNING_RATE = 0.2;

/** Tokens per character of model output, learned per encoding from the text budgets counted. */
export class TokenRatios {
  private readonly learned = new Map<EncodingName, number>();
  private readonly warmed = new Set<EncodingName>();

  ratio(encoding: EncodingName): number {
    return this.learned.get(encoding) ?? DEFAULT_TOKENS_PER_CHAR;
  }

  learn(encoding: EncodingName, counted: number, chars: number): void {
    const observed = Math.min(1, Math.max(0.05, counted / chars));
    const previous = this.ratio(encoding);
    this.learned.set(encoding, previous + LEARNING_RATE * (observed - previous));
  }

  /**
   * Starts the counting worker now (~30–40 ms with the table built at enable time; ~0.6 s if
   * the encoding must still be built, off the main thread), so the exact counts are ready by
   * the time a stream nears its limit.
   */
  warm(encoding: EncodingName): void {
    if (this.warmed.has(encoding)) return;
    this.warmed.add(encoding);
    countTexts(encoding, ['']).catch((error: unknown) => {
      this.warmed.delete(encoding);
      logInternalError('loading the tokenizer', error);
    });
  }
}
/** Text is counted once this many characters are uncounted (a few chunks). */
const SLICE_CHARS = 32;
/**
 * Near the limit, the last characters not counted yet are guessed this much higher: when
 * the worker's counts lag (a loaded machine), the stop errs a token or two early rather
 * than late. Only the last `CUSHIONED_CHARS`: a cold worker must not make it 10% early.
 */
const NEAR_LIMIT_GUESS = 1.1;
const CUSHIONED_CHARS = 128;

export class OutputMeter {
  private seenChars = 0;
  /** Characters counted exactly so far, and the tokens they held. */
  private countedChars = 0;
  private countedTokens = 0;
  private counting = false;
  private tokensPerChar: number;
  /** Set once exact counting was asked for: from then on the uncounted tail is cushioned. */
  private cushioned = false;

  constructor(
    private readonly ratios: TokenRatios,
    private readonly encoding: EncodingName,
    /** From local tokens to the provider's (1 where the tokenizer is the provider's). */
    private readonly outputFactor: number,
    /** Tokens the provider counts beyond the text (per response, per tool call), as the final estimate adds them. */
    private readonly overhead: () => number = () => 0,
  ) {
    this.tokensPerChar = ratios.ratio(encoding);
  }

  /** Notes the received text's length; false when it has not changed. */
  see(chars: number): boolean {
    if (chars === this.seenChars) return false;
    this.seenChars = chars;
    return true;
  }

  /** Output tokens so far: exact for the counted text, the ratio's guess for the rest. */
  tokens(): number {
    const uncounted = this.seenChars - this.countedChars;
    const cushion = this.cushioned ? Math.min(uncounted, CUSHIONED_CHARS) * (NEAR_LIMIT_GUESS - 1) : 0;
    const text = (this.countedTokens + (uncounted + cushion) * this.tokensPerChar) * this.outputFactor;
    return this.seenChars > 0 ? text + this.overheadTokens() : text;
  }

  private overheadTokens(): number {
    try {
      const tokens = this.overhead();
      return Number.isFinite(tokens) && tokens > 0 ? tokens : 0;
    } catch (error) {
      logInternalError('estimating output overhead', error);
      return 0;
    }
  }

  /** The part of `tokens()` that is a guess. */
  guessedTokens(): number {
    return (this.seenChars - this.countedChars) * this.tokensPerChar * this.outputFactor;
  }

  /**
   * Counts the text not counted yet in the tokenizer worker (one slice in flight at a
   * time); `onCounted` runs when a count has come in.
   */
  countExactly(text: string, onCounted: () => void): void {
    this.cushioned = true;
    if (this.counting || this.seenChars - this.countedChars < SLICE_CHARS) return;
    // Cut just before the last whitespace: the encodings fold a leading space into the word
    // after it, so a slice that ended on the space would count it as an extra token.
    let end = this.seenChars - 1;
    while (end > this.countedChars && !/\s/.test(text[end]!)) end--;
    if (end <= this.countedChars) end = this.seenChars;
    const start = this.countedChars;
    this.counting = true;
    countTexts(this.encoding, [text.slice(start, end)]).then(
      ([tokens]) => {
        this.counting = false;
        if (tokens === undefined || this.countedChars !== start) return;
        this.countedChars = end;
        this.countedTokens += tokens;
        this.tokensPerChar = this.countedTokens / this.countedChars;
        onCounted();
      },
      (error: unknown) => {
        this.counting = false;
        logInternalError('counting budgeted output', error);
      },
    );
  }

  /** When the stream ends: what it counted refines the ratio the next streams start from. */
  learn(): void {
    if (this.countedChars < 256) return;
    this.ratios.learn(this.encoding, this.countedTokens, this.countedChars);
  }

  /** Starts loading the encoding in the tokenizer worker, if nothing has yet. */
  warm(): void {
    this.ratios.warm(this.encoding);
  }
}
