/**
 * One request under one or more budgets, after `admit.ts` let it go: checked on every
 * chunk while it streams, and settled with its final cost once priced.
 *
 * The per-chunk check stays cheap: the received text is priced by `OutputMeter` without
 * re-tokenising it. Only when a budget's headroom comes within what those guesses could
 * be wrong by are the input and the text counted exactly, in the tokenizer worker, so a
 * budget far from its limit costs no tokenisation at all.
 *
 * Stores are the user's code (or Redis): every call into one is guarded. A store that
 * throws is left out of this request from then on (logged); the other budgets are still
 * enforced and charged, and the request always settles, so `withBudget` never waits forever.
 */
import type { PlannedCall } from '../core/adapter.js';
import type { BudgetSettlement, PricedCost } from '../core/model.js';
import type { PriceSources } from '../pricing/price-request.js';
import { logInternalError } from '../core/safely.js';
import { estimateTokens } from '../core/tokenizer.js';
import type { RequestWatch, StreamProgress } from '../core/watch.js';
import type { Budget } from './budget.js';
import { BudgetExceededError, BudgetStoreUnavailableError, type BudgetExceededReason, type StoppedRequest } from './errors.js';
import { OutputMeter, type TokenRatios } from './output-meter.js';
import { unitPrices, type UnitPrices } from './unit-prices.js';

/** How wrong a guess may be: the tokens-per-character ratio's p10-p90 spread on the recordings is about ±20%. */
const GUESS_UNCERTAINTY = 0.25;
/** Exact counting starts when the headroom is within the guesses' uncertainty plus this many tokens. */
const MARGIN_TOKENS = 64;
/** The tokenizer is warmed when the headroom is within this many times that uncertainty. */
const WARM_AT = 4;

/** What every guard of one instrumentation shares. */
export interface BudgetContext {
  /** The instrumentation's price catalog and `priceOverrides`, as the spans are priced. */
  readonly pricing: () => PriceSources;
  /** Learned tokens per character, per encoding. */
  readonly ratios: TokenRatios;
  /** Says once per model that budgets cannot limit it. */
  warnUnpriced(model: string): void;
}

interface Charged {
  readonly budget: Budget;
  /** False once its store has thrown: it is neither checked nor charged any more. */
  healthy: boolean;
}

export class BudgetGuard implements RequestWatch {
  /** USD this request has added to every budget's store so far. */
  private charged = 0;
  private inputUsd: number;
  private inputSettledBy: 'rough' | 'counting' | 'counted' | 'reported' = 'rough';
  private readonly output: OutputMeter;
  private readonly accounts: Charged[];
  private stopped: { readonly budget: Budget; readonly error: Error; readonly reason: BudgetExceededReason } | undefined;
  private settled = false;
  /** Resolves once settled; `withBudget` waits on it for requests that ended in its scope. */
  private readonly settling: Promise<void>;
  private markSettled!: () => void;
  /** Set by the clamp: the output-token limit sent. */
  clampedMaxTokens: number | undefined;

  constructor(
    budgets: readonly Budget[],
    private readonly call: PlannedCall,
    private readonly request: StoppedRequest,
    /** `undefined` for a model nothing prices: its requests are counted, not limited. */
    private readonly prices: UnitPrices | undefined,
    private readonly requestedModel: string | undefined,
    private readonly context: BudgetContext,
  ) {
    this.accounts = budgets.map((budget) => ({ budget, healthy: true }));
    for (const budget of budgets) budget.inFlight++;
    this.inputUsd = prices?.inputUsd ?? 0;
    const { estimator } = call;
    this.output = new OutputMeter(context.ratios, estimator.encoding, estimator.outputFactor, () => estimator.outputOverhead?.() ?? 0);
    this.settling = new Promise<void>((resolve) => (this.markSettled = resolve));
    if (!prices && request.model !== undefined) context.warnUnpriced(request.model);
  }

  /** Reserves the input's cost in every budget; the refusal, if one cannot pay for it. */
  reserve(): Error | undefined {
    const reserved: Charged[] = [];
    for (const account of this.accounts) {
      const { budget } = account;
      const answer = this.guarded(account, 'reserving', () => budget.store.reserve(budget.key, this.inputUsd, budget.limitUsd));
      if (answer === undefined) continue;
      if (answer === 'reserved') {
        reserved.push(account);
        continue;
      }
      for (const done of reserved) this.guarded(done, 'releasing', () => done.budget.store.add(done.budget.key, -this.inputUsd));
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
    const error = new BudgetExceededError(budget.name, budget.limitUsd, budget.spentUsd, needUsd, 'preflight', this.request);
    this.stopped = { budget, error, reason: 'preflight' };
    return error;
  }

  onEnded(): void {
    if (this.settled) return;
    for (const { budget } of this.accounts) budget.settling.add(this.settling);
  }

  onChunk(progress: StreamProgress): Error | undefined {
    const prices = this.prices;
    if (!prices) return undefined;
    const grew = this.output.see(progress.outputLength);
    const reportedInput = progress.reportedInput;
    if (reportedInput !== undefined && this.inputSettledBy !== 'reported') {
      this.inputSettledBy = 'reported';
      this.priceInput(reportedInput);
    } else if (grew) this.chargeRunningCost();

    let headroom = Infinity;
    for (const account of this.accounts) {
      if (!account.healthy) continue;
      const { budget } = account;
      const total = this.guarded(account, 'reading', () => budget.store.total(budget.key));
      if (total === undefined) continue;
      if (total > budget.limitUsd) {
        const error = new BudgetExceededError(budget.name, budget.limitUsd, total, 0, 'midstream', this.request);
        this.stopped = { budget, error, reason: 'midstream' };
        return error;
      }
      headroom = Math.min(headroom, budget.limitUsd - total);
    }
    const uncertainty = this.uncertaintyUsd(prices);
    // Approaching the limit: have the worker build its encoding now (~0.6 s of CPU, once per
    // process), so exact counts are ready when they are needed, and never for budgets far off.
    if (headroom < WARM_AT * uncertainty) this.output.warm();
    if (headroom < uncertainty) this.countExactly(progress);
    return undefined;
  }

  settle(cost: PricedCost | undefined, responseModel: string | undefined): BudgetSettlement {
    if (!this.settled) {
      this.settled = true;
      try {
        // An unpriced or failed pricing keeps what was charged on the way: the best figure there is.
        if (cost && cost.source !== 'unpriced') this.chargeTo(cost.totalUsd);
        else if (!this.prices) this.chargeTo(0);
        this.output.learn();
        const model = responseModel ?? this.request.model;
        if (model !== undefined && this.charged > 0) {
          for (const { budget, healthy } of this.accounts) if (healthy) budget.noteSpend(model, this.charged);
        }
      } catch (error) {
        logInternalError('settling a budget', error);
      } finally {
        for (const { budget } of this.accounts) {
          budget.inFlight--;
          budget.settling.delete(this.settling);
        }
        this.markSettled();
      }
    }
    const shown = this.stopped?.budget ?? this.accounts[0]!.budget;
    return {
      name: shown.name,
      limitUsd: shown.limitUsd,
      spentUsd: shown.spentUsd,
      names: this.accounts.map(({ budget }) => budget.name),
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
  private countExactly(progress: StreamProgress): void {
    if (this.inputSettledBy === 'rough') {
      this.inputSettledBy = 'counting';
      const { estimator } = this.call;
      estimateTokens(estimator.encoding, (counter) => estimator.estimateInput(counter)).then(
        (tokens) => {
          if (this.inputSettledBy !== 'counting' || progress.ended || !Number.isFinite(tokens)) return;
          this.inputSettledBy = 'counted';
          this.priceInput(tokens);
        },
        (error: unknown) => logInternalError('counting a budgeted request', error),
      );
    }
    this.output.countExactly(progress.outputText(), () => {
      if (!progress.ended) this.chargeRunningCost();
    });
  }

  private priceInput(tokens: number): void {
    const fresh = unitPrices(this.request.provider, this.request.model, tokens, this.context.pricing());
    if (fresh) this.inputUsd = fresh.inputUsd;
    this.chargeRunningCost();
  }

  private chargeRunningCost(): void {
    if (this.prices) this.chargeTo(this.inputUsd + this.output.tokens() * this.prices.outputUsdPerToken);
  }

  /** Moves this request's charge in every healthy store to `usd`. */
  private chargeTo(usd: number): void {
    const delta = usd - this.charged;
    if (delta === 0 || !Number.isFinite(delta)) return;
    this.charged = usd;
    for (const account of this.accounts) {
      if (account.healthy) this.guarded(account, 'charging', () => account.budget.store.add(account.budget.key, delta));
    }
  }

  /** Runs a store call; a throw takes the budget out of this request (a store that answers with promises: sync-store.ts). */
  private guarded<T>(account: Charged, doing: string, call: () => T): T | undefined {
    if (!account.healthy) return undefined;
    try {
      return call();
    } catch (error) {
      account.healthy = false;
      logInternalError(`budget ${JSON.stringify(account.budget.name)}: ${doing} its store (it is not enforced for this request)`, error);
      return undefined;
    }
  }
}
