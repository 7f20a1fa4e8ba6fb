/**
 * What the stores do with input they cannot use. A store's methods are called on the
 * request's path (pre-flight and every chunk), so they never throw: a bad key, limit or
 * amount is answered by the rules below and logged once per store and kind through `diag`.
 *
 * - A key that is not `{ name: non-empty string, window: 'total' | 'day' | 'month' |
 *   { rollingMs: finite > 0 } }`: nothing is recorded, `total()` answers 0, `reserve()`
 *   answers `over_limit` (there is no account to check against).
 * - A limit that is not a number, or NaN: `reserve()` answers `over_limit`. ±Infinity and
 *   negative limits are taken as they are (Infinity admits everything, a negative limit
 *   nothing).
 * - `reserve()` amounts: not a number, NaN, negative or -Infinity reserve 0 (the current
 *   total is checked against the limit, nothing is added: a reservation never gives back,
 *   `add()` does); +Infinity fits no finite limit and is never added.
 * - `add()` amounts: anything but a finite number is ignored; negative amounts give back.
 */
import { logInfo } from '../core/safely.js';
import type { BudgetKey } from './store.js';

export type BadInput = 'key' | 'limit' | 'amount';

/** Logs each kind of bad input once per store: a caller's bug shows in `diag` without flooding it. */
export class BadInputLog {
  private readonly seen = new Set<BadInput>();

  constructor(private readonly store: string) {}

  note(kind: BadInput, value: unknown): void {
    if (this.seen.has(kind)) return;
    this.seen.add(kind);
    let shown: string;
    try {
      shown = typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
    } catch {
      shown = typeof value;
    }
    logInfo(`${this.store}: a bad ${kind} (${shown}) was answered by the rules in docs/budgets.md#stores (logged once)`);
  }
}

export function isBudgetKey(key: unknown): key is BudgetKey {
  if (typeof key !== 'object' || key === null) return false;
  const { name, window } = key as { name?: unknown; window?: unknown };
  if (typeof name !== 'string' || name.length === 0) return false;
  if (window === 'total' || window === 'day' || window === 'month') return true;
  if (typeof window !== 'object' || window === null) return false;
  const { rollingMs } = window as { rollingMs?: unknown };
  return typeof rollingMs === 'number' && Number.isFinite(rollingMs) && rollingMs > 0;
}

/** The limit to check against, or undefined when there is none (the reservation is refused). */
export function checkedLimit(limitUsd: unknown): number | undefined {
  return typeof limitUsd === 'number' && !Number.isNaN(limitUsd) ? limitUsd : undefined;
}

/** What a reservation checks and adds: a finite amount ≥ 0, or +Infinity (never added). */
export function reservedAmount(amountUsd: unknown): number {
  if (typeof amountUsd !== 'number' || Number.isNaN(amountUsd) || amountUsd < 0) return 0;
  return amountUsd;
}

/** The amount `add()` records, or undefined when there is none. */
export function addedAmount(amountUsd: unknown): number | undefined {
  return typeof amountUsd === 'number' && Number.isFinite(amountUsd) ? amountUsd : undefined;
}

/**
 * What a `reserve()` works with: its limit and amount, or `'over_limit'` when the key or the
 * limit cannot be used. An amount above `maxAmountUsd` (or not the number given) is noted.
 */
export function reservationInput(
  bad: BadInputLog,
  key: unknown,
  amountUsd: unknown,
  limitUsd: unknown,
  maxAmountUsd: number,
): { readonly key: BudgetKey; readonly limit: number; readonly amount: number } | 'over_limit' {
  if (!isBudgetKey(key)) {
    bad.note('key', key);
    return 'over_limit';
  }
  const limit = checkedLimit(limitUsd);
  if (limit === undefined) {
    bad.note('limit', limitUsd);
    return 'over_limit';
  }
  const amount = reservedAmount(amountUsd);
  if (amount !== amountUsd || amount > maxAmountUsd) bad.note('amount', amountUsd);
  return { key, limit, amount };
}
