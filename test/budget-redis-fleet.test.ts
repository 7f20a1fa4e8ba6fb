/**
 * The fleet: four Node processes, each streaming through the real OpenAI and Anthropic
 * SDKs against one emulator, under one shared budget kept in a real Redis. The fleet
 * stops at the limit within the chunks in flight, Redis's total equals the sum of the spans'
 * costs, and Redis stopped mid-run behaves as configured: `open` keeps serving and
 * reconciles when Redis returns, `closed` refuses new requests until it does. The processes
 * start once and serve the three scenarios in turn, each on a budget and a store of its own.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { describe } from 'node:test';
import { createClient } from 'redis';
import { PriceCatalog } from '../src/pricing/catalog.js';
import { priceRequest } from '../src/pricing/price-request.js';
import { startEmulator, type ProviderEmulator } from '../src/emulator/index.js';
import type { RedisFailMode } from '../src/index.js';
import { FLEET_MODELS, type RunRequest, type WorkerMessage, type WorkerResult } from './fixtures/fleet-protocol.js';
import { RedisServer, redisUnavailableReason } from './helpers/redis-server.js';
import { requiring } from './helpers/requirement.js';

/** Without redis-server, each test is reported as skipped. */
const { it, before, after } = requiring(redisUnavailableReason());
const WORKERS = 4;
const STREAMS_PER_WORKER = 2;
/**
 * Output tokens per stream, and the limit: about 36 streams reach it (4 or 5 per loop), as
 * with $1 and 400 tokens, for an eighth of the chunks.
 */
const OUTPUT_TOKENS = 50;
const LIMIT_USD = 0.125;
/** Redis is stopped once the fleet has spent this share of the limit. */
const OUTAGE_AT = 0.3 * LIMIT_USD;

let server: RedisServer;
let emulator: ProviderEmulator;
let admin: ReturnType<typeof createClient>;
let workers: Worker[] = [];

/** The dearest output token and the dearest input of the fleet's models, in USD. */
function dearest(): { outputTokenUsd: number; inputUsd: number } {
  const price = (provider: string, model: string, input: number, output: number) => {
    const usage = { input: { value: input, source: 'estimated' as const }, output: { value: output, source: 'estimated' as const } };
    const cost = priceRequest({ provider, models: [model], usage }, { catalog: new PriceCatalog() });
    if (cost.source === 'unpriced') assert.fail(`${model} is priced`);
    return cost.totalUsd;
  };
  const models = [
    ['openai', FLEET_MODELS.openai],
    ['anthropic', FLEET_MODELS.anthropic],
  ] as const;
  return {
    outputTokenUsd: Math.max(...models.map(([p, m]) => price(p, m, 0, 1_000_000) / 1_000_000)),
    // The prompts are ~20 tokens; 100 leaves room for message framing.
    inputUsd: Math.max(...models.map(([p, m]) => price(p, m, 100, 0))),
  };
}

/** A fleet process, started once; `onMessage` is the current run's. */
interface Worker {
  child: ChildProcess;
  onMessage: (message: WorkerMessage) => void;
  exited: Promise<void>;
}

function startWorker(worker: number): Worker {
  const child = fork(resolve(__dirname, 'fixtures/fleet-worker.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      REDIS_URL: server.url,
      OPENAI_BASE_URL: emulator.openaiBaseURL,
      ANTHROPIC_BASE_URL: emulator.anthropicBaseURL,
      WORKER: String(worker),
      STREAMS: String(STREAMS_PER_WORKER),
      OUTPUT_TOKENS: String(OUTPUT_TOKENS),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const started: Worker = {
    child,
    onMessage: () => undefined,
    exited: new Promise((resolveExit) => child.once('exit', () => resolveExit())),
  };
  child.on('message', (message: WorkerMessage) => started.onMessage(message));
  return started;
}

interface FleetRun {
  results: WorkerResult[];
  storeUsd: number;
}

/**
 * Runs the fleet on budget `name`. `duringRun` is told of every cost and every refusal by
 * an unavailable store as they happen, and may stop and restart Redis.
 */
async function runFleet(
  name: string,
  failMode: RedisFailMode,
  duringRun?: (event: WorkerMessage & { worker: number }, fleet: { costUsd: number }) => void,
): Promise<FleetRun> {
  const fleet = { costUsd: 0 };
  const request: RunRequest = { type: 'run', budgetName: name, limitUsd: LIMIT_USD, failMode };
  const results = await Promise.all(
    workers.map(
      (running, worker) =>
        new Promise<WorkerResult>((resolveWorker, reject) => {
          running.onMessage = (message) => {
            if (message.type === 'done') resolveWorker(message.result);
            else {
              if (message.type === 'cost') fleet.costUsd += message.usd;
              duringRun?.({ ...message, worker }, fleet);
            }
          };
          void running.exited.then(() => reject(new Error(`fleet worker ${worker} exited during a run (code ${running.child.exitCode})`)));
          running.child.send(request);
        }),
    ),
  );
  const storeUsd = Number((await admin.hGet(`otel-llm-cost:budget:{${name}}:total`, 't')) ?? 0) / 1e9;
  return { results, storeUsd };
}

function report(label: string, run: FleetRun): { spansUsd: number; overspend: number } {
  const sum = (pick: (r: WorkerResult) => number) => run.results.reduce((total, r) => total + pick(r), 0);
  const spansUsd = sum((r) => r.spansUsd);
  const overspend = run.storeUsd - LIMIT_USD;
  console.log(
    `fleet ${label}: ${WORKERS} processes × ${STREAMS_PER_WORKER} streams, limit $${LIMIT_USD}; ` +
      `store total $${run.storeUsd.toFixed(6)} (overspend $${overspend.toFixed(6)}); spans' sum $${spansUsd.toFixed(6)}; ` +
      `onCost sum $${sum((r) => r.onCostUsd).toFixed(6)}; requests ${sum((r) => r.requests)} ` +
      `(midstream stops ${sum((r) => r.midstreamStops)}, preflight refusals ${sum((r) => r.preflightRefusals)}, ` +
      `unavailable refusals ${sum((r) => r.unavailableRefusals)}); ${sum((r) => r.chunks)} chunks, ${sum((r) => r.roundTrips)} Redis round trips; ` +
      `outcomes ${JSON.stringify(mergeCounts(run.results.map((r) => r.outcomes)))}`,
  );
  return { spansUsd, overspend };
}

function assertFleetInvariants(run: FleetRun, extraAllowanceUsd = 0): void {
  for (const [worker, result] of run.results.entries()) {
    assert.deepEqual(result.unexpected, [], `worker ${worker}: no error other than the budget's reached the code`);
    assert.equal(result.spansWithoutBudget, 0, `worker ${worker}: every span names the budget`);
    assert.equal(result.unsyncedUsd, 0, `worker ${worker}: everything it charged reached Redis`);
    assert.ok(result.preflightRefusals > 0, `worker ${worker} ended on the budget's refusal`);
  }
  const spansUsd = run.results.reduce((total, r) => total + r.spansUsd, 0);
  const onCostUsd = run.results.reduce((total, r) => total + r.onCostUsd, 0);
  assert.ok(Math.abs(run.storeUsd - spansUsd) < 1e-6, `store $${run.storeUsd} == spans' sum $${spansUsd}`);
  assert.ok(Math.abs(onCostUsd - spansUsd) < 1e-9, `onCost $${onCostUsd} == spans $${spansUsd}`);
  const { outputTokenUsd, inputUsd } = dearest();
  const streams = WORKERS * STREAMS_PER_WORKER;
  // Past the limit, only the streams in flight go on, each until its process sees the crossing:
  // at most its input and its whole output, however slowly the machine runs.
  const allowance = streams * (inputUsd + OUTPUT_TOKENS * outputTokenUsd) + extraAllowanceUsd;
  assert.ok(run.storeUsd <= LIMIT_USD + allowance, `fleet total $${run.storeUsd} within $${LIMIT_USD} + in-flight allowance $${allowance.toFixed(6)}`);
  assert.ok(run.storeUsd >= LIMIT_USD - streams * inputUsd - 0.05 * LIMIT_USD, `the fleet used its budget: $${run.storeUsd}`);
}

function mergeCounts(counts: Record<string, number>[]): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const count of counts) for (const [key, n] of Object.entries(count)) merged[key] = (merged[key] ?? 0) + n;
  return merged;
}

describe('four processes streaming under one shared budget in Redis', () => {
  before(async () => {
    server = await RedisServer.start();
    emulator = await startEmulator();
    admin = createClient({ url: server.url, socket: { reconnectStrategy: 50 } });
    admin.on('error', () => undefined);
    await admin.connect();
    workers = Array.from({ length: WORKERS }, (_, worker) => startWorker(worker));
  });
  after(async () => {
    for (const running of workers) if (running.child.connected) running.child.disconnect();
    await Promise.all(workers.map((running) => running.exited));
    admin?.destroy();
    await emulator?.stop();
    await server?.dispose();
  });

  it('stop at the limit within the chunks in flight; Redis total == sum of the spans', async () => {
    const run = await runFleet(`fleet-${process.pid}-healthy`, 'open');
    report('healthy', run);
    assertFleetInvariants(run);
  });

  it("Redis stopped mid-run, failMode 'open': requests go on, and Redis is reconciled when it returns", async () => {
    let phase: 'before' | 'down' | 'back' = 'before';
    const servedWhileDown = new Set<number>();
    let spentWhileDown = 0;
    let restarting: Promise<void> | undefined;
    const run = await runFleet(`fleet-${process.pid}-open`, 'open', (event, fleet) => {
      if (phase === 'before' && event.type === 'cost' && fleet.costUsd >= OUTAGE_AT) {
        phase = 'down';
        restarting = server.stop({ save: true });
      } else if (phase === 'down' && event.type === 'cost') {
        spentWhileDown += event.usd;
        servedWhileDown.add(event.worker);
        // Every replica finished a request with Redis away: bring it back.
        if (servedWhileDown.size === WORKERS) {
          phase = 'back';
          restarting = restarting!.then(() => server.restart());
        }
      }
    });
    await restarting;
    report(`open, Redis stopped at $${OUTAGE_AT} and restarted ($${spentWhileDown.toFixed(6)} spent while it was away)`, run);
    assert.equal(phase, 'back', 'Redis was stopped and restarted mid-run');
    assert.ok(
      run.results.every((r) => r.unavailableRefusals === 0),
      'nothing refused for the outage',
    );
    // Away, each replica spent on its own view, so what the fleet spent then may come on top
    // of the limit; the stop comes once Redis is back and the fleet total is known again.
    assertFleetInvariants(run, spentWhileDown);
  });

  it("Redis stopped mid-run, failMode 'closed': new requests refused with BudgetStoreUnavailableError, resumed when it returns", async () => {
    let phase: 'before' | 'down' | 'back' = 'before';
    const refusedWhileDown = new Set<number>();
    let restarting: Promise<void> | undefined;
    const run = await runFleet(`fleet-${process.pid}-closed`, 'closed', (event, fleet) => {
      if (phase === 'before' && event.type === 'cost' && fleet.costUsd >= OUTAGE_AT) {
        phase = 'down';
        restarting = server.stop({ save: true });
      } else if (phase === 'down' && event.type === 'unavailable') {
        refusedWhileDown.add(event.worker);
        if (refusedWhileDown.size === WORKERS) {
          phase = 'back';
          restarting = restarting!.then(() => server.restart());
        }
      }
    });
    await restarting;
    report(`closed, Redis stopped at $${OUTAGE_AT} and restarted`, run);
    assert.equal(phase, 'back', 'Redis was stopped and restarted mid-run');
    assert.ok(
      run.results.every((r) => r.unavailableRefusals > 0),
      'every replica refused requests while Redis was away',
    );
    assertFleetInvariants(run);
  });
});
