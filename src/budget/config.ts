/** Checks the budget options of the instrumentation's configuration, and makes its store the default. */
import type { KeyedBudgetOptions } from './active.js';
import { budgetDefaults, validateBudgetOptions, type BudgetOptions } from './budget.js';
import { logInternalError } from '../core/safely.js';
import type { BudgetStore } from './store.js';

interface BudgetConfig {
  readonly defaultBudget?: BudgetOptions;
  readonly keyedBudget?: KeyedBudgetOptions;
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
  if (config.defaultBudget !== undefined) validateBudgetOptions(config.defaultBudget, 'defaultBudget');
  const keyed = config.keyedBudget;
  if (keyed !== undefined) {
    validateBudgetOptions(keyed, 'keyedBudget');
    if (keyed.key !== undefined && typeof keyed.key !== 'function') {
      throw new TypeError('otel-llm-cost: keyedBudget.key must be a function of the active context');
    }
    if (keyed.key === undefined && (typeof keyed.baggageKey !== 'string' || keyed.baggageKey.length === 0)) {
      throw new TypeError('otel-llm-cost: keyedBudget needs a baggageKey (a baggage entry name) or a key function');
    }
  }
  const store = config.budgetStore;
  if (store !== undefined) {
    for (const method of ['reserve', 'add', 'total', 'reset'] as const) {
      if (typeof (store as Partial<BudgetStore> | null)?.[method] !== 'function') {
        throw new TypeError(`otel-llm-cost: budgetStore must implement ${method}()`);
      }
    }
  }
  budgetDefaults.store = store;
}
