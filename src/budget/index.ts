export { Budget, getBudget, type BudgetFallback, type BudgetOptions, type ModelSpend } from './budget.js';
export { BudgetExceededError, BudgetStoreUnavailableError, type BudgetExceededReason, type StoppedRequest } from './errors.js';
export { withBudget } from './scope.js';
export type { KeyedBudgetOptions } from './active.js';
export {
  InMemoryBudgetStore,
  type BudgetKey,
  type BudgetStore,
  type BudgetWindow,
  type Reservation,
} from './store.js';
