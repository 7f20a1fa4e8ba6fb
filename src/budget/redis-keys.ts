/**
 * Where an account lives in Redis: its key for the window `at` falls in, and how Redis
 * expires it. The budget's name is the key's hash tag, so all of an account's keys sit in
 * one Redis Cluster slot.
 */
import { ROLLING_BUCKETS, windowStart, type BudgetKey } from './store.js';

/** Calendar accounts stay readable this long after their window ended (late settlements, inspection). */
const CALENDAR_GRACE_MS = 24 * 3600 * 1000;

export interface AccountKeys {
  /** The account: a hash, field `t`, or one field per time bucket for a rolling window. */
  readonly accountKey: string;
  /** The last batch number applied per writing process. */
  readonly writersKey: string;
  /** Calendar windows: when Redis drops the account (0: never, or by `rollingMs`). */
  readonly expireAtMs: number;
  /** Rolling windows: their length and bucket size (0 for the others). */
  readonly rollingMs: number;
  readonly bucketMs: number;
}

/**
 * Rolling windows in Redis are whole milliseconds (PEXPIRE takes integers), at most
 * ~31,000 years: `{ rollingMs: 1500.5 }` is the 1,501 ms window.
 */
const MAX_ROLLING_MS = 1e15;

function redisRollingMs(rollingMs: number): number {
  return Math.min(MAX_ROLLING_MS, Math.max(1, Math.ceil(rollingMs)));
}

/** The account's key for the window `at` falls in: what the store looks accounts up by. */
export function accountKey(prefix: string, key: BudgetKey, at: number): string {
  const { window } = key;
  let id: string;
  if (window === 'total') id = 'total';
  else if (typeof window === 'object') id = `rolling:${redisRollingMs(window.rollingMs)}`;
  else id = calendarWindow(window, windowStart(window, at)).id;
  return `${prefix}{${key.name}}:${id}`;
}

export function accountKeys(prefix: string, key: BudgetKey, at: number): AccountKeys {
  const { window } = key;
  const rollingMs = typeof window === 'object' ? redisRollingMs(window.rollingMs) : 0;
  const expireAtMs = window === 'day' || window === 'month' ? calendarWindow(window, windowStart(window, at)).expireAtMs : 0;
  const id = accountKey(prefix, key, at);
  return {
    accountKey: id,
    writersKey: `${id}:writers`,
    expireAtMs,
    rollingMs,
    bucketMs: rollingMs > 0 ? Math.max(1, Math.ceil(rollingMs / ROLLING_BUCKETS)) : 0,
  };
}

/** When a calendar window ends (Infinity for the others): its account is then no longer written. */
export function windowEndsAt(key: BudgetKey, at: number): number {
  const { window } = key;
  if (window !== 'day' && window !== 'month') return Infinity;
  return calendarWindow(window, windowStart(window, at)).expireAtMs - CALENDAR_GRACE_MS;
}

/** The last calendar windows named: the per-chunk check asks for the same one over and over. */
const calendarWindows = new Map<string, { readonly id: string; readonly expireAtMs: number }>();

function calendarWindow(window: 'day' | 'month', startMs: number): { readonly id: string; readonly expireAtMs: number } {
  const cacheKey = `${window}${startMs}`;
  let named = calendarWindows.get(cacheKey);
  if (!named) {
    const start = new Date(startMs);
    const end =
      window === 'day'
        ? Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate() + 1)
        : Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1);
    named = { id: `${window}:${start.toISOString().slice(0, window === 'day' ? 10 : 7)}`, expireAtMs: end + CALENDAR_GRACE_MS };
    if (calendarWindows.size >= 16) calendarWindows.clear();
    calendarWindows.set(cacheKey, named);
  }
  return named;
}
