/**
 * Many tenants through one process's `RedisBudgetStore`, against a real redis-server on
 * 127.0.0.1 (started here, with test/helpers/redis-server.ts): round trips, failed round
 * trips, refusals, wall time, peak and retained memory. Also the in-process store's
 * retained memory per account.
 *
 *   node --import tsx bench/redis-tenants.ts [--tenants 20000,100000] [--fail-mode closed]
 *        [--concurrency 500] [--chunks 5] [--chunk-delay-ms 2] [--evict-idle-ms 30000]
 *        [--in-memory 20000,60000,100000] [--url redis://…]
 *
 * Each tenant makes one request, as the budget guard does: reserve the input, add the
 * output chunk by chunk (checking the total after each), settle. `--concurrency` requests
 * are in flight at a time. Each measurement runs in a fresh process (with --expose-gc).
 * Nothing here asserts: the tests assert on counts (test/budget-redis-tenants.test.ts).
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { InMemoryBudgetStore, RedisBudgetStore, type BudgetKey, type BudgetWindow } from '../src/index.js';
import { CHUNK_USD, INPUT_USD, LIMIT_USD, runTenants } from '../test/fixtures/tenants-workload.js';
import { observedRedis } from '../test/helpers/observed-redis.js';
import { RedisServer } from '../test/helpers/redis-server.js';

const { values } = parseArgs({
  options: {
    child: { type: 'string' },
    url: { type: 'string' },
    tenants: { type: 'string', default: '20000,100000' },
    'fail-mode': { type: 'string', default: 'closed' },
    concurrency: { type: 'string', default: '500' },
    chunks: { type: 'string', default: '5' },
    'chunk-delay-ms': { type: 'string', default: '2' },
    'in-memory': { type: 'string', default: '20000,60000,100000' },
    window: { type: 'string', default: 'total' },
    'evict-idle-ms': { type: 'string', default: '30000' },
  },
});

interface RedisRun {
  tenants: number;
  /** Whether `flush()` got every amount into Redis within 30 s after the last request. */
  flushed: boolean;
  wallMs: number;
  roundTrips: number;
  failures: number;
  unavailable: number;
  overLimit: number;
  scriptsSent: number;
  maxScriptsInFlight: number;
  peakRssMB: number;
  peakHeapMB: number;
  /** Heap after GC with the store holding what it holds at the end of the run, minus the heap before the store. */
  retainedMB: number;
  accountsAtEnd: number | undefined;
  /** The same after the store's idle eviction had its chance (`evictIdleMs` + a sweep). */
  retainedAfterIdleMB: number | undefined;
  accountsAfterIdle: number | undefined;
}

interface MemoryRun {
  tenants: number;
  window: string;
  retainedMB: number;
  bytesPerAccount: number;
  /** After a day, with as many new tenants: the old store holds both days, this one the new day (calendar, rolling). */
  retainedNextDayMB: number;
  accountsNextDay: number | undefined;
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run the child with --expose-gc');
  collect();
  collect();
}

function heapMB(): number {
  gc();
  return process.memoryUsage().heapUsed / 1e6;
}

async function redisChild(url: string, tenants: number): Promise<RedisRun> {
  const failMode = values['fail-mode'] === 'open' ? 'open' : 'closed';
  const concurrency = Number(values.concurrency);
  const chunks = Number(values.chunks);
  const chunkDelayMs = Number(values['chunk-delay-ms']);
  const observed = observedRedis(url);
  const baseline = heapMB();
  const evictIdleMs = Number(values['evict-idle-ms']);
  const store = new RedisBudgetStore({ client: observed.client, failMode, evictIdleMs });
  await store.ready();
  let peakRss = 0;
  let peakHeap = 0;
  const sample = setInterval(() => {
    const usage = process.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
  }, 50);
  const started = performance.now();
  const { unavailable, overLimit } = await runTenants(store, { tenants, concurrency, chunks, chunkDelayMs });
  const flushed = await store.flush(30_000).then(
    () => true,
    () => false,
  );
  const wallMs = performance.now() - started;
  clearInterval(sample);
  const retainedMB = heapMB() - baseline;
  const accountsAtEnd = (store.stats() as { accounts?: number }).accounts;
  let retainedAfterIdleMB: number | undefined;
  let accountsAfterIdle: number | undefined;
  if (accountsAtEnd !== undefined) {
    // Idle past `evictIdleMs`, and one sweep (every evictIdleMs / 2) later.
    await sleep(evictIdleMs * 1.5 + 1000);
    retainedAfterIdleMB = heapMB() - baseline;
    accountsAfterIdle = (store.stats() as { accounts?: number }).accounts;
  }
  const stats = store.stats();
  await store.close().catch(() => undefined);
  observed.close();
  return {
    tenants,
    flushed,
    wallMs: Math.round(wallMs),
    roundTrips: stats.roundTrips,
    failures: stats.failures,
    unavailable,
    overLimit,
    scriptsSent: observed.counts.sent,
    maxScriptsInFlight: observed.counts.maxInFlight,
    peakRssMB: Math.round(peakRss / 1e5) / 10,
    peakHeapMB: Math.round(peakHeap / 1e5) / 10,
    retainedMB: Math.round(retainedMB * 10) / 10,
    accountsAtEnd,
    retainedAfterIdleMB: retainedAfterIdleMB === undefined ? undefined : Math.round(retainedAfterIdleMB * 10) / 10,
    accountsAfterIdle,
  };
}

async function inMemoryChild(tenants: number, windowName: string): Promise<MemoryRun> {
  let clock = Date.UTC(2026, 0, 15, 12);
  const store = new InMemoryBudgetStore(() => clock);
  const window: BudgetWindow = windowName === 'rolling' ? { rollingMs: 60_000 } : (windowName as 'total' | 'day');
  const baseline = heapMB();
  for (let i = 0; i < tenants; i++) {
    const key: BudgetKey = { name: `tenant-${i}`, window };
    store.reserve(key, INPUT_USD, LIMIT_USD);
    store.add(key, CHUNK_USD);
  }
  const retained = heapMB() - baseline;
  // A day later every calendar and rolling window has passed, and as many new tenants
  // arrive: what the store holds then is what it keeps for good.
  clock += 24 * 3600 * 1000 + 1;
  for (let i = 0; i < tenants; i++) store.add({ name: `next-day-${i}`, window }, CHUNK_USD);
  const retainedNextDay = heapMB() - baseline;
  return {
    tenants,
    window: windowName,
    retainedMB: Math.round(retained * 10) / 10,
    bytesPerAccount: Math.round((retained * 1e6) / tenants),
    retainedNextDayMB: Math.round(retainedNextDay * 10) / 10,
    accountsNextDay: (store as { size?: number }).size,
  };
}

function runChild(args: string[]): Promise<unknown> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', __filename, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`child ${args.join(' ')} exited with ${code}`));
      resolveRun(JSON.parse(stdout.trim().split('\n').at(-1)!));
    });
  });
}

async function main(): Promise<void> {
  // The store's own account of failures and outages, on stderr.
  if (process.env.BENCH_DIAG === '1') diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.INFO);
  if (values.child === 'redis') {
    console.log(JSON.stringify(await redisChild(values.url!, Number(values.tenants))));
    return;
  }
  if (values.child === 'in-memory') {
    console.log(JSON.stringify(await inMemoryChild(Number(values.tenants), values.window!)));
    return;
  }
  const server = values.url === undefined ? await RedisServer.start() : undefined;
  const url = values.url ?? server!.url;
  const passOn = ['--fail-mode', values['fail-mode']!, '--concurrency', values.concurrency!, '--chunks', values.chunks!];
  passOn.push('--chunk-delay-ms', values['chunk-delay-ms']!, '--evict-idle-ms', values['evict-idle-ms']!);
  try {
    console.log(
      `RedisBudgetStore: one request per tenant (reserve, ${values.chunks} chunks ${values['chunk-delay-ms']} ms apart, settle), ` +
        `${values.concurrency} in flight, failMode ${values['fail-mode']}`,
    );
    for (const tenants of values
      .tenants!.split(',')
      .map(Number)
      .filter((n) => n > 0)) {
      console.log(JSON.stringify(await runChild(['--child', 'redis', '--url', url, '--tenants', String(tenants), ...passOn])));
    }
    console.log('InMemoryBudgetStore: one reservation and one add per tenant');
    for (const window of ['total', 'day', 'rolling']) {
      for (const tenants of values['in-memory']!.split(',')
        .map(Number)
        .filter((n) => n > 0)) {
        console.log(JSON.stringify(await runChild(['--child', 'in-memory', '--tenants', String(tenants), '--window', window])));
      }
    }
  } finally {
    await server?.dispose();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
