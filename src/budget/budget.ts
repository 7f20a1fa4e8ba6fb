/**
 * A spending limit in USD, and what was charged to it. A `Budget` is a handle on an account
 * in a store: the spent amount lives in the store (in this process, or in Redis for a
 * fleet), so two handles with the same name and store are the same account.
 */
import { InMemoryBudgetStore, type BudgetKey, type BudgetStore, type BudgetWindow } from './store.js';
import { guardStore } from './sync-store.js';

/** Send requests for some models to a cheaper one once the budget is partly spent (as shekel does). */
export interface BudgetFallback {
  /** Share of the limit (0 < atShare ≤ 1) spent from which requests are redirected. */
  readonly atShare: number;
  /** The model to send instead. */
  readonly model: string;
  /** Only requests for these models are redirected; all models when absent. */
  readonly from?: string | readonly string[];
}

export interface BudgetOptions {
  /** The limit in USD. */
  readonly maxUsd: number;
  /** A named budget accumulates across scopes and calls; an unnamed one lives with its scope. */
  readonly name?: string;
  /** Where the spent amount lives. Default: the instrumentation's `budgetStore`, else in-process. */
  readonly store?: BudgetStore;
  /** The period spending counts over. Default `total`. */
  readonly window?: BudgetWindow;
  /** Lower each request's output-token limit to what the budget can still pay for. */
  readonly clampMaxTokens?: boolean;
  readonly fallback?: BudgetFallback;
}

/** Spending by one model under a budget, as seen by this process. */
export interface ModelSpend {
  usd: number;
  requests: number;
}

export class Budget {
  readonly name: string;
  private options: BudgetOptions;
  private readonly account: BudgetStore;
  /** The store as the options gave it (before `guardStore`), to tell whether new options name the same account. */
  readonly givenStore: BudgetStore | undefined;
  private readonly spendByModel = new Map<string, ModelSpend>();
  /** Requests that ended and are still being priced; `withBudget` waits for them. */
  readonly settling = new Set<Promise<void>>();
  /** Requests charged to this budget that have not settled yet (they pin it in the registry). */
  inFlight = 0;

  /**
   * @internal Budgets are made by `withBudget` and the configuration (budget-registry.ts).
   * An unnamed budget (`options.name` unset) is an account of its own, collected with its scope.
   */
  constructor(name: string, options: BudgetOptions, defaultStore: BudgetStore) {
    this.name = name;
    this.options = options;
    this.givenStore = options.store;
    this.account = options.store
      ? guardStore(options.store, `the store of budget ${JSON.stringify(name)}`)
      : options.name === undefined
        ? new InMemoryBudgetStore()
        : defaultStore;
  }

  get limitUsd(): number {
    return this.options.maxUsd;
  }

  get key(): BudgetKey {
    return { name: this.name, window: this.options.window ?? 'total' };
  }

  get store(): BudgetStore {
    return this.account;
  }

  get clampMaxTokens(): boolean {
    return this.options.clampMaxTokens === true;
  }

  get fallback(): BudgetFallback | undefined {
    return this.options.fallback;
  }

  /**
   * Spent plus reserved by requests in flight (for a shared store: the fleet's total as last
   * seen). Inside a `withBudget` callback it moves while requests run; once `withBudget` has
   * resolved, the requests made in it are settled and the figure is final for them.
   */
  get spentUsd(): number {
    try {
      const total = this.account.total(this.key);
      return Number.isFinite(total) ? total : 0;
    } catch {
      return 0;
    }
  }

  get remainingUsd(): number {
    return Math.max(0, this.limitUsd - this.spentUsd);
  }

  /** USD and request count per model, for requests this process settled under the budget. */
  get byModel(): Readonly<Record<string, Readonly<ModelSpend>>> {
    return Object.fromEntries([...this.spendByModel].map(([model, spend]) => [model, { ...spend }]));
  }

  /** Starts the budget over: nothing spent, no breakdown. */
  reset(): void {
    this.account.reset(this.key);
    this.spendByModel.clear();
  }

  /** @internal Takes new options for a named budget found again (a changed limit applies from now on). */
  update(options: BudgetOptions): void {
    this.options = options;
  }

  /** @internal Adds a settled request's final cost to the breakdown. */
  noteSpend(model: string, usd: number): void {
    const spend = this.spendByModel.get(model) ?? { usd: 0, requests: 0 };
    spend.usd += usd;
    spend.requests++;
    this.spendByModel.set(model, spend);
  }
}
