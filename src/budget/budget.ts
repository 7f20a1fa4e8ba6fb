/**
 * A spending limit in USD, and what was charged to it. Budgets with a name are kept in a
 * registry, so `withBudget({ name: 'session-42', ... })` called again later finds the
 * same account (a session budget); unnamed budgets live as long as their scope.
 */
import { validateBudgetOptions } from '../options/validate.js';
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

/** Process-wide budget settings, set from the instrumentation's configuration. */
export const budgetDefaults: { store: BudgetStore | undefined } = { store: undefined };

const sharedInMemoryStore = new InMemoryBudgetStore();

export class Budget {
  readonly name: string;
  private options: BudgetOptions;
  /** Unnamed budgets keep a store of their own, collected with them. */
  private readonly ownStore: BudgetStore | undefined;
  /** `options.store`, held to its synchronous contract. */
  private givenStore: BudgetStore | undefined;
  private readonly spendByModel = new Map<string, ModelSpend>();
  /** Requests that ended and are still being priced; `withBudget` waits for them. */
  readonly settling = new Set<Promise<void>>();

  constructor(options: BudgetOptions, name?: string) {
    this.options = validateBudgetOptions(options, 'budget');
    this.name = name ?? options.name ?? `budget-${++unnamedBudgets}`;
    this.ownStore = options.name === undefined && options.store === undefined ? new InMemoryBudgetStore() : undefined;
    this.givenStore = guardStore(options.store, this.storeLabel);
  }

  get limitUsd(): number {
    return this.options.maxUsd;
  }

  get key(): BudgetKey {
    return { name: this.name, window: this.options.window ?? 'total' };
  }

  get store(): BudgetStore {
    return this.givenStore ?? this.ownStore ?? budgetDefaults.store ?? sharedInMemoryStore;
  }

  get clampMaxTokens(): boolean {
    return this.options.clampMaxTokens === true;
  }

  get fallback(): BudgetFallback | undefined {
    return this.options.fallback;
  }

  /** Spent plus reserved by requests in flight (for a shared store: the fleet's total as last seen). */
  get spentUsd(): number {
    return this.store.total(this.key);
  }

  get remainingUsd(): number {
    return Math.max(0, this.limitUsd - this.spentUsd);
  }

  /** USD and request count per model, for requests this process finished under the budget. */
  get byModel(): Readonly<Record<string, Readonly<ModelSpend>>> {
    return Object.fromEntries([...this.spendByModel].map(([model, spend]) => [model, { ...spend }]));
  }

  /** Starts the budget over: nothing spent, no breakdown. */
  reset(): void {
    this.store.reset(this.key);
    this.spendByModel.clear();
  }

  /** Takes new options for a named budget found again (a changed limit applies from now on). */
  update(options: BudgetOptions): void {
    this.options = validateBudgetOptions(options, 'budget');
    this.givenStore = guardStore(options.store, this.storeLabel, this.givenStore);
  }

  private get storeLabel(): string {
    return `the store of budget ${JSON.stringify(this.name)}`;
  }

  /** @internal Adds a finished request's final cost to the breakdown. */
  noteSpend(model: string, usd: number): void {
    const spend = this.spendByModel.get(model) ?? { usd: 0, requests: 0 };
    spend.usd += usd;
    spend.requests++;
    this.spendByModel.set(model, spend);
  }
}

let unnamedBudgets = 0;
const namedBudgets = new Map<string, Budget>();

/** The budget for these options: a named one is found again (and takes the new options). */
export function budgetFor(options: BudgetOptions | Budget): Budget {
  if (options instanceof Budget) return options;
  if (options.name === undefined) return new Budget(options);
  const known = namedBudgets.get(options.name);
  if (known) {
    known.update(options);
    return known;
  }
  const budget = new Budget(options);
  namedBudgets.set(budget.name, budget);
  return budget;
}

/** The named budget, if one was declared in this process. */
export function getBudget(name: string): Budget | undefined {
  return namedBudgets.get(name);
}
