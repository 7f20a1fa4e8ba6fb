/**
 * One budget for a whole fleet: three replica processes, each streaming as fast as it can
 * under the same named budget, stop together at its limit because they keep its total in
 * Redis (`RedisBudgetStore`).
 *
 *   npm run build && node examples/fleet-budget-redis.cjs           # starts a throwaway redis-server on 127.0.0.1
 *   REDIS_URL=redis://host:6379 node examples/fleet-budget-redis.cjs
 *
 * Needs the `redis` package (an optional peer dependency) and, without REDIS_URL,
 * `redis-server` on the PATH. The replicas talk to the embedded provider emulator (no network).
 */
'use strict';

const { fork, spawn } = require('node:child_process');
const { createServer } = require('node:net');

const BUDGET = { name: 'team-search', maxUsd: 0.01 };
const REPLICAS = 3;

if (process.argv[2] === 'replica') replica().catch(fail);
else main().catch(fail);

/** One replica: the instrumentation with the shared store, streaming until the budget says no. */
async function replica() {
  const { NodeSDK, tracing } = require('@opentelemetry/sdk-node');
  const { LLMCostInstrumentation, RedisBudgetStore, withBudget, BudgetExceededError } = require('otel-llm-cost');

  const budgetStore = new RedisBudgetStore({ url: process.env.REDIS_URL });
  let spentHere = 0;
  const sdk = new NodeSDK({
    serviceName: `replica-${process.env.REPLICA}`,
    spanProcessors: [new tracing.NoopSpanProcessor()],
    metricReaders: [],
    instrumentations: [
      new LLMCostInstrumentation({
        budgetStore,
        onCost: (record) => {
          if (record.cost.source !== 'unpriced') spentHere += record.cost.totalUsd;
        },
      }),
    ],
  });
  sdk.start();
  const { OpenAI } = require('openai');
  const { scriptHeaders } = require('otel-llm-cost/emulator');
  // Before taking traffic: the first requests are then checked against the fleet's spending.
  await budgetStore.ready();

  const client = new OpenAI({ apiKey: 'example-key', baseURL: process.env.OPENAI_BASE_URL, maxRetries: 0 });
  const longAnswer = scriptHeaders({ outputTokens: 300, chunkDelayMs: 2 });
  let requests = 0;
  let stopped = 0;
  await withBudget(BUDGET, async () => {
    for (;;) {
      try {
        requests++;
        const stream = await client.chat.completions.create(
          { model: 'gpt-4o', messages: [{ role: 'user', content: 'Summarise the search results.' }], stream: true },
          longAnswer,
        );
        for await (const _chunk of stream);
      } catch (error) {
        if (!(error instanceof BudgetExceededError)) throw error;
        if (error.reason === 'preflight') return;
        stopped++;
      }
    }
  });
  // Send what this process has not sent yet before it exits.
  await budgetStore.close();
  await sdk.shutdown();
  console.log(
    `replica ${process.env.REPLICA}: ${requests} requests (${stopped} stopped mid-stream, the last refused before sending), spent $${spentHere.toFixed(6)}`,
  );
}

async function main() {
  const { RedisBudgetStore } = require('otel-llm-cost');
  const { startEmulator } = require('otel-llm-cost/emulator');
  const redis = process.env.REDIS_URL ? undefined : await startRedisServer();
  const url = process.env.REDIS_URL ?? redis.url;
  const emulator = await startEmulator();
  try {
    // Start from zero (the example can run again against the same Redis).
    const store = new RedisBudgetStore({ url });
    await store.ready();
    store.reset({ name: BUDGET.name, window: 'total' });
    await store.flush();

    console.log(`${REPLICAS} replicas, one budget "${BUDGET.name}" of $${BUDGET.maxUsd} kept in Redis:`);
    const env = { ...process.env, REDIS_URL: url, OPENAI_BASE_URL: emulator.openaiBaseURL };
    await Promise.all(
      Array.from({ length: REPLICAS }, (_, i) => {
        const child = fork(__filename, ['replica'], { env: { ...env, REPLICA: String(i + 1) } });
        return new Promise((resolve, reject) =>
          child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`replica ${i + 1} exited with ${code}`)))),
        );
      }),
    );

    await store.flush();
    const fleetTotal = store.total({ name: BUDGET.name, window: 'total' });
    console.log(`fleet total in Redis: $${fleetTotal.toFixed(6)} of $${BUDGET.maxUsd} (each replica alone would have spent up to the whole $${BUDGET.maxUsd})`);
    await store.close();
  } finally {
    await emulator.stop();
    await redis?.stop();
  }
}

/** A redis-server on a free port, no persistence, for this run only. */
async function startRedisServer() {
  const port = await new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address();
      probe.close(() => resolve(free));
    });
  });
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  await new Promise((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`cannot start redis-server (set REDIS_URL to use yours): ${error.message}`)));
    server.once('spawn', resolve);
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        server.once('exit', resolve);
        server.kill('SIGTERM');
      }),
  };
}

function fail(error) {
  console.error(error);
  process.exit(1);
}
