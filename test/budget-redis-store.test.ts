/**
 * The Redis budget store against a real redis-server: a fleet's shared total, batching,
 * a batch sent twice counted once, windows expiring in Redis, several processes on one
 * account, and Redis stopped and restarted under both failure modes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, it as itWithoutRedis } from 'node:test';
import { createClient } from 'redis';
import { startEmulator } from '../src/emulator/index.js';
import { BudgetExceededError, RedisBudgetStore, withBudget, type BudgetKey, type RedisCommandClient } from '../src/index.js';
import { startOtel } from './helpers/otel.js';
import { RedisServer, redisUnavailableReason, flushes, waitFor } from './helpers/redis-server.js';
import { requiring } from './helpers/requirement.js';
import { attr, script } from './helpers/spans.js';

/** Every test but the first needs redis-server: without it, each is reported as skipped. */
const { it, before, after } = requiring(redisUnavailableReason());
let server: RedisServer;
let admin: ReturnType<typeof createClient>;
const stores: RedisBudgetStore[] = [];
let names = 0;

/**
 * How long `ready()`/`flush()` may wait for a Redis that is up, and how long one round trip
 * may take: far beyond what a loaded machine needs, so that only a broken store fails the
 * tests. (The frozen-Redis test sets its own `timeoutMs`.)
 */
const SYNCED = 60_000;
const ROUND_TRIP_MS = 5_000;

async function newStore(options: Partial<ConstructorParameters<typeof RedisBudgetStore>[0]> = {}): Promise<RedisBudgetStore> {
  const store = new RedisBudgetStore({ url: server.url, timeoutMs: ROUND_TRIP_MS, ...options });
  stores.push(store);
  await store.ready(SYNCED);
  return store;
}

const uniqueKey = (window: BudgetKey['window'] = 'total'): BudgetKey => ({ name: `test-${process.pid}-${++names}`, window });

/** The account's fleet total as Redis holds it, in USD. */
async function redisTotal(key: BudgetKey, field = 't'): Promise<number> {
  const id = key.window === 'total' ? 'total' : typeof key.window === 'object' ? `rolling:${key.window.rollingMs}` : undefined;
  assert.ok(id, 'calendar keys are read by name in their own test');
  const value = await admin.hGet(`otel-llm-cost:budget:{${key.name}}:${id}`, field);
  return Number(value ?? 0) / 1e9;
}

itWithoutRedis('the package loads and runs without `redis` installed; only a store created from a URL needs it', () => {
  const code = `
    const Module = require('node:module');
    const resolveFilename = Module._resolveFilename;
    Module._resolveFilename = function (request, ...rest) {
      if (request === 'redis' || request.startsWith('@redis/')) {
        throw Object.assign(new Error("Cannot find module '" + request + "'"), { code: 'MODULE_NOT_FOUND' });
      }
      return resolveFilename.call(this, request, ...rest);
    };
    const { LLMCostInstrumentation, RedisBudgetStore } = require('./src/index.ts');
    new LLMCostInstrumentation();
    new RedisBudgetStore({ client: { sendCommand: async () => '0' } });
    try {
      new RedisBudgetStore({ url: 'redis://127.0.0.1:1' });
    } catch (error) {
      console.log(error.message);
    }
  `;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: resolve(__dirname, '..'), encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /needs the `redis` package \(npm install redis\), or pass a client/);
});

describe('RedisBudgetStore with a real Redis', () => {
  before(async () => {
    server = await RedisServer.start();
    admin = createClient({ url: server.url });
    admin.on('error', () => undefined);
    await admin.connect();
  });
  after(async () => {
    for (const store of stores) await store.close().catch(() => undefined);
    admin?.destroy();
    await server?.dispose();
  });

  it('two stores (two processes) share one account: each sees the other after a sync', async () => {
    const [a, b] = await Promise.all([newStore(), newStore()]);
    const key = uniqueKey();
    assert.equal(a.reserve(key, 0.6, 1), 'reserved');
    assert.equal(a.total(key), 0.6, 'the local view counts its own amount at once');
    await a.flush(SYNCED);
    b.total(key); // b starts using the account: from now on its view of it is kept fresh
    await b.flush(SYNCED);
    assert.equal(b.total(key), 0.6);
    assert.equal(b.reserve(key, 0.5, 1), 'over_limit', 'the fleet total, not just this process, is checked');
    assert.equal(b.reserve(key, 0.4, 1), 'reserved');
    b.add(key, -0.1);
    await b.flush(SYNCED);
    // `a` uses the account again: flush() re-reads the accounts used since Redis last answered for them.
    a.total(key);
    await a.flush(SYNCED);
    assert.ok(Math.abs(a.total(key) - 0.9) < 1e-9, `a sees ${a.total(key)}`);
    assert.ok(Math.abs((await redisTotal(key)) - 0.9) < 1e-9);
  });

  it('batches: thousands of adds reach Redis in a few round trips, exactly (nano-USD integers)', async () => {
    const store = await newStore();
    const key = uniqueKey();
    store.total(key);
    await store.flush(SYNCED);
    const before = store.stats().roundTrips;
    let sum = 0;
    for (let i = 0; i < 5000; i++) {
      const amount = 0.0000123 * ((i % 7) + 1);
      store.add(key, amount);
      sum += amount;
      store.total(key);
    }
    await store.flush(SYNCED);
    const trips = store.stats().roundTrips - before;
    assert.ok(trips <= 3, `${trips} round trips for 5000 adds`);
    assert.ok(Math.abs((await redisTotal(key)) - sum) <= 1e-9, `redis ${await redisTotal(key)} vs ${sum}`);
    assert.equal(store.stats().unsyncedUsd, 0);
  });

  it('a batch whose answer was lost is sent again and counted once', async () => {
    const real = createClient({ url: server.url });
    real.on('error', () => undefined);
    await real.connect();
    let dropAnswers = 1;
    // Redis runs the script, then the answer is lost on the way back (a dropped connection).
    const lossy: RedisCommandClient = {
      async sendCommand(args) {
        const reply = await real.sendCommand(args);
        if (args[0]!.startsWith('EVAL') && dropAnswers-- > 0) throw new Error('connection lost before the answer');
        return reply;
      },
    };
    const store = new RedisBudgetStore({ client: lossy });
    stores.push(store);
    const key = uniqueKey();
    store.add(key, 0.25);
    // flush() tries again after the failure; Redis recognises the batch and only answers the total.
    await store.flush(SYNCED);
    assert.equal(await redisTotal(key), 0.25, 'applied once although sent twice');
    assert.equal(store.total(key), 0.25);
    assert.ok(store.stats().failures >= 1);
    await store.close();
    real.destroy();
  });

  it('calendar windows: one key per UTC day / month, expired by Redis a day after the window ends', async () => {
    const store = await newStore();
    const name = `calendar-${process.pid}`;
    store.add({ name, window: 'day' }, 0.5);
    store.add({ name, window: 'month' }, 0.7);
    await store.flush(SYNCED);
    const now = new Date();
    const day = now.toISOString().slice(0, 10);
    const month = now.toISOString().slice(0, 7);
    const dayKey = `otel-llm-cost:budget:{${name}}:day:${day}`;
    const monthKey = `otel-llm-cost:budget:{${name}}:month:${month}`;
    assert.equal(Number(await admin.hGet(dayKey, 't')) / 1e9, 0.5);
    assert.equal(Number(await admin.hGet(monthKey, 't')) / 1e9, 0.7);
    const dayEnd = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    const monthEnd = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
    // PTTL, not PEXPIRETIME, which Redis < 7 lacks.
    const expiresIn = async (key: string, at: number) => at - Date.now() - Number(await admin.pTTL(key));
    assert.ok(Math.abs(await expiresIn(dayKey, dayEnd + 24 * 3600 * 1000)) < 5000, 'day key expires a day after the day ends');
    assert.ok(Math.abs(await expiresIn(monthKey, monthEnd + 24 * 3600 * 1000)) < 5000, 'month key expires a day after the month ends');
    assert.equal(await admin.exists(`otel-llm-cost:budget:{${name}}:total`), 0, 'no total account was written');
  });

  it('rolling windows: amounts leave the total once older than the window, and the idle key expires', async () => {
    const [a, b] = await Promise.all([newStore(), newStore()]);
    const key = uniqueKey({ rollingMs: 600 });
    a.add(key, 0.3);
    b.add(key, 0.2);
    await a.flush(SYNCED);
    await b.flush(SYNCED);
    assert.ok(Math.abs(b.total(key) - 0.5) < 1e-9, `total ${b.total(key)}`);
    const redisKey = `otel-llm-cost:budget:{${key.name}}:rolling:600`;
    const ttl = Number(await admin.pTTL(redisKey));
    assert.ok(ttl > 0 && ttl <= 610, `the account expires when idle for a window: PTTL ${ttl}`);
    await waitFor(async () => {
      await b.flush(SYNCED);
      return b.total(key) === 0;
    }, 'the rolling total to drop to 0');
    await waitFor(async () => (await admin.exists(redisKey)) === 0, 'Redis to expire the idle account');
  });

  it('reset empties the account for the whole fleet', async () => {
    const [a, b] = await Promise.all([newStore(), newStore()]);
    const key = uniqueKey();
    a.add(key, 0.4);
    await a.flush(SYNCED);
    b.reset(key);
    assert.equal(b.total(key), 0);
    await b.flush(SYNCED);
    a.total(key);
    await a.flush(SYNCED);
    assert.equal(a.total(key), 0);
    a.add(key, 0.1);
    await a.flush(SYNCED);
    assert.equal(await redisTotal(key), 0.1);
  });

  it('several processes reserving and adding on one account: the total equals what they charged, and stops near the limit', async () => {
    const limit = 1;
    const name = `hammer-${process.pid}`;
    const processes = 4;
    const results = await Promise.all(
      Array.from({ length: processes }, () =>
        runChild(resolve(__dirname, 'fixtures/fleet-hammer.ts'), { REDIS_URL: server.url, BUDGET_NAME: name, LIMIT_USD: String(limit) }),
      ),
    );
    const charged = results.reduce((sum, r) => sum + r.chargedUsd, 0);
    const total = await redisTotal({ name, window: 'total' });
    const requests = results.reduce((sum, r) => sum + r.requests, 0);
    const trips = results.reduce((sum, r) => sum + r.stats.roundTrips, 0);
    // The figures, for the record: what the fleet charged against the limit.
    console.log(
      `hammer: ${processes} processes, ${requests} requests, limit $${limit}, Redis total $${total.toFixed(6)}, ` +
        `charged $${charged.toFixed(6)}, ${trips} round trips for ${requests * 21} reserve/add calls`,
    );
    assert.ok(Math.abs(total - charged) < 1e-8, `Redis $${total} vs charged $${charged}`);
    assert.ok(results.every((r) => r.stats.unsyncedUsd === 0));
    // Past the limit only the requests already in flight (4 processes × 3) go on, each until
    // its process sees the fleet total: at most its whole input and 20 chunks. Each process
    // on its own account would have spent $1, the fleet $4.
    assert.ok(total <= limit + 12 * (0.004 + 20 * 0.0005), `overspend $${total - limit}`);
    assert.ok(
      results.some((r) => r.stoppedMidway > 0),
      'requests were stopped mid-way by the fleet total',
    );
    assert.ok(total > limit * 0.95, `the fleet spent up to its limit: $${total}`);
  });

  describe('Redis stopped mid-run', () => {
    it("failMode 'open': keeps serving on the local view, and reconciles with Redis when it returns", async () => {
      const store = await newStore({ failMode: 'open' });
      const key = uniqueKey();
      store.add(key, 0.2);
      await store.flush(SYNCED);
      await server.stop({ save: true });
      assert.equal(store.reserve(key, 0.1, 1), 'reserved', 'served while Redis is away');
      store.add(key, 0.05);
      await assert.rejects(store.flush(), /could not reach Redis/);
      assert.equal(store.stats().reachable, false);
      assert.equal(store.reserve(key, 0.1, 1), 'reserved');
      assert.ok(Math.abs(store.total(key) - 0.45) < 1e-9, 'the local view counts what was kept locally');
      assert.ok(Math.abs(store.stats().unsyncedUsd - 0.25) < 1e-9);
      await server.restart();
      await waitFor(() => flushes(store), 'the store to reach Redis again');
      assert.ok(Math.abs((await redisTotal(key)) - 0.45) < 1e-9, `reconciled: $${await redisTotal(key)}`);
      assert.equal(store.stats().reachable, true);
    });

    it("failMode 'closed': refuses new reservations at once while Redis is away, and takes them again when it returns", async () => {
      const store = await newStore({ failMode: 'closed' });
      const key = uniqueKey();
      assert.equal(store.reserve(key, 0.1, 1), 'reserved');
      await store.flush(SYNCED);
      await server.stop({ save: true });
      // Its client notices the closed connection, and the next round trip fails: either is enough.
      await waitFor(() => !store.stats().reachable, 'the store to notice');
      assert.equal(store.reserve(key, 0.1, 1), 'unavailable');
      // An amount of a request already under way is still recorded, and sent later.
      store.add(key, 0.02);
      assert.equal(store.reserve(key, 0.1, 1), 'unavailable');
      await server.restart();
      await waitFor(() => flushes(store), 'the store to reach Redis again');
      assert.equal(store.reserve(key, 0.1, 1), 'reserved');
      await store.flush(SYNCED);
      assert.ok(Math.abs((await redisTotal(key)) - 0.22) < 1e-9, `$${await redisTotal(key)}`);
    });
  });

  it('Redis frozen (connection open, nothing answered): round trips time out, nothing waits, batches count once when it wakes', async () => {
    const store = await newStore({ failMode: 'closed', timeoutMs: 1_000 });
    const key = uniqueKey();
    store.add(key, 0.1);
    await store.flush(SYNCED);
    server.pause();
    try {
      store.add(key, 0.05);
      await assert.rejects(store.flush(), /could not reach Redis/);
      assert.equal(store.reserve(key, 0.01, 1), 'unavailable', 'fail closed: the view cannot be vouched for');
      assert.ok(Math.abs(store.total(key) - 0.15) < 1e-9, 'answered at once, from the local view');
    } finally {
      server.resume();
    }
    // The batch was sent again on every retry, queued behind the frozen connection: Redis
    // now runs each copy, and applies it once.
    await waitFor(() => flushes(store), 'the store to reach Redis again');
    assert.ok(Math.abs((await redisTotal(key)) - 0.15) < 1e-9, `$${await redisTotal(key)}`);
    assert.equal(store.reserve(key, 0.01, 1), 'reserved');
  });

  it('per budget, `withBudget({ store })`: requests through the SDK charge the fleet account, and are refused when another process spent it', async () => {
    const otel = startOtel();
    const emulator = await startEmulator();
    try {
      const openai = new otel.OpenAI({ apiKey: 'test', baseURL: emulator.openaiBaseURL, maxRetries: 0 });
      const [here, elsewhere] = await Promise.all([newStore(), newStore()]);
      const key = uniqueKey();
      const budget = { name: key.name, maxUsd: 0.01, store: here };
      const request = () =>
        openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello there' }], stream: true }, script({ outputTokens: 50 }));
      await withBudget(budget, async () => {
        for await (const _chunk of await request());
      });
      await here.flush(SYNCED);
      const [span] = await otel.settle(1);
      const cost = attr(span!, 'llm_cost.cost.usd') as number;
      assert.ok(cost > 0);
      assert.ok(Math.abs((await redisTotal(key)) - cost) < 1e-9, `Redis $${await redisTotal(key)} == the span's $${cost}`);
      assert.equal(attr(span!, 'llm_cost.budget.name'), key.name);
      // Another process spends the rest: this one sees it at its next sync and refuses before sending.
      elsewhere.total(key);
      await elsewhere.flush(SYNCED);
      elsewhere.add(key, 0.01 - elsewhere.total(key));
      await elsewhere.flush(SYNCED);
      here.total(key);
      await here.flush(SYNCED);
      otel.reset();
      const sent = emulator.requests.length;
      await assert.rejects(
        withBudget(budget, async () => {
          for await (const _chunk of await request());
        }),
        (error: unknown) => error instanceof BudgetExceededError && error.reason === 'preflight',
      );
      assert.equal(emulator.requests.length, sent, 'nothing sent');
      const [refused] = await otel.settle(1);
      assert.ok(Math.abs((attr(refused!, 'llm_cost.budget.spent_usd') as number) - 0.01) < 1e-9, 'the span shows the fleet total');
    } finally {
      await emulator.stop();
      await otel.shutdown();
    }
  });

  it('rejects options it cannot work with', () => {
    assert.throws(() => new RedisBudgetStore({}), /exactly one of `client` or `url`/);
    assert.throws(() => new RedisBudgetStore({ url: server.url, failMode: 'maybe' as 'open' }), /failMode/);
    assert.throws(() => new RedisBudgetStore({ url: server.url, syncIntervalMs: 0 }), /syncIntervalMs/);
  });
});

interface HammerResult {
  chargedUsd: number;
  requests: number;
  stoppedMidway: number;
  stats: { roundTrips: number; unsyncedUsd: number };
}

function runChild(file: string, env: Record<string, string>): Promise<HammerResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000); // a hang guard only
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${file} exited with ${code}\n${stdout}\n${stderr}`));
      resolveRun(JSON.parse(stdout.trim().split('\n').at(-1)!) as HammerResult);
    });
  });
}
