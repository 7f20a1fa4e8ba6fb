/**
 * Holds a user's `BudgetStore` to its synchronous contract at run time. A method declared
 * `async` is refused at construction (`options/schemas.ts`); one that only returns a
 * promise (`reserve: (...) => redis.eval(...)`) can only be seen when it is called.
 *
 * Such a store cannot answer in time: its `reserve` answer is a promise, not a verdict,
 * and its `total` a promise, not a number (so a limit would never trip). From the first
 * promise on, the store is treated as unavailable: one error through `diag` naming the
 * method, the store is not called again, `reserve` answers `unavailable` (requests under
 * its budgets are refused with `BudgetStoreUnavailableError`), `add` and `reset` do
 * nothing, and `total` reads 0 (nothing known). A promise it returned that rejects is
 * caught, so it cannot become an unhandled rejection.
 */
import { logError } from '../core/safely.js';
import { InMemoryBudgetStore, type BudgetKey, type BudgetStore, type Reservation } from './store.js';

export class SynchronousStoreGuard implements BudgetStore {
  private misused = false;

  constructor(
    /** The user's store. */
    readonly inner: BudgetStore,
    /** Names the store in the error: `budgetStore`, `the store of budget "session-42"`. */
    private readonly label: string,
    private readonly report: (message: string) => void = logError,
  ) {}

  reserve(key: BudgetKey, amountUsd: number, limitUsd: number): Reservation {
    if (this.misused) return 'unavailable';
    const answer: unknown = this.inner.reserve(key, amountUsd, limitUsd);
    if (isThenable(answer)) {
      this.misuse('reserve', answer);
      return 'unavailable';
    }
    return answer as Reservation;
  }

  add(key: BudgetKey, amountUsd: number): void {
    if (this.misused) return;
    const result: unknown = this.inner.add(key, amountUsd);
    if (isThenable(result)) this.misuse('add', result);
  }

  total(key: BudgetKey): number {
    if (this.misused) return 0;
    const total: unknown = this.inner.total(key);
    if (typeof total === 'number') return total;
    if (isThenable(total)) {
      this.misuse('total', total);
      return 0;
    }
    return total as number;
  }

  reset(key: BudgetKey): void {
    if (this.misused) return;
    const result: unknown = this.inner.reset(key);
    if (isThenable(result)) this.misuse('reset', result);
  }

  /** `flush` is asynchronous by contract. */
  async flush(): Promise<void> {
    await this.inner.flush?.();
  }

  private misuse(method: string, promise: PromiseLike<unknown>): void {
    try {
      promise.then(undefined, () => undefined);
    } catch {
      // a thenable whose then() throws has nothing left to reject
    }
    if (this.misused) return;
    this.misused = true;
    this.report(
      `${this.label}.${method}() returned a promise; BudgetStore methods must be synchronous (budgets call them before the SDK call returns and on every chunk). The store is treated as unavailable from now on: requests under its budgets are refused with BudgetStoreUnavailableError. See docs/budgets.md#stores`,
    );
  }
}

/**
 * The store to call for a user's `store`: wrapped in a guard, except the package's own
 * in-process store (synchronous by construction). `previous` is kept when it already guards
 * the same store, so a budget whose options are given again keeps its state and says the
 * error once.
 */
export function guardStore(store: BudgetStore, label: string, previous?: BudgetStore): BudgetStore;
export function guardStore(store: BudgetStore | undefined, label: string, previous?: BudgetStore): BudgetStore | undefined;
export function guardStore(store: BudgetStore | undefined, label: string, previous?: BudgetStore): BudgetStore | undefined {
  if (store === undefined || store instanceof SynchronousStoreGuard) return store;
  if (Object.getPrototypeOf(store) === InMemoryBudgetStore.prototype) return store;
  if (previous instanceof SynchronousStoreGuard && previous.inner === store) return previous;
  return new SynchronousStoreGuard(store, label);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return ((typeof value === 'object' && value !== null) || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}
