/**
 * An app for the dashboard: metrics on a Prometheus scrape endpoint (the in-process
 * @opentelemetry/exporter-prometheus), traces over OTLP (to the Collector of deploy/,
 * which passes them on to Jaeger). It runs a mixed workload against the embedded provider
 * emulator: streams that complete, that the reader breaks off, that are cancelled with
 * an AbortSignal, that fail midway, non-streaming calls, a web search billed per call, a
 * model no price covers (unpriced traffic) and, when the package has budgets, a stream a
 * budget stops.
 *
 *   npm run build
 *   docker compose -f deploy/docker-compose.yaml up -d
 *   node examples/prometheus-app.cjs          # a round every 5 s until Ctrl-C
 *
 * Environment (all optional):
 *   OTEL_EXPORTER_PROMETHEUS_HOST / _PORT   scrape endpoint (default 0.0.0.0:9464)
 *   OTEL_EXPORTER_OTLP_ENDPOINT             where traces go (default http://localhost:4318)
 *   OTEL_SERVICE_NAME                       default "llm-cost-example"
 *   PROMETHEUS_APP_ROUNDS                   stop after this many rounds (default: never)
 *   PROMETHEUS_APP_PAUSE_MS                 pause between rounds (default 5000), or `stdin`:
 *                                           wait for a line on stdin (tests pace the rounds
 *                                           with their scrapes)
 *   PROMETHEUS_APP_LINGER_MS                after the last round, keep serving metrics this
 *                                           long, then exit (default: until SIGTERM/SIGINT)
 *   PROMETHEUS_APP_RECORDS                  write every onCost record to this file (JSON lines)
 *
 * A bounded run that exits on its own: PROMETHEUS_APP_ROUNDS=1 PROMETHEUS_APP_LINGER_MS=0
 */
'use strict';

const { appendFileSync, writeFileSync } = require('node:fs');
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { PrometheusExporter } = require('@opentelemetry/exporter-prometheus');
const llmCost = require('otel-llm-cost');
const { startEmulator, scriptHeaders } = require('otel-llm-cost/emulator');

const env = process.env;
const ROUNDS = env.PROMETHEUS_APP_ROUNDS ? Number(env.PROMETHEUS_APP_ROUNDS) : Number.POSITIVE_INFINITY;
const PAUSE = env.PROMETHEUS_APP_PAUSE_MS ?? '5000';
const LINGER_MS = env.PROMETHEUS_APP_LINGER_MS === undefined ? undefined : Number(env.PROMETHEUS_APP_LINGER_MS);
const RECORDS_FILE = env.PROMETHEUS_APP_RECORDS;

if (RECORDS_FILE) writeFileSync(RECORDS_FILE, '');
const instrumentation = new llmCost.LLMCostInstrumentation({
  onCost: (record) => {
    if (RECORDS_FILE) appendFileSync(RECORDS_FILE, `${JSON.stringify(record)}\n`);
  },
});

const prometheus = new PrometheusExporter({
  host: env.OTEL_EXPORTER_PROMETHEUS_HOST || '0.0.0.0',
  port: Number(env.OTEL_EXPORTER_PROMETHEUS_PORT || 9464),
});
// Traces: NodeSDK builds its OTLP exporter from the standard OTEL_* variables.
const sdk = new NodeSDK({
  serviceName: env.OTEL_SERVICE_NAME || 'llm-cost-example',
  metricReaders: [prometheus],
  instrumentations: [instrumentation],
});
sdk.start();

// The SDKs after sdk.start(), so the instrumentation sees them load.
const { OpenAI } = require('openai');
const { Anthropic } = require('@anthropic-ai/sdk');

const PROMPT = 'Write a short story (about 150 words) about a lighthouse keeper who finds a message in a bottle.';

const openaiBody = (stream) => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: PROMPT }],
  max_tokens: 400,
  ...(stream ? { stream: true } : {}),
});
const anthropicBody = (stream) => ({
  model: 'claude-haiku-4-5',
  messages: [{ role: 'user', content: PROMPT }],
  max_tokens: 400,
  ...(stream ? { stream: true } : {}),
});

async function drain(request) {
  for await (const _chunk of await request) {
    // read every chunk
  }
}
async function readThenBreak(request, chunks) {
  let seen = 0;
  for await (const _chunk of await request) if (++seen >= chunks) break;
}
async function readThenAbort(start, chunks) {
  const controller = new AbortController();
  let seen = 0;
  for await (const _chunk of await start(controller.signal)) if (++seen === chunks) controller.abort();
}

/** One round: every way a request can end, for both providers. `expectFailure` marks scripted failures. */
function scenarios(openai, anthropic) {
  const list = [];
  const add = (name, script, run, expectFailure = false) => list.push({ name, script, run, expectFailure });
  add('openai completed', { outputTokens: 150 }, (o) => drain(openai.chat.completions.create(openaiBody(true), o)));
  add('openai broken', { outputTokens: 300 }, (o) => readThenBreak(openai.chat.completions.create(openaiBody(true), o), 5));
  add('openai cancelled', { outputTokens: 300, chunkDelayMs: 1 }, (o) =>
    readThenAbort((signal) => openai.chat.completions.create(openaiBody(true), { ...o, signal }), 8),
  );
  add('openai dropped', { outputTokens: 300, dropAfterChunks: 10 }, (o) => drain(openai.chat.completions.create(openaiBody(true), o)), true);
  add('openai non-streaming', { outputTokens: 60 }, (o) => openai.chat.completions.create(openaiBody(false), o));
  add('anthropic completed', { outputTokens: 150, firstChunkDelayMs: 20 }, (o) => drain(anthropic.messages.create(anthropicBody(true), o)));
  add('anthropic broken', { outputTokens: 300 }, (o) => readThenBreak(anthropic.messages.create(anthropicBody(true), o), 5));
  add('anthropic cancelled', { outputTokens: 300, chunkDelayMs: 1 }, (o) =>
    readThenAbort((signal) => anthropic.messages.create(anthropicBody(true), { ...o, signal }), 8),
  );
  add('anthropic web search', { outputTokens: 80, serverToolCalls: { web_search: 2 } }, (o) => drain(anthropic.messages.create(anthropicBody(true), o)));
  add('openai unpriced model', { outputTokens: 50 }, (o) => drain(openai.chat.completions.create({ ...openaiBody(true), model: 'acme-private-model' }, o)));
  add(
    'anthropic error event',
    { outputTokens: 300, errorAfterChunks: 10, errorType: 'overloaded_error', errorMessage: 'Overloaded' },
    (o) => drain(anthropic.messages.create(anthropicBody(true), o)),
    true,
  );
  // A named budget that pays for about 100 output tokens: in the first round it stops a
  // 2,000-token stream midway; in later rounds it is spent, and refuses before sending.
  add(
    'openai budget-stopped',
    { outputTokens: 2000 },
    (o) => llmCost.withBudget({ name: 'example-budget', maxUsd: 0.00006 }, () => drain(openai.chat.completions.create(openaiBody(true), o))),
    true,
  );
  return list;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let stdinLines;
function nextStdinLine() {
  stdinLines ??= require('node:readline').createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  return stdinLines.next();
}
const pause = () => (PAUSE === 'stdin' ? nextStdinLine() : sleep(Number(PAUSE)));

async function main() {
  const emulator = await startEmulator();
  const openai = new OpenAI({ apiKey: 'example-key', baseURL: emulator.openaiBaseURL, maxRetries: 0 });
  const anthropic = new Anthropic({ apiKey: 'example-key', baseURL: emulator.anthropicBaseURL, maxRetries: 0 });
  console.log(`metrics on port ${env.OTEL_EXPORTER_PROMETHEUS_PORT || 9464}, path /metrics`);
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const scenario of scenarios(openai, anthropic)) {
        try {
          await scenario.run(scriptHeaders(scenario.script));
        } catch (error) {
          if (!scenario.expectFailure) throw error;
        }
      }
      await instrumentation.flush(); // every finished request is on the metrics and in onCost
      console.log(`round ${round} done`);
      if (round < ROUNDS) await pause();
    }
  } finally {
    await emulator.stop();
  }
  const stopped =
    LINGER_MS !== undefined
      ? sleep(LINGER_MS)
      : new Promise((resolve) => {
          // The scrape endpoint does not keep the process alive on its own.
          const keepAlive = setInterval(() => {}, 60_000);
          const stop = () => {
            clearInterval(keepAlive);
            resolve();
          };
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
        });
  console.log('workload done');
  await stopped;
  if (stdinLines) process.stdin.destroy(); // an open stdin would keep the process alive
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() =>
    sdk.shutdown().catch((error) => {
      console.error(`OpenTelemetry shutdown failed: ${error.message}`);
      process.exitCode = 1;
    }),
  );
