/**
 * One request under one or more budgets, after `admit.ts` let it go: checked on every
 * chunk while it streams, and settled with its final cost once priced.
 *
 * The per-chunk check stays cheap: the received text is priced by `OutputMeter` without
 * re-tokenising it. Only when a budget's headroom comes within what those guesses could
 * be wrong by are the input and the text counted exactly, in the tokenizer worker, so a
 * budget far from its limit costs no tokenisation at all.
 */
import type { PlannedCall } from '../core/adapter.js';
import type { BudgetSettlement, PricedCost } from '../core/model.js';
import type { PriceSources } from '../pricing/price-request.js';
import type { RequestBudget, RequestRecord } from '../core/record.js';
import { logInfo, logInternalError } from '../core/safely.js';
import { estimateTokens } from '../core/tokenizer.js';
import type { Budget } from './budget.js';
import { BudgetExceededError, BudgetStoreUnavailableError, type BudgetExceededReason, type StoppedRequest } from './errors.js';
import { OutputMeter, warmEncoder } from './output-meter.js';
import { unitPrices, type UnitPrices } from './unit-prices.js';

/** How wrong a guess may be: the tokens-per-character ratio's p10-p90 spread on the recordings is about ±20%. */
const GUESS_UNCERTAINTY = 0.25;
/** Exact counting starts when the headroom is within the guesses' uncertainty plus this many tokens. */
const MARGIN_TOKENS = 64;
/** The tokenizer is warmed when the headroom is within this many times that uncertainty. */
const WARM_AT = 4;

const unpricedWarned = new Set<string>();

export class BudgetGuard implements RequestBudget {
  /** USD this request has added to every budget's store so far. */
  private charged = 0;
  private inputUsd: number;
  private inputSettledBy: 'rough' | 'counting' | 'counted' | 'reported' = 'rough';
  private readonly output: OutputMeter;
  private stopped: { readonly budget: Budget; readonly error: Error; readonly reason: BudgetExceededReason } | undefined;
  private settled = false;
  /** Resolves once settled; `withBudget` waits on it for requests that ended in its scope. */
  private readonly settling: Promise<void>;
  private markSettled!: () => void;
  /** Set by the clamp: the output-token limit sent. */
  clampedMaxTokens: number | undefined;

  constructor(
    private readonly budgets: readonly Budget[],
    private readonly call: PlannedCall,
    private readonly request: StoppedRequest,
    /** `undefined` for a model nothing prices: its requests are counted, not limited. */
    private readonly prices: UnitPrices | undefined,
    private readonly requestedModel: string | undefined,
    private readonly pricing: PriceSources | undefined,
  ) {
    this.inputUsd = prices?.inputUsd ?? 0;
    const { estimator } = call;
    this.output = new OutputMeter(estimator.encoding, estimator.outputFactor, () => estimator.outputOverhead?.() ?? 0);
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

  /** The pre-flight refusal by `budget` for a request that would cost `needUsd` up front. */
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
  }

  check(record: RequestRecord): Error | undefined {
    const prices = this.prices;
    if (!prices) return undefined;
    const grew = this.output.see(record.outputLength);
    const reportedInput = record.reported.input;
    if (reportedInput !== undefined && this.inputSettledBy !== 'reported') {
      this.inputSettledBy = 'reported';
      this.priceInput(reportedInput);
    } else if (grew) this.chargeRunningCost();

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
    const uncertainty = this.uncertaintyUsd(prices);
    // Approaching the limit: have the worker build its encoding now (~0.6 s of CPU, once per
    // process), so exact counts are ready when they are needed, and never for budgets far off.
    if (headroom < WARM_AT * uncertainty) warmEncoder(this.call.estimator.encoding);
    if (headroom < uncertainty) this.countExactly(record);
    return undefined;
  }

  settle(cost: PricedCost | undefined, responseModel: string | undefined): BudgetSettlement {
    if (!this.settled) {
      this.settled = true;
      // An unpriced or failed pricing keeps what was charged on the way: the best figure there is.
      if (cost && cost.source !== 'unpriced') this.chargeTo(cost.totalUsd);
      else if (!this.prices) this.chargeTo(0);
      this.output.learn();
      const model = responseModel ?? this.request.model;
      if (model !== undefined && this.charged > 0) for (const budget of this.budgets) budget.noteSpend(model, this.charged);
      for (const budget of this.budgets) budget.settling.delete(this.settling);
      this.markSettled();
    }
    const shown = this.stopped?.budget ?? this.budgets[0]!;
    return {
      name: shown.name,
      limitUsd: shown.limitUsd,
      spentUsd: shown.spentUsd,
      names: this.budgets.map((budget) => budget.name),
      exceededReason: this.stopped?.reason,
      requestedModel: this.requestedModel,
      clampedMaxTokens: this.clampedMaxTokens,
    };
  }

  /** How far the guessed part of this request's running cost could be off. */
  private uncertaintyUsd(prices: UnitPrices): number {
    const guessedInputUsd = this.inputSettledBy === 'rough' || this.inputSettledBy === 'counting' ? this.inputUsd : 0;
    const guessedOutputUsd = this.output.guessedTokens() * prices.outputUsdPerToken;
    return GUESS_UNCERTAINTY * (guessedInputUsd + guessedOutputUsd) + MARGIN_TOKENS * prices.outputUsdPerToken;
  }

  /** Near the limit: the input, then the text received, counted in the tokenizer worker. */
  private countExactly(record: RequestRecord): void {
    if (this.inputSettledBy === 'rough') {
      this.inputSettledBy = 'counting';
      const { estimator } = this.call;
      estimateTokens(estimator.encoding, (counter) => estimator.estimateInput(counter)).then(
        (tokens) => {
          if (this.inputSettledBy !== 'counting' || record.finished || !Number.isFinite(tokens)) return;
          this.inputSettledBy = 'counted';
          this.priceInput(tokens);
        },
        (error: unknown) => logInternalError('counting a budgeted request', error),
      );
    }
    this.output.countExactly(record.outputText, () => {
      if (!record.finished) this.chargeRunningCost();
    });
  }

  private priceInput(tokens: number): void {
    const fresh = unitPrices(this.request.provider, this.request.model, tokens, this.pricing);
    if (fresh) this.inputUsd = fresh.inputUsd;
    this.chargeRunningCost();
  }

  private chargeRunningCost(): void {
    if (this.prices) this.chargeTo(this.inputUsd + this.output.tokens() * this.prices.outputUsdPerToken);
  }

  /** Moves this request's charge in every store to `usd`. */
  private chargeTo(usd: number): void {
    const delta = usd - this.charged;
    if (delta === 0 || !Number.isFinite(delta)) return;
    this.charged = usd;
    for (const budget of this.budgets) budget.store.add(budget.key, delta);
  }
}
