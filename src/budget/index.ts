export { Budget, type BudgetFallback, type BudgetOptions, type ModelSpend } from './budget.js';
export { BudgetExceededError, BudgetStoreUnavailableError, type BudgetExceededReason, type StoppedRequest } from './errors.js';
export { getBudget, withBudget } from './scope.js';
export type { KeyedBudgetOptions } from './watcher.js';
export {
  InMemoryBudgetStore,
  type BudgetKey,
  type BudgetStore,
  type BudgetWindow,
  type Reservation,
} from './store.js';
