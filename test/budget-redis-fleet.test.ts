/**
 * The fleet: four Node processes, each streaming through the real OpenAI and Anthropic
 * SDKs against one emulator, under one shared $1 budget kept in a real Redis. The fleet
 * stops at $1 within the chunks in flight, Redis's total equals the sum of the spans'
 * costs, and Redis stopped mid-run behaves as configured: `open` keeps serving and
 * reconciles when Redis returns, `closed` refuses new requests until it does.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { describe } from 'node:test';
import { createClient } from 'redis';
import { priceUsage } from '../src/core/price.js';
import { startEmulator, type ProviderEmulator } from '../src/emulator/index.js';
import type { RedisFailMode } from '../src/index.js';
import { FLEET_MODELS, type WorkerMessage, type WorkerResult } from './fixtures/fleet-protocol.js';
import { RedisServer, redisUnavailableReason } from './helpers/redis-server.js';
import { requiring } from './helpers/requirement.js';

/** Without redis-server, each test is reported as skipped. */
const { it, before, after } = requiring(redisUnavailableReason());
const WORKERS = 4;
const STREAMS_PER_WORKER = 2;
const LIMIT_USD = 1;
/**
 * Output tokens (about 25 of the emulator's chunks) a stream may still receive after the
 * fleet crossed the limit, before its process sees the crossing: near the limit the store
 * syncs back to back, about one Redis round trip; the allowance covers a loaded machine.
 */
const IN_FLIGHT_TOKENS_ALLOWED = 50;

let server: RedisServer;
let emulator: ProviderEmulator;
let admin: ReturnType<typeof createClient>;

/** The dearest output token and the dearest input of the fleet's models, in USD. */
function dearest(): { outputTokenUsd: number; inputUsd: number } {
  const price = (provider: string, model: string, input: number, output: number) => {
    const cost = priceUsage(provider, [model], {
      input: { value: input, source: 'estimated' },
      output: { value: output, source: 'estimated' },
    });
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
  const children: ChildProcess[] = [];
  const results = await Promise.all(
    Array.from({ length: WORKERS }, (_, worker) => {
      const child = fork(resolve(__dirname, 'fixtures/fleet-worker.ts'), [], {
        execArgv: ['--import', 'tsx'],
        env: {
          ...process.env,
          REDIS_URL: server.url,
          OPENAI_BASE_URL: emulator.openaiBaseURL,
          ANTHROPIC_BASE_URL: emulator.anthropicBaseURL,
          BUDGET_NAME: name,
          LIMIT_USD: String(LIMIT_USD),
          FAIL_MODE: failMode,
          WORKER: String(worker),
        },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.push(child);
      return new Promise<WorkerResult>((resolveWorker, reject) => {
        let result: WorkerResult | undefined;
        const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
        child.on('message', (message: WorkerMessage) => {
          if (message.type === 'done') result = message.result;
          else {
            if (message.type === 'cost') fleet.costUsd += message.usd;
            duringRun?.({ ...message, worker }, fleet);
          }
        });
        child.on('exit', (code, signal) => {
          clearTimeout(timer);
          if (result) resolveWorker(result);
          else reject(new Error(`fleet worker ${worker} ended without a result (code ${code}, signal ${signal})`));
        });
      });
    }),
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
  const allowance = streams * (inputUsd + IN_FLIGHT_TOKENS_ALLOWED * outputTokenUsd) + extraAllowanceUsd;
  assert.ok(
    run.storeUsd <= LIMIT_USD + allowance,
    `fleet total $${run.storeUsd} within $${LIMIT_USD} + in-flight allowance $${allowance.toFixed(6)}`,
  );
  assert.ok(run.storeUsd >= LIMIT_USD - streams * inputUsd - 0.05, `the fleet used its budget: $${run.storeUsd}`);
}

function mergeCounts(counts: Record<string, number>[]): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const count of counts) for (const [key, n] of Object.entries(count)) merged[key] = (merged[key] ?? 0) + n;
  return merged;
}

describe('four processes streaming under one shared $1 budget in Redis', { timeout: 240_000 }, () => {
  before(async () => {
    server = await RedisServer.start();
    emulator = await startEmulator();
    admin = createClient({ url: server.url, socket: { reconnectStrategy: 50 } });
    admin.on('error', () => undefined);
    await admin.connect();
  });
  after(async () => {
    admin?.destroy();
    await emulator?.stop();
    await server?.dispose();
  });

  it('stop at $1 within the chunks in flight; Redis total == sum of the spans', async () => {
    const run = await runFleet(`fleet-${process.pid}-healthy`, 'open');
    report('healthy', run);
    assertFleetInvariants(run);
  });

  it("Redis stopped mid-run, failMode 'open': requests go on, and Redis is reconciled when it returns", async () => {
    let phase: 'before' | 'down' | 'back' = 'before';
    const servedWhileDown = new Set<number>();
    let restarting: Promise<void> | undefined;
    const run = await runFleet(`fleet-${process.pid}-open`, 'open', (event, fleet) => {
      if (phase === 'before' && event.type === 'cost' && fleet.costUsd >= 0.3) {
        phase = 'down';
        restarting = server.stop({ save: true });
      } else if (phase === 'down' && event.type === 'cost') {
        servedWhileDown.add(event.worker);
        // Every replica finished a request with Redis away: bring it back.
        if (servedWhileDown.size === WORKERS) {
          phase = 'back';
          restarting = restarting!.then(() => server.restart());
        }
      }
    });
    await restarting;
    report('open, Redis stopped at $0.30 and restarted', run);
    assert.equal(phase, 'back', 'Redis was stopped and restarted mid-run');
    assert.ok(run.results.every((r) => r.unavailableRefusals === 0), 'nothing refused for the outage');
    // Away, each replica spent on its own view; the stop comes once Redis is back and
    // the fleet total is known again (the outage was short, so still within the allowance).
    assertFleetInvariants(run);
  });

  it("Redis stopped mid-run, failMode 'closed': new requests refused with BudgetStoreUnavailableError, resumed when it returns", async () => {
    let phase: 'before' | 'down' | 'back' = 'before';
    const refusedWhileDown = new Set<number>();
    let restarting: Promise<void> | undefined;
    const run = await runFleet(`fleet-${process.pid}-closed`, 'closed', (event, fleet) => {
      if (phase === 'before' && event.type === 'cost' && fleet.costUsd >= 0.3) {
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
    report('closed, Redis stopped at $0.30 and restarted', run);
    assert.equal(phase, 'back', 'Redis was stopped and restarted mid-run');
    assert.ok(run.results.every((r) => r.unavailableRefusals > 0), 'every replica refused requests while Redis was away');
    assertFleetInvariants(run);
  });
});
