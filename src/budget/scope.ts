/**
 * Budget scopes: `withBudget` runs a function with a budget in force for every
 * instrumented request it makes, however deep in its async call tree.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { keepingProcessAlive } from '../core/keep-alive.js';
import { Budget, budgetFor, type BudgetOptions } from './budget.js';

const scopes = new AsyncLocalStorage<readonly Budget[]>();

/** The budgets of the enclosing `withBudget` scopes, innermost first. */
export function scopedBudgets(): readonly Budget[] {
  return scopes.getStore() ?? [];
}

/**
 * Runs `fn` with the budget in force: every instrumented request inside, streaming or not,
 * in either SDK, is charged to it and to every enclosing budget. Resolves with `fn`'s
 * result once the requests that ended inside it are priced and charged, so
 * `budget.spentUsd` is final when it resolves.
 */
export async function withBudget<T>(options: BudgetOptions | Budget, fn: (budget: Budget) => T | Promise<T>): Promise<T> {
  const budget = budgetFor(options);
  const enclosing = scopedBudgets();
  try {
    return await scopes.run([budget, ...enclosing], () => fn(budget));
  } finally {
    while (budget.settling.size > 0) await keepingProcessAlive(Promise.allSettled([...budget.settling]));
  }
}
