/** Makes the instrumentation's `budgetStore` the default (its options are checked in `options/validate.ts`). */
import { budgetDefaults } from './budget.js';
import { logInternalError } from '../core/safely.js';
import type { BudgetStore } from './store.js';
import { guardStore } from './sync-store.js';

interface BudgetConfig {
  readonly budgetStore?: BudgetStore;
}

/**
 * Sends what the configured shared store has not sent yet (best effort: a store that
 * cannot be reached is logged, never thrown into the caller's shutdown path).
 */
export async function flushBudgetStore(): Promise<void> {
  try {
    await budgetDefaults.store?.flush?.();
  } catch (error) {
    logInternalError('flushing the budget store', error);
  }
}

export function applyBudgetConfig(config: BudgetConfig): void {
  budgetDefaults.store = guardStore(config.budgetStore, 'budgetStore', budgetDefaults.store);
}
