/**
 * The Redis budget store with many tenants in one process, against a real redis-server:
 * only what changed is sent, in bounded batches, with no failed round trip and no refusal
 * while Redis is up; idle accounts leave memory and are read again when used; accounts near
 * their limit stay fresh; one broken account does not take the others down; bad input is
 * answered, never thrown.
 *
 * Nothing here asserts on durations: on counts (refusals, failures, scripts sent, scripts out
 * at once, accounts held) and on Redis's totals. Waits are for conditions, with a generous
 * deadline.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { RedisBudgetStore, type BudgetKey, type RedisBudgetStoreOptions, type RedisCommandClient } from '../src/index.js';
import { chargedNanos, runTenants, tenantKey, type TenantsWorkload } from './fixtures/tenants-workload.js';
import { observedRedis, type ObservedRedis } from './helpers/observed-redis.js';
import { RedisServer, redisUnavailableReason, flushes, waitFor } from './helpers/redis-server.js';

const skip = redisUnavailableReason();
/**
 * The volume tests allow Redis 2 s of silence rather than the default 500 ms: on a 2-core
 * machine shared with other work, a redis-server starved of CPU has been seen silent for
 * over 500 ms (an independent PING peaked at 245 ms in calmer runs). What these tests hold
 * the store to is structural: batches of at most 500 scripts, nothing sent for idle
 * accounts, no failure or refusal. Today's code fails them at either timeout (20,000 scripts
 * out at once; 70,000 of 100,000 requests refused at 2 s). The default timeout is measured
 * by bench/redis-tenants.ts.
 */
const LOADED_MACHINE_TIMEOUT_MS = 2000;
let server: RedisServer;
let admin: ReturnType<typeof createClient>;
const cleanups: (() => Promise<void> | void)[] = [];
let prefixes = 0;

/** A store on its own key prefix, through an observed client. */
async function newStore(
  options: Partial<RedisBudgetStoreOptions> = {},
  perAccount = false,
): Promise<{ store: RedisBudgetStore; observed: ObservedRedis; prefix: string }> {
  const observed = observedRedis(server.url, perAccount);
  const prefix = options.keyPrefix ?? `tenants-${process.pid}-${++prefixes}:`;
  const store = new RedisBudgetStore({ client: observed.client, keyPrefix: prefix, ...options });
  cleanups.push(async () => {
    await store.close().catch(() => undefined);
    observed.close();
  });
  await store.ready();
  return { store, observed, prefix };
}

/** Redis's totals (nano-USD) of the workload's tenants, read in pipelined chunks. */
async function redisTotals(prefix: string, workload: TenantsWorkload): Promise<number[]> {
  const totals: number[] = [];
  const day = new Date().toISOString().slice(0, 10);
  for (let start = 0; start < workload.tenants; start += 1000) {
    const end = Math.min(workload.tenants, start + 1000);
    const replies = await Promise.all(
      Array.from({ length: end - start }, (_, i) => admin.hGet(`${prefix}{${tenantKey(workload, start + i).name}}:day:${day}`, 't')),
    );
    for (const reply of replies) totals.push(Number(reply ?? 0));
  }
  return totals;
}

function assertEveryTenantCharged(totals: number[], workload: TenantsWorkload): void {
  const expected = chargedNanos(workload);
  const wrong = totals.filter((nanos) => nanos !== expected).length;
  assert.equal(wrong, 0, `${wrong} of ${totals.length} tenants' Redis totals differ from the ${expected} nano-USD each was charged`);
}

describe('RedisBudgetStore with many tenants in one process', { skip, timeout: 600_000 }, () => {
  before(async () => {
    server = await RedisServer.start();
    admin = createClient({ url: server.url });
    admin.on('error', () => undefined);
    await admin.connect();
  });
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
    admin?.destroy();
    await server?.dispose();
  });

  it("20,000 tenants, one request each, failMode 'closed': no refusal, no failed round trip, bounded batches, nothing sent while idle", async () => {
    const { store, observed, prefix } = await newStore({ failMode: 'closed', timeoutMs: LOADED_MACHINE_TIMEOUT_MS });
    const workload: TenantsWorkload = { tenants: 20_000, concurrency: 500, chunks: 5, chunkDelayMs: 2 };
    const run = await runTenants(store, workload);
    const during = store.stats();
    console.log(
      `20,000 tenants: ${run.unavailable} refused as unavailable, ${run.overLimit} over limit, ${during.failures} failed scripts, ` +
        `${observed.counts.sent} scripts sent, at most ${observed.counts.maxInFlight} out at once`,
    );
    // Redis was up the whole time: nothing may be refused or fail.
    assert.equal(run.unavailable, 0, 'requests refused as if Redis were down');
    assert.equal(run.overLimit, 0);
    assert.equal(during.failures, 0, 'failed round trips');
    await store.flush(60_000);
    const stats = store.stats();
    assert.equal(stats.failures, 0, 'failed round trips');
    // Bounded batches: never more than one batch of scripts out at once.
    assert.ok(observed.counts.maxInFlight <= 500, `${observed.counts.maxInFlight} scripts out at once`);
    assert.equal(stats.unsyncedUsd, 0);
    assertEveryTenantCharged(await redisTotals(prefix, workload), workload);
    // Only what changed is sent: accounts that nobody uses are not read again.
    const sent = observed.counts.sent;
    await sleep(500);
    assert.equal(observed.counts.sent, sent, 'scripts sent for idle accounts');
  });

  it('100,000 tenants in one process: no refusal, no failed round trip; once idle, every account leaves memory', async () => {
    const { store, observed, prefix } = await newStore({ failMode: 'closed', evictIdleMs: 1000, timeoutMs: LOADED_MACHINE_TIMEOUT_MS });
    const workload: TenantsWorkload = { tenants: 100_000, concurrency: 1000, chunks: 3, chunkDelayMs: 0, namePrefix: 'big-' };
    const run = await runTenants(store, workload);
    assert.equal(run.unavailable, 0, 'requests refused as if Redis were down');
    assert.equal(run.overLimit, 0);
    await store.flush(120_000);
    const stats = store.stats();
    console.log(
      `100,000 tenants: ${run.unavailable} refused as unavailable, ${stats.failures} failed scripts, ` +
        `${observed.counts.sent} scripts in ${stats.batches} batches, at most ${observed.counts.maxInFlight} out at once`,
    );
    assert.equal(stats.failures, 0, 'failed round trips');
    assert.ok(observed.counts.maxInFlight <= 500, `${observed.counts.maxInFlight} scripts out at once`);
    assertEveryTenantCharged(await redisTotals(prefix, workload), workload);
    await waitFor(() => store.stats().accounts === 0, 'the idle accounts to be dropped');
  });

  it('an idle account is dropped and read again on its next use; one at its limit is kept, so its tenant stays refused without waiting for Redis', async () => {
    const { store: elsewhere, prefix } = await newStore({});
    const { store: here } = await newStore({ keyPrefix: prefix, evictIdleMs: 200 });
    const far: BudgetKey = { name: 'far', window: 'total' };
    const spent: BudgetKey = { name: 'spent', window: 'total' };
    assert.equal(here.reserve(far, 0.1, 1), 'reserved');
    assert.equal(here.reserve(spent, 0.5, 1), 'reserved');
    await here.flush();
    elsewhere.add(spent, 0.5);
    elsewhere.add(far, 0.3);
    await elsewhere.flush();
    here.total(spent);
    await here.flush();
    assert.equal(here.reserve(spent, 0.01, 1), 'over_limit', 'the fleet spent it');
    await waitFor(() => here.stats().accounts === 1, 'the idle account far from its limit to be dropped');
    // Still held: refused at once, from the view kept.
    assert.equal(here.reserve(spent, 0.01, 1), 'over_limit');
    // Dropped: the next use reads it again; until the answer, only this process's own amounts
    // are known (the documented first look), after it the fleet's total.
    assert.equal(here.total(far), 0, 'first look: nothing known yet');
    await here.flush();
    assert.ok(Math.abs(here.total(far) - 0.4) < 1e-9, `read again: $${here.total(far)}`);
  });

  it('an account near its limit is re-read in the background: the next request is checked against what other processes spent meanwhile', async () => {
    const { store: here, observed, prefix } = await newStore({}, true);
    const { store: elsewhere } = await newStore({ keyPrefix: prefix });
    const key: BudgetKey = { name: 'near', window: 'total' };
    const farKey: BudgetKey = { name: 'far', window: 'total' };
    assert.equal(here.reserve(key, 0.95, 1), 'reserved');
    assert.equal(here.reserve(farKey, 0.1, 1), 'reserved');
    await here.flush();
    elsewhere.add(key, 0.04);
    await elsewhere.flush();
    // Nothing in `here` touches the account from now on; its view is refreshed anyway.
    const scripts = (name: string) => observed.byAccount.get(`${prefix}{${name}}:total`) ?? 0;
    const [nearBefore, farBefore] = [scripts('near'), scripts('far')];
    await waitFor(() => scripts('near') >= nearBefore + 2, 'background re-reads');
    assert.equal(here.reserve(key, 0.02, 1), 'over_limit', 'checked against 0.95 + 0.04 spent');
    assert.equal(scripts('far'), farBefore, 'the account far from its limit is not re-read while idle');
  });

  it('idle accounts far from their limit cost no round trip', async () => {
    const { store, observed } = await newStore({});
    for (let i = 0; i < 1000; i++) store.reserve({ name: `quiet-${i}`, window: 'day' }, 0.01, 1);
    await store.flush();
    const sent = observed.counts.sent;
    await sleep(500);
    assert.equal(observed.counts.sent, sent);
  });

  it('this process stalled by a long synchronous task while Redis answered: no failed round trip, nothing refused', async () => {
    const observed = observedRedis(server.url);
    let stallNext = false;
    // The stall starts right after the client wrote the script (node-redis writes in a
    // setImmediate, queued before this one): Redis answers during it, the answer waits.
    const client: RedisCommandClient = {
      sendCommand(args) {
        const reply = observed.client.sendCommand(args);
        if (stallNext && args[0]!.startsWith('EVAL')) {
          stallNext = false;
          setImmediate(() => {
            const until = Date.now() + 1000; // four timeouts
            while (Date.now() < until);
          });
        }
        return reply;
      },
      get isReady() {
        return observed.client.isReady;
      },
    };
    const store = new RedisBudgetStore({ client, keyPrefix: `stall-${process.pid}:`, failMode: 'closed', timeoutMs: 250 });
    cleanups.push(async () => {
      await store.close().catch(() => undefined);
      observed.close();
    });
    await store.ready();
    const key: BudgetKey = { name: 'stalled', window: 'total' };
    let unavailable = 0;
    for (let round = 0; round < 5; round++) {
      stallNext = true;
      store.add(key, 0.01);
      await waitFor(() => !stallNext, 'the batch to go out');
      await sleep(50);
      if (store.reserve(key, 0.001, 1) === 'unavailable') unavailable++;
    }
    await store.flush();
    assert.equal(store.stats().failures, 0);
    assert.equal(unavailable, 0);
  });

  it("one account Redis rejects (its key holds a string) does not take the store down: other tenants are served, that one is refused under 'closed'", async () => {
    const { store, prefix } = await newStore({ failMode: 'closed' });
    await admin.set(`${prefix}{poisoned}:total`, 'not a hash');
    const poisoned: BudgetKey = { name: 'poisoned', window: 'total' };
    const healthy: BudgetKey = { name: 'healthy', window: 'total' };
    assert.equal(store.reserve(poisoned, 0.1, 1), 'reserved', 'first look, before Redis answered');
    assert.equal(store.reserve(healthy, 0.1, 1), 'reserved');
    await assert.rejects(store.flush(), /could not reach Redis/, 'the poisoned amount cannot be recorded');
    assert.equal(store.reserve(poisoned, 0.1, 1), 'unavailable', 'its total cannot be vouched for');
    assert.equal(store.reserve(healthy, 0.1, 1), 'reserved', 'the others are');
    assert.equal(store.stats().reachable, true);
    assert.ok(store.stats().failures > 0);
    // Repaired: the kept amount is recorded, the account is served again.
    await admin.del(`${prefix}{poisoned}:total`);
    await waitFor(() => flushes(store), 'the kept amount to be recorded');
    assert.equal(Number(await admin.hGet(`${prefix}{poisoned}:total`, 't')) / 1e9, 0.1);
    assert.equal(store.reserve(poisoned, 0.1, 1), 'reserved');
  });

  it('Redis frozen: idle accounts are kept while it does not answer (the view is all there is), dropped once it is back', async () => {
    const { store } = await newStore({ evictIdleMs: 200, timeoutMs: 200, failMode: 'open' });
    const key: BudgetKey = { name: 'kept', window: 'total' };
    store.add(key, 0.3);
    await store.flush();
    server.pause(); // frozen: the connection stays open, nothing is answered
    try {
      // Used until the store notices, so it cannot have been dropped as idle before.
      await waitFor(() => {
        store.add({ name: 'other', window: 'total' }, 0.01);
        return store.total(key) > 0 && !store.stats().reachable;
      }, 'the store to notice');
      await sleep(1500); // evictIdleMs, and more than one sweep (every second)
      assert.equal(store.stats().accounts, 2);
      assert.ok(Math.abs(store.total(key) - 0.3) < 1e-9);
    } finally {
      server.resume();
    }
    await waitFor(() => flushes(store), 'the store to reach Redis again');
    await waitFor(() => store.stats().accounts === 0, 'the idle accounts to be dropped');
  });

  it('bad input is answered by the documented rules, never thrown, and never poisons the Redis account', async () => {
    const { store, prefix } = await newStore({ failMode: 'closed' });
    const key: BudgetKey = { name: 'inputs', window: 'total' };
    const bad = [NaN, Infinity, -Infinity, -1, 'x', undefined, null, {}] as unknown as number[];
    for (const value of bad) {
      assert.doesNotThrow(() => store.add(key, value));
      assert.doesNotThrow(() => store.reserve(key, value, 1));
      assert.doesNotThrow(() => store.reserve(key, 0.1, value));
    }
    assert.equal(store.reserve(key, NaN, 1), 'reserved', 'NaN reserves 0');
    assert.equal(store.reserve(key, Infinity, 1), 'over_limit');
    assert.equal(store.reserve(key, 0.1, NaN), 'over_limit', 'no limit to check against');
    assert.equal(store.reserve(key, 0.1, 'x' as unknown as number), 'over_limit');
    for (const badKey of [undefined, null, {}, { name: '' }, { name: 'n', window: 'week' }, { name: 'n', window: { rollingMs: NaN } }, 'k']) {
      const k = badKey as unknown as BudgetKey;
      assert.doesNotThrow(() => store.add(k, 0.1));
      assert.equal(store.total(k), 0);
      assert.equal(store.reserve(k, 0.1, 1), 'over_limit');
      assert.doesNotThrow(() => store.reset(k));
    }
    // A huge amount is clamped to what an exact batch can carry; Redis keeps taking the account's batches.
    const huge: BudgetKey = { name: 'huge', window: 'total' };
    store.add(huge, 1e15);
    store.add(huge, -1e15);
    store.add(huge, 0.25);
    await store.flush();
    assert.equal(store.stats().failures, 0);
    assert.equal(Number(await admin.hGet(`${prefix}{huge}:total`, 't')), 0.25e9);
    store.add(huge, 1e15);
    await store.flush();
    assert.equal(store.stats().failures, 0);
    assert.equal(Number(await admin.hGet(`${prefix}{huge}:total`, 't')), Number.MAX_SAFE_INTEGER + 0.25e9);
    // A fractional rolling window is whole milliseconds in Redis (PEXPIRE takes integers).
    const rolling: BudgetKey = { name: 'fraction', window: { rollingMs: 1500.5 } };
    store.add(rolling, 0.2);
    await store.flush();
    assert.equal(store.stats().failures, 0);
    const buckets = await admin.hVals(`${prefix}{fraction}:rolling:1501`);
    assert.equal(
      buckets.reduce((sum, nanos) => sum + Number(nanos), 0),
      0.2e9,
    );
  });
});
