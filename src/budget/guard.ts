/**
 * One request under one or more budgets: admitted (or refused) before it is sent, checked
 * on every chunk while it streams, and settled with its final cost once priced.
 *
 * The per-chunk check must stay cheap, so it never re-tokenises the text: it prices the
 * characters received with a tokens-per-character ratio. Only when the budget's headroom
 * comes within what that guess could be wrong by is text counted exactly, in the
 * tokenizer worker, slice by slice: the count replaces the guess for its slice and refines
 * the ratio. A budget far from its limit therefore costs no tokenisation at all.
 */
import type { PlannedCall } from '../core/adapter.js';
import type { BudgetSettlement, PricedCost } from '../core/model.js';
import { priceUsage, type PriceOverrides } from '../core/price.js';
import type { RequestBudget, RequestRecord } from '../core/record.js';
import { logInfo, logInternalError } from '../core/safely.js';
import { countTexts, estimateTokens, roughTokenCounter, type EncodingName } from '../core/tokenizer.js';
import type { Budget } from './budget.js';
import { BudgetExceededError, BudgetStoreUnavailableError, type StoppedRequest } from './errors.js';

/**
 * Local-encoding tokens per character of model output before anything was counted in this
 * process: the median over the non-reasoning text outputs of the dev recordings (0.210
 * for OpenAI, p10-p90 0.176-0.249; see docs/budgets.md). Replaced as soon as exact counts
 * come in: per stream, and process-wide per encoding for the streams that follow.
 */
const DEFAULT_TOKENS_PER_CHAR = 0.21;
const learnedTokensPerChar = new Map<EncodingName, number>();
/** Weight of one counted slice in the process-wide ratio. */
const LEARNING_RATE = 0.2;
/** How wrong a guess may be: the ratio's p10-p90 spread on the recordings is about ±20%. */
const GUESS_UNCERTAINTY = 0.25;
/** Exact counting starts when the headroom is within the guesses' uncertainty plus this many tokens. */
const MARGIN_TOKENS = 64;
/** Near the limit, new text is counted once this many characters are uncounted (a few chunks). */
const SLICE_CHARS = 32;
/**
 * Near the limit, the last characters not counted yet are guessed this much higher: when
 * the worker's counts lag (a loaded machine), the stop errs a token or two early rather
 * than late. Only the last `NEAR_LIMIT_TAIL_CHARS`: a cold worker must not make it 10% early.
 */
const NEAR_LIMIT_GUESS = 1.1;
const NEAR_LIMIT_TAIL_CHARS = 128;

/** USD per token for one request's model, computed once, before it is sent. */
interface UnitPrices {
  readonly inputUsd: number;
  readonly outputUsdPerToken: number;
}

export interface Admission {
  readonly call: PlannedCall;
  readonly guard: BudgetGuard;
  /** Set when a budget refuses the request: it must not be sent. */
  readonly refusal?: Error;
}

/**
 * Decides, before the request is sent, whether it may go (pre-flight), to which model
 * (fallback), and with what output limit (clamp). `replan` plans the call again for a
 * rewritten body.
 */
export function admitRequest(
  call: PlannedCall,
  budgets: readonly Budget[],
  userBody: unknown,
  replan: (body: unknown) => PlannedCall | undefined,
  overrides?: PriceOverrides,
): Admission {
  let requestedModel: string | undefined;
  const fallback = chooseFallback(call, budgets, overrides);
  if (fallback && call.rewrite) {
    const replanned = replan(call.rewrite.model(userBody, fallback));
    if (replanned) {
      requestedModel = call.description.model;
      call = replanned;
    }
  }
  const { description, estimator } = call;
  const request: StoppedRequest = { provider: description.provider, operation: description.operation, model: description.model };
  // The exact count needs the tokenizer worker; the decision cannot wait for it, so it is
  // made on a rough count and corrected as soon as the exact one arrives.
  const roughInput = safeNumber(() => estimator.estimateInput(roughTokenCounter));
  const prices = unitPrices(description.provider, description.model, roughInput, overrides);
  const guard = new BudgetGuard(budgets, call, request, prices, requestedModel, overrides);
  if (!prices) return { call, guard };

  let clampedMaxTokens: number | undefined;
  const clamping = budgets.filter((budget) => budget.clampMaxTokens);
  if (clamping.length > 0 && call.rewrite && prices.outputUsdPerToken > 0) {
    const tightest = clamping.reduce((a, b) => (b.remainingUsd < a.remainingUsd ? b : a));
    const affordable = Math.floor((tightest.remainingUsd - prices.inputUsd) / prices.outputUsdPerToken);
    const body = affordable >= 1 ? call.rewrite.maxOutputTokens(call.body, affordable) : undefined;
    if (body === undefined) return { call, guard, refusal: guard.refuse(tightest, prices.inputUsd) };
    if (body !== call.body) {
      clampedMaxTokens = affordable;
      call = { ...call, body };
    }
  }
  guard.clampedMaxTokens = clampedMaxTokens;

  const refusal = guard.reserve();
  return refusal ? { call, guard, refusal } : { call, guard };
}

function chooseFallback(call: PlannedCall, budgets: readonly Budget[], overrides?: PriceOverrides): string | undefined {
  const model = call.description.model;
  for (const budget of budgets) {
    const fallback = budget.fallback;
    if (!fallback || fallback.model === model || budget.limitUsd <= 0) continue;
    if (budget.spentUsd / budget.limitUsd < fallback.atShare) continue;
    const from = fallback.from === undefined ? undefined : ([] as string[]).concat(fallback.from);
    if (from && (model === undefined || !from.includes(model))) continue;
    // Only to a model this provider prices: a fallback must not send an OpenAI model name to Anthropic.
    if (!unitPrices(call.description.provider, fallback.model, 0, overrides)) continue;
    return fallback.model;
  }
  return undefined;
}

function unitPrices(
  provider: string,
  model: string | undefined,
  inputTokens: number,
  overrides: PriceOverrides | undefined,
): UnitPrices | undefined {
  if (!model) return undefined;
  const price = (input: number, output: number): PricedCost =>
    priceUsage(
      provider,
      [model],
      { input: { value: input, source: 'estimated' }, output: { value: output, source: 'estimated' } },
      overrides,
    );
  const inputOnly = price(inputTokens, 0);
  const withOutput = price(inputTokens, 1_000_000);
  if (inputOnly.source === 'unpriced' || withOutput.source === 'unpriced') return undefined;
  return { inputUsd: inputOnly.totalUsd, outputUsdPerToken: (withOutput.totalUsd - inputOnly.totalUsd) / 1_000_000 };
}

const unpricedWarned = new Set<string>();

export class BudgetGuard implements RequestBudget {
  /** USD this request has added to every budget's store so far. */
  private charged = 0;
  private inputUsd: number;
  private inputSettledBy: 'rough' | 'counted' | 'reported' = 'rough';
  private seenChars = 0;
  /** Output characters counted exactly so far, and the tokens they held. */
  private countedChars = 0;
  private countedTokens = 0;
  private counting = false;
  private countingInput = false;
  private nearLimit = false;
  private tokensPerChar: number;
  private stopped: { readonly budget: Budget; readonly error: Error; readonly reason: 'preflight' | 'midstream' } | undefined;
  private settled = false;
  /** Resolves once settled; `withBudget` waits on it for requests that ended in its scope. */
  private readonly settling: Promise<void>;
  private markSettled!: () => void;
  clampedMaxTokens: number | undefined;

  constructor(
    private readonly budgets: readonly Budget[],
    private readonly call: PlannedCall,
    private readonly request: StoppedRequest,
    private readonly prices: UnitPrices | undefined,
    private readonly requestedModel: string | undefined,
    private readonly overrides: PriceOverrides | undefined,
  ) {
    this.inputUsd = prices?.inputUsd ?? 0;
    this.tokensPerChar = learnedTokensPerChar.get(call.estimator.encoding) ?? DEFAULT_TOKENS_PER_CHAR;
    this.settling = new Promise<void>((resolve) => (this.markSettled = resolve));
    if (!prices && request.model !== undefined && !unpricedWarned.has(request.model)) {
      unpricedWarned.add(request.model);
      logInfo(`budgets cannot price model ${request.model}: its requests are counted but not limited`);
    }
  }

  /** Reserves the input's cost in every budget; the refusal, if one cannot pay for it. */
  reserve(): Error | undefined {
    const reserved: Budget[] = [];
    for (const budget of this.budgets) {
      const answer = budget.store.reserve(budget.key, this.inputUsd, budget.limitUsd);
      if (answer === 'reserved') {
        reserved.push(budget);
        continue;
      }
      for (const done of reserved) done.store.add(done.key, -this.inputUsd);
      if (answer === 'unavailable') {
        const error = new BudgetStoreUnavailableError(budget.name, this.request);
        this.stopped = { budget, error, reason: 'preflight' };
        return error;
      }
      return this.refuse(budget, this.inputUsd);
    }
    this.charged = this.inputUsd;
    return undefined;
  }

  /** @internal The pre-flight refusal by `budget` for a request that would cost `needUsd` up front. */
  refuse(budget: Budget, needUsd: number): Error {
    const error = new BudgetExceededError(budget.name, budget.limitUsd, budget.spentUsd + needUsd, 'preflight', this.request);
    this.stopped = { budget, error, reason: 'preflight' };
    return error;
  }

  /** Called once the request is sent: `withBudget` waits for the settlement of what ends in it. */
  attach(record: RequestRecord): void {
    record.onFinish(() => {
      if (!this.settled) for (const budget of this.budgets) budget.settling.add(this.settling);
    });
    if (this.prices) warmEncoder(this.call.estimator.encoding);
  }

  check(record: RequestRecord): Error | undefined {
    if (!this.prices) return undefined;
    const reportedInput = record.reported.input;
    if (reportedInput !== undefined && this.inputSettledBy !== 'reported') {
      this.inputSettledBy = 'reported';
      this.chargeInput(reportedInput);
    }
    const chars = record.outputText.length;
    if (chars !== this.seenChars) {
      this.seenChars = chars;
      this.chargeTo(this.inputUsd + this.outputTokens() * this.prices.outputUsdPerToken);
    }
    let headroom = Infinity;
    for (const budget of this.budgets) {
      const total = budget.store.total(budget.key);
      if (total > budget.limitUsd) {
        const error = new BudgetExceededError(budget.name, budget.limitUsd, total, 'midstream', this.request);
        this.stopped = { budget, error, reason: 'midstream' };
        return error;
      }
      headroom = Math.min(headroom, budget.limitUsd - total);
    }
    if (headroom < this.uncertaintyUsd()) {
      this.nearLimit = true;
      this.countExactly(record);
    }
    return undefined;
  }

  /** How far the guessed part of this request's running cost could be off. */
  private uncertaintyUsd(): number {
    const prices = this.prices!;
    const guessedOutput = (this.seenChars - this.countedChars) * this.tokensPerChar * this.call.estimator.outputFactor;
    const guessedInput = this.inputSettledBy === 'rough' ? this.inputUsd : 0;
    return GUESS_UNCERTAINTY * (guessedOutput * prices.outputUsdPerToken + guessedInput) + MARGIN_TOKENS * prices.outputUsdPerToken;
  }

  /** Near the limit: the input, then the text received, counted in the tokenizer worker. */
  private countExactly(record: RequestRecord): void {
    if (this.inputSettledBy === 'rough' && !this.countingInput) {
      this.countingInput = true;
      const { estimator } = this.call;
      estimateTokens(estimator.encoding, (counter) => estimator.estimateInput(counter)).then(
        (tokens) => {
          if (this.inputSettledBy === 'rough' && !record.finished && Number.isFinite(tokens)) {
            this.inputSettledBy = 'counted';
            this.chargeInput(tokens);
          }
        },
        (error: unknown) => logInternalError('counting a budgeted request', error),
      );
    }
    this.countNewText(record);
  }

  settle(cost: PricedCost | undefined, responseModel: string | undefined): BudgetSettlement {
    if (!this.settled) {
      this.settled = true;
      // An unpriced or failed pricing keeps what was charged on the way: the best figure there is.
      if (cost && cost.source !== 'unpriced') this.chargeTo(cost.totalUsd);
      else if (!this.prices) this.chargeTo(0);
      const model = responseModel ?? this.request.model;
      if (model !== undefined && this.charged > 0) for (const budget of this.budgets) budget.noteSpend(model, this.charged);
      for (const budget of this.budgets) budget.settling.delete(this.settling);
      this.markSettled();
    }
    const reported = this.stopped?.budget ?? this.budgets[0]!;
    return {
      name: reported.name,
      limitUsd: reported.limitUsd,
      spentUsd: reported.spentUsd,
      names: this.budgets.map((budget) => budget.name),
      exceededReason: this.stopped?.reason,
      requestedModel: this.requestedModel,
      clampedMaxTokens: this.clampedMaxTokens,
    };
  }

  /** Output tokens so far: exact for the counted text, the ratio's guess for the rest. */
  private outputTokens(): number {
    const uncounted = this.seenChars - this.countedChars;
    const cushion = this.nearLimit ? Math.min(uncounted, NEAR_LIMIT_TAIL_CHARS) * (NEAR_LIMIT_GUESS - 1) : 0;
    const guessed = (uncounted + cushion) * this.tokensPerChar;
    return (this.countedTokens + guessed) * this.call.estimator.outputFactor;
  }

  private chargeInput(tokens: number): void {
    if (!this.prices) return;
    const fresh = unitPrices(this.request.provider, this.request.model, tokens, this.overrides);
    if (!fresh) return;
    this.inputUsd = fresh.inputUsd;
    this.chargeTo(this.inputUsd + this.outputTokens() * this.prices.outputUsdPerToken);
  }

  /** Moves this request's charge in every store to `usd`. */
  private chargeTo(usd: number): void {
    const delta = usd - this.charged;
    if (delta === 0 || !Number.isFinite(delta)) return;
    this.charged = usd;
    for (const budget of this.budgets) budget.store.add(budget.key, delta);
  }

  private countNewText(record: RequestRecord): void {
    if (this.counting || !this.prices) return;
    if (this.seenChars - this.countedChars < SLICE_CHARS) return;
    // Cut just before the last whitespace: the encodings fold a leading space into the word
    // after it, so a slice that ended on the space would count it as an extra token.
    const text = record.outputText;
    let end = this.seenChars - 1;
    while (end > this.countedChars && !/\s/.test(text[end]!)) end--;
    if (end <= this.countedChars) end = this.seenChars;
    const start = this.countedChars;
    const slice = text.slice(start, end);
    this.counting = true;
    countTexts(this.call.estimator.encoding, [slice]).then(
      ([tokens]) => {
        this.counting = false;
        if (tokens === undefined || this.countedChars !== start) return;
        this.countedChars = end;
        this.countedTokens += tokens;
        if (this.countedChars > 0) this.tokensPerChar = this.countedTokens / this.countedChars;
        learn(this.call.estimator.encoding, tokens, end - start);
        if (!record.finished && this.prices) {
          this.chargeTo(this.inputUsd + this.outputTokens() * this.prices.outputUsdPerToken);
        }
      },
      (error: unknown) => {
        this.counting = false;
        logInternalError('counting budgeted output', error);
      },
    );
  }
}

const warmed = new Set<EncodingName>();

/**
 * Has the tokenizer worker build the encoding now (~0.6 s, off the main thread), so the
 * exact counts are ready by the time a stream nears its limit.
 */
function warmEncoder(encoding: EncodingName): void {
  if (warmed.has(encoding)) return;
  warmed.add(encoding);
  countTexts(encoding, ['']).catch((error: unknown) => {
    warmed.delete(encoding);
    logInternalError('loading the tokenizer', error);
  });
}

function learn(encoding: EncodingName, tokens: number, chars: number): void {
  if (chars < 256) return;
  const observed = Math.min(1, Math.max(0.05, tokens / chars));
  const previous = learnedTokensPerChar.get(encoding) ?? DEFAULT_TOKENS_PER_CHAR;
  learnedTokensPerChar.set(encoding, previous + LEARNING_RATE * (observed - previous));
}

function safeNumber(fn: () => number): number {
  try {
    const value = fn();
    return Number.isFinite(value) && value >= 0 ? value : 0;
  } catch (error) {
    logInternalError('estimating a budgeted request', error);
    return 0;
  }
}
