/**
 * Where a budget's spent amount lives. The interface is small and synchronous on purpose:
 * the pre-flight check runs before the SDK call returns its `APIPromise`, and the
 * per-chunk check runs on every chunk, so neither may wait for I/O. A store shared
 * across processes (see `redis-store.ts`) answers from its local view of the shared
 * total and keeps that view in sync in the background, batched.
 */

/**
 * The period a budget's spending counts over: its whole life (`total`), the current UTC
 * calendar day or month, or a rolling window of the last `rollingMs` milliseconds.
 */
export type BudgetWindow = 'total' | 'day' | 'month' | { readonly rollingMs: number };

/** One budget's account in a store. */
export interface BudgetKey {
  readonly name: string;
  readonly window: BudgetWindow;
}

/**
 * - `reserved`: the amount was added and the total stays within the limit;
 * - `over_limit`: nothing was added, the amount does not fit;
 * - `unavailable`: a shared store cannot vouch for the total and is set to fail closed.
 */
export type Reservation = 'reserved' | 'over_limit' | 'unavailable';

export interface BudgetStore {
  /** Atomically adds `amountUsd` to the account if the total stays within `limitUsd`. */
  reserve(key: BudgetKey, amountUsd: number, limitUsd: number): Reservation;
  /** Adds an amount unconditionally (negative to give back what a request did not spend). */
  add(key: BudgetKey, amountUsd: number): void;
  /** The account's total (spent plus reserved) as known now. */
  total(key: BudgetKey): number;
  /** Sets the account back to zero. */
  reset(key: BudgetKey): void;
  /** Resolves once every amount added so far has reached the store (shared stores). */
  flush?(): Promise<void>;
}

/** The start of the window that `at` falls in, for calendar windows; 0 for the others. */
export function windowStart(window: BudgetWindow, at: number): number {
  if (window === 'day') {
    const d = new Date(at);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  }
  if (window === 'month') {
    const d = new Date(at);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
  return 0;
}

/** Rolling windows are kept in this many buckets: a bounded memory cost, ~1/60 of the window precision. */
export const ROLLING_BUCKETS = 60;

interface Account {
  /** Which calendar window the total belongs to (0 for `total` and rolling). */
  windowStart: number;
  total: number;
  /** Rolling windows only: amounts per bucket, keyed by bucket index since the epoch. */
  buckets?: Map<number, number>;
}

/** The default store: one process, exact, no I/O. */
export class InMemoryBudgetStore implements BudgetStore {
  private readonly accounts = new Map<string, Account>();

  constructor(private readonly now: () => number = Date.now) {}

  reserve(key: BudgetKey, amountUsd: number, limitUsd: number): Reservation {
    const account = this.account(key);
    if (account.total + amountUsd > limitUsd) return 'over_limit';
    this.addTo(account, key.window, amountUsd);
    return 'reserved';
  }

  add(key: BudgetKey, amountUsd: number): void {
    this.addTo(this.account(key), key.window, amountUsd);
  }

  total(key: BudgetKey): number {
    return this.account(key).total;
  }

  reset(key: BudgetKey): void {
    this.accounts.delete(accountId(key));
  }

  private account(key: BudgetKey): Account {
    const id = accountId(key);
    const at = this.now();
    const start = windowStart(key.window, at);
    let account = this.accounts.get(id);
    if (!account || account.windowStart !== start) {
      account = { windowStart: start, total: 0 };
      this.accounts.set(id, account);
    }
    if (typeof key.window === 'object') expireBuckets(account, key.window.rollingMs, at);
    return account;
  }

  private addTo(account: Account, window: BudgetWindow, amountUsd: number): void {
    account.total += amountUsd;
    if (typeof window === 'object') {
      const bucket = Math.floor(this.now() / bucketMs(window.rollingMs));
      account.buckets ??= new Map();
      account.buckets.set(bucket, (account.buckets.get(bucket) ?? 0) + amountUsd);
    }
  }
}

function accountId(key: BudgetKey): string {
  const window = typeof key.window === 'object' ? `rolling:${key.window.rollingMs}` : key.window;
  return `${window}\u0000${key.name}`;
}

function bucketMs(rollingMs: number): number {
  return Math.max(1, Math.ceil(rollingMs / ROLLING_BUCKETS));
}

function expireBuckets(account: Account, rollingMs: number, at: number): void {
  if (!account.buckets) return;
  const size = bucketMs(rollingMs);
  const oldest = Math.floor((at - rollingMs) / size);
  for (const [bucket, amount] of account.buckets) {
    if (bucket > oldest) continue;
    account.buckets.delete(bucket);
    account.total -= amount;
  }
  if (account.buckets.size === 0) account.total = 0;
}
