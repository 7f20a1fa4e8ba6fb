/**
 * The named budgets of one instrumentation: `withBudget({ name: 'session-42' })` called again
 * later, `getBudget('session-42')` and every tenant of `keyedBudget` find the same `Budget`.
 *
 * Bounded: a service with a budget per tenant, user or session would otherwise keep one
 * handle per name forever. Past `NAMED_BUDGETS_LIMIT` the least recently used handles with
 * nothing in flight are dropped. Their spent amounts are not: those live in the store, and
 * a handle made again for the name reads them there. What a dropped handle loses is its
 * per-model breakdown (`byModel`), and `getBudget(name)` answers `undefined` until the name
 * is used again.
 */
import { Budget, type BudgetOptions } from './budget.js';
import type { BudgetStore } from './store.js';

export const NAMED_BUDGETS_LIMIT = 10_000;

export class BudgetRegistry {
  private readonly named = new Map<string, Budget>();
  private unnamed = 0;

  constructor(
    /** Where budgets without a store of their own keep their accounts. */
    readonly store: BudgetStore,
    private readonly limit = NAMED_BUDGETS_LIMIT,
  ) {}

  /** The budget for these options: a named one is found again and takes the new options. */
  budgetFor(options: BudgetOptions): Budget {
    const name = options.name;
    if (name === undefined) return new Budget(`budget-${++this.unnamed}`, options, this.store);
    const known = this.named.get(name);
    if (known && known.givenStore === options.store) {
      known.update(options);
      // Re-inserting moves it to the newest end of the map's order (least recently used first).
      this.named.delete(name);
      this.named.set(name, known);
      return known;
    }
    const budget = new Budget(name, options, this.store);
    this.named.delete(name);
    this.named.set(name, budget);
    if (this.named.size > this.limit) this.evict();
    return budget;
  }

  get(name: string): Budget | undefined {
    return this.named.get(name);
  }

  get size(): number {
    return this.named.size;
  }

  private evict(): void {
    for (const [name, budget] of this.named) {
      if (this.named.size <= this.limit) return;
      if (budget.inFlight === 0 && budget.settling.size === 0) this.named.delete(name);
    }
  }
}
