/**
 * The in-process store's memory bound and its answers to bad input: accounts that hold
 * nothing (a passed window, a zero total, a rolling window with no bucket left) are
 * dropped, and no spend inside a current window is ever lost (checked against a model
 * that keeps every amount forever, over a long random run across day, month and rolling
 * windows).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InMemoryBudgetStore, type BudgetKey, type BudgetWindow } from '../src/index.js';

const DAY = 24 * 3600 * 1000;

/** Every amount ever added, with its time: the total is the sum of those in the current window. */
class KeepEverything {
  private readonly amounts = new Map<string, { at: number; usd: number }[]>();

  reserve(key: BudgetKey, usd: number, limit: number, now: number): string {
    if (this.total(key, now) + usd > limit) return 'over_limit';
    this.add(key, usd, now);
    return 'reserved';
  }

  add(key: BudgetKey, usd: number, now: number): void {
    const id = JSON.stringify(key);
    const list = this.amounts.get(id) ?? [];
    list.push({ at: now, usd });
    this.amounts.set(id, list);
  }

  reset(key: BudgetKey): void {
    this.amounts.delete(JSON.stringify(key));
  }

  total(key: BudgetKey, now: number): number {
    let total = 0;
    for (const { at, usd } of this.amounts.get(JSON.stringify(key)) ?? []) if (inWindow(key.window, at, now)) total += usd;
    return total;
  }
}

function inWindow(window: BudgetWindow, at: number, now: number): boolean {
  if (window === 'total') return true;
  if (window === 'day') return Math.floor(at / DAY) === Math.floor(now / DAY);
  if (window === 'month') {
    const a = new Date(at);
    const b = new Date(now);
    return a.getUTCFullYear() === b.getUTCFullYear() && a.getUTCMonth() === b.getUTCMonth();
  }
  // Kept in 60 buckets: an amount leaves with its bucket.
  const bucketMs = Math.max(1, Math.ceil(window.rollingMs / 60));
  return Math.floor(at / bucketMs) > Math.floor((now - window.rollingMs) / bucketMs);
}

/** A small seeded generator: the run is the same every time. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('InMemoryBudgetStore', () => {
  it('never loses an amount of a current window: 40,000 random operations across windows agree with a store that drops nothing', () => {
    let now = Date.UTC(2026, 0, 30, 20);
    const store = new InMemoryBudgetStore(() => now);
    const model = new KeepEverything();
    const next = random(20);
    const windows: BudgetWindow[] = ['total', 'day', 'month', { rollingMs: 90 * 60 * 1000 }];
    const keys: BudgetKey[] = [];
    for (let i = 0; i < 300; i++) keys.push({ name: `tenant-${i}`, window: windows[i % windows.length]! });
    const check = (key: BudgetKey) => {
      const [got, want] = [store.total(key), model.total(key, now)];
      assert.ok(Math.abs(got - want) < 1e-9, `${JSON.stringify(key)} at ${new Date(now).toISOString()}: store $${got}, model $${want}`);
    };
    let peak = 0;
    for (let step = 0; step < 40_000; step++) {
      now += Math.floor(next() * 4 * 60 * 1000); // up to 4 minutes: ~55 days in all, crossing days and months
      const key = keys[Math.floor(next() * keys.length)]!;
      const roll = next();
      if (roll < 0.45) {
        const usd = Math.round(next() * 0.5 * 1e6) / 1e6;
        const limit = 1 + Math.floor(next() * 4);
        assert.equal(store.reserve(key, usd, limit), model.reserve(key, usd, limit, now));
      } else if (roll < 0.9) {
        // Charges and give-backs, some of which bring a total back to exactly what it was.
        const usd = Math.round((next() - 0.4) * 0.5 * 1e6) / 1e6;
        store.add(key, usd);
        model.add(key, usd, now);
      } else if (roll < 0.905) {
        store.reset(key);
        model.reset(key);
      }
      check(key);
      peak = Math.max(peak, store.size);
      if (step % 5000 === 0) for (const each of keys) check(each);
    }
    for (const each of keys) check(each);
    assert.ok(peak <= keys.length, `at most one account per key: ${peak}`);
  });

  it('a passed calendar window is dropped as new accounts arrive: 60,000 tenants a day hold 60,000 accounts, not 60,000 per day', () => {
    let now = Date.UTC(2026, 2, 10, 12);
    const store = new InMemoryBudgetStore(() => now);
    for (let day = 0; day < 3; day++) {
      for (let i = 0; i < 60_000; i++) store.add({ name: `day${day}-tenant-${i}`, window: 'day' }, 0.01);
      assert.equal(store.size, 60_000);
      now += DAY;
    }
  });

  it("a 'total' window's non-zero total is kept (it is spend); a zero total or an emptied rolling window is dropped", () => {
    let now = Date.UTC(2026, 2, 10, 12);
    const store = new InMemoryBudgetStore(() => now);
    for (let i = 0; i < 1000; i++) store.add({ name: `spent-${i}`, window: 'total' }, 0.01);
    for (let i = 0; i < 1000; i++) {
      // Reserved, then given back in full: nothing is left (floating point leaves ~1e-18).
      const key: BudgetKey = { name: `given-back-${i}`, window: 'total' };
      store.reserve(key, 0.1 + i * 1e-7, 5);
      store.add(key, 0.03);
      store.add(key, -(0.13 + i * 1e-7));
    }
    for (let i = 0; i < 1000; i++) store.add({ name: `rolling-${i}`, window: { rollingMs: 60_000 } }, 0.01);
    now += 61_000;
    for (let i = 0; i < 3000; i++) store.add({ name: `later-${i}`, window: 'day' }, 0.01);
    assert.equal(store.size, 1000 + 3000, 'the spent totals and the new accounts');
    for (let i = 0; i < 1000; i++) assert.equal(store.total({ name: `spent-${i}`, window: 'total' }), 0.01);
  });

  it('reading a total or a refused reservation creates no account', () => {
    const store = new InMemoryBudgetStore();
    for (let i = 0; i < 1000; i++) {
      assert.equal(store.total({ name: `reader-${i}`, window: 'day' }), 0);
      assert.equal(store.reserve({ name: `refused-${i}`, window: 'total' }, 2, 1), 'over_limit');
    }
    assert.equal(store.size, 0);
  });

  it('bad input is answered by the documented rules, never thrown, and never poisons an account', () => {
    const store = new InMemoryBudgetStore();
    const key: BudgetKey = { name: 'inputs', window: 'total' };
    const bad = [NaN, Infinity, -Infinity, 'x', undefined, null, {}] as unknown as number[];
    for (const value of bad) {
      assert.doesNotThrow(() => store.add(key, value));
      assert.doesNotThrow(() => store.reserve(key, value, 1));
      assert.doesNotThrow(() => store.reserve(key, 0.1, value));
    }
    // Of all that, only `reserve(key, 0.1, Infinity)` recorded anything.
    assert.equal(store.total(key), 0.1);
    assert.equal(store.reserve(key, NaN, 1), 'reserved', 'NaN reserves 0');
    assert.equal(store.reserve(key, -5, 1), 'reserved', 'a reservation never gives back');
    assert.equal(store.total(key), 0.1);
    assert.equal(store.reserve(key, Infinity, 1), 'over_limit');
    assert.equal(store.reserve(key, 0.1, NaN), 'over_limit', 'no limit to check against');
    assert.equal(store.reserve(key, 0.95, 1), 'over_limit');
    assert.equal(store.reserve(key, 0.9, 1), 'reserved');
    store.add(key, -0.5);
    assert.ok(Math.abs(store.total(key) - 0.5) < 1e-12, 'a negative add gives back');
    for (const badKey of [undefined, null, {}, { name: '' }, { name: 'n', window: 'week' }, { name: 'n', window: { rollingMs: -1 } }, 'k']) {
      const k = badKey as unknown as BudgetKey;
      assert.doesNotThrow(() => store.add(k, 0.1));
      assert.equal(store.total(k), 0);
      assert.equal(store.reserve(k, 0.1, 1), 'over_limit');
      assert.doesNotThrow(() => store.reset(k));
    }
  });
});
