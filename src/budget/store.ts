/**
 * Where a budget's spent amount lives. The interface is small and synchronous on purpose:
 * the pre-flight check runs before the SDK call returns its `APIPromise`, and the
 * per-chunk check runs on every chunk, so neither may wait for I/O. A store shared
 * across processes (see `redis-store.ts`) answers from its local view of the shared
 * total and keeps that view in sync in the background, batched.
 */
import { BadInputLog, addedAmount, isBudgetKey, reservationInput } from './store-input.js';

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

/**
 * A store's methods never throw and never wait: bad input (a NaN or infinite amount, a
 * limit that is not a number, a malformed key) is answered by documented rules
 * (`store-input.ts`) rather than an exception.
 */
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

/**
 * A total this close to zero is zero: what a reservation given back in full leaves after
 * floating-point addition (it is a thousandth of the nano-USD the Redis store counts in).
 */
const ZERO_USD = 1e-12;
/** Accounts looked at for eviction each time one is created: the sweep keeps pace with growth. */
const SWEEP_STEPS = 2;

interface Account {
  /** When the calendar window the total belongs to ends; 0 for `total` and rolling (a small integer: no boxed number per account). */
  windowEnd: number;
  total: number;
  /** Rolling windows only: their length, and the amounts per bucket (bucket index since the epoch). */
  rollingMs: number;
  buckets?: Map<number, number>;
}

/**
 * The default store: one process, exact, no I/O.
 *
 * Memory: an account is dropped as soon as dropping it loses nothing: once its calendar
 * window has passed, once a rolling window has no bucket left, or when its total is zero. A
 * sweep, a couple of accounts per account created, finds them, so the store holds about
 * the accounts with money in a current window. A `total` window's non-zero total is spend
 * that counts forever: it is kept for the life of the store (~150 bytes an account, see
 * docs/budgets.md#stores); no bound that drops such an account could be correct.
 */
export class InMemoryBudgetStore implements BudgetStore {
  private readonly accounts = new Map<string, Account>();
  private sweep: IterableIterator<[string, Account]> | undefined;
  private readonly bad = new BadInputLog('InMemoryBudgetStore');

  constructor(private readonly now: () => number = Date.now) {}

  reserve(key: BudgetKey, amountUsd: number, limitUsd: number): Reservation {
    // Any finite amount is usable here; +Infinity is noted (and never added).
    const input = reservationInput(this.bad, key, amountUsd, limitUsd, Number.MAX_VALUE);
    if (input === 'over_limit') return input;
    const { limit, amount } = input;
    const at = this.now();
    const account = this.current(key, at);
    if ((account?.total ?? 0) + amount > limit) return 'over_limit';
    if (amount > 0 && amount < Infinity) this.addTo(account ?? this.create(key, at), amount, at);
    return 'reserved';
  }

  add(key: BudgetKey, amountUsd: number): void {
    if (!isBudgetKey(key)) {
      this.bad.note('key', key);
      return;
    }
    const amount = addedAmount(amountUsd);
    if (amount === undefined) {
      this.bad.note('amount', amountUsd);
      return;
    }
    if (amount === 0) return;
    const at = this.now();
    this.addTo(this.current(key, at) ?? this.create(key, at), amount, at);
  }

  total(key: BudgetKey): number {
    if (!isBudgetKey(key)) {
      this.bad.note('key', key);
      return 0;
    }
    return this.current(key, this.now())?.total ?? 0;
  }

  reset(key: BudgetKey): void {
    if (!isBudgetKey(key)) {
      this.bad.note('key', key);
      return;
    }
    this.accounts.delete(accountId(key));
  }

  /** Accounts held now (for memory measurements and tests). */
  get size(): number {
    return this.accounts.size;
  }

  /** The key's account in the window `at` falls in, if it holds anything. */
  private current(key: BudgetKey, at: number): Account | undefined {
    const id = accountId(key);
    const account = this.accounts.get(id);
    if (!account) return undefined;
    if (passed(account, at)) {
      this.accounts.delete(id);
      return undefined;
    }
    if (account.rollingMs > 0) expireBuckets(account, at);
    return account;
  }

  private create(key: BudgetKey, at: number): Account {
    const rollingMs = typeof key.window === 'object' ? key.window.rollingMs : 0;
    const account: Account = { windowEnd: windowEnd(key.window, at), total: 0, rollingMs };
    this.sweepSome(at);
    this.accounts.set(accountId(key), account);
    return account;
  }

  private addTo(account: Account, amountUsd: number, at: number): void {
    account.total += amountUsd;
    if (account.rollingMs > 0) {
      const bucket = Math.floor(at / bucketMs(account.rollingMs));
      account.buckets ??= new Map();
      account.buckets.set(bucket, (account.buckets.get(bucket) ?? 0) + amountUsd);
    }
  }

  /** Looks at the next few accounts (a clock hand over the map) and drops those that hold nothing. */
  private sweepSome(at: number): void {
    for (let step = 0; step < SWEEP_STEPS; step++) {
      this.sweep ??= this.accounts.entries();
      const next = this.sweep.next();
      if (next.done) {
        this.sweep = undefined;
        if (this.accounts.size <= step) return;
        continue;
      }
      const [id, account] = next.value;
      if (passed(account, at) || holdsNothing(account, at)) this.accounts.delete(id);
    }
  }
}

/**
 * A zero total (to a thousandth of a nano-USD); for a rolling window, no amount left in any
 * bucket (a charge and its give-back in different buckets net to zero now, not once the
 * charge's bucket has expired).
 */
function holdsNothing(account: Account, at: number): boolean {
  if (account.rollingMs === 0) return Math.abs(account.total) < ZERO_USD;
  expireBuckets(account, at);
  return account.buckets === undefined || account.buckets.size === 0;
}

function accountId(key: BudgetKey): string {
  const window = typeof key.window === 'object' ? `rolling:${key.window.rollingMs}` : key.window;
  return `${window}\u0000${key.name}`;
}

function passed(account: Account, at: number): boolean {
  return account.windowEnd !== 0 && at >= account.windowEnd;
}

/** The end of the calendar window `at` falls in; 0 for the others (they do not end). */
function windowEnd(window: BudgetWindow, at: number): number {
  if (window === 'day' || window === 'month') {
    const start = new Date(windowStart(window, at));
    return window === 'day'
      ? Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate() + 1)
      : Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1);
  }
  return 0;
}

function bucketMs(rollingMs: number): number {
  return Math.max(1, Math.ceil(rollingMs / ROLLING_BUCKETS));
}

function expireBuckets(account: Account, at: number): void {
  if (!account.buckets) return;
  const size = bucketMs(account.rollingMs);
  const oldest = Math.floor((at - account.rollingMs) / size);
  for (const [bucket, amount] of account.buckets) {
    if (bucket > oldest) continue;
    account.buckets.delete(bucket);
    account.total -= amount;
  }
  if (account.buckets.size === 0) account.total = 0;
}
