/**
 * The Responses API case: a background stream (`responses.create({ stream: true,
 * background: true })`) cancelled with `client.responses.cancel(id)` after 20 chunks.
 * The cancel call, the stream and a later `responses.retrieve(id)` all say `usage: null`,
 * although the provider bills every token it generated. The span and the `llm_cost.spend`
 * metric still record the tokens and their cost, marked `estimated`.
 *
 * Then a second background stream whose connection drops, resumed with
 * `responses.retrieve(id, { stream: true })`: the resumed stream reports the full usage,
 * and the spend metric counts it once in total, not twice.
 *
 *   npm run build && node examples/responses-background-cancel.cjs
 *
 * Runs offline against the embedded provider emulator. Spans and metrics are read back
 * in-process (an in-memory span exporter and a metric reader's collect()).
 */
'use strict';

const { NodeSDK, metrics, tracing } = require('@opentelemetry/sdk-node');
const { LLMCostInstrumentation } = require('otel-llm-cost');

class OnDemandMetricReader extends metrics.MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

const spans = new tracing.InMemorySpanExporter();
const metricReader = new OnDemandMetricReader();
const instrumentation = new LLMCostInstrumentation();
const sdk = new NodeSDK({
  serviceName: 'responses-background-cancel',
  spanProcessors: [new tracing.SimpleSpanProcessor(spans)],
  metricReaders: [metricReader],
  instrumentations: [instrumentation],
});
sdk.start();

const { OpenAI } = require('openai');
const { startEmulator, scriptHeaders } = require('otel-llm-cost/emulator');

const MODEL = 'gpt-4o-mini';
const INPUT = 'Explain, in about 400 words, how a lighthouse lens focuses light.';
const CHUNKS_READ = 20;

async function cancelCase(client) {
  // Emulator only: a 500-token answer, one SSE event every 3 ms.
  const stream = await client.responses.create(
    { model: MODEL, input: INPUT, stream: true, background: true },
    scriptHeaders({ outputTokens: 500, chunkDelayMs: 3 }),
  );
  let id;
  let chunks = 0;
  let cancelled;
  let streamUsage = null;
  for await (const event of stream) {
    if (event.type === 'response.created') id = event.response.id;
    if (event.response?.usage) streamUsage = event.response.usage;
    if (++chunks === CHUNKS_READ) cancelled = await client.responses.cancel(id);
  }
  const retrieved = await client.responses.retrieve(id);
  return [
    `stream: ${streamUsage ? JSON.stringify(streamUsage) : 'none (no response.completed arrived)'}`,
    `cancel(id): status ${cancelled.status}, usage ${JSON.stringify(cancelled.usage)}`,
    `retrieve(id): status ${retrieved.status}, usage ${JSON.stringify(retrieved.usage)}`,
  ];
}

async function resumeCase(client) {
  // Emulator only: the first connection drops after 8 text deltas; the response goes on.
  const first = await client.responses.create(
    { model: MODEL, input: INPUT, stream: true, background: true },
    scriptHeaders({ outputTokens: 120, chunkDelayMs: 1, dropAfterChunks: 8 }),
  );
  let id;
  let lastSequence = -1;
  try {
    for await (const event of first) {
      if (event.type === 'response.created') id = event.response.id;
      lastSequence = event.sequence_number;
    }
  } catch {
    // The connection dropped: resume below.
  }
  const resumed = await client.responses.retrieve(id, { stream: true, starting_after: lastSequence });
  let usage = null;
  for await (const event of resumed) if (event.type === 'response.completed') usage = event.response.usage;
  return [`resumed stream: ${JSON.stringify({ input_tokens: usage.input_tokens, output_tokens: usage.output_tokens })}`];
}

async function main() {
  const emulator = await startEmulator();
  try {
    const client = new OpenAI({ apiKey: 'example-key', baseURL: emulator.openaiBaseURL });

    const sdkSays = await cancelCase(client);
    await instrumentation.flush();
    const cancelSpans = ours();
    console.log(`1. background stream, cancelled with responses.cancel(id) after ${CHUNKS_READ} chunks`);
    console.log('  usage the SDK gave the app:');
    for (const line of sdkSays) console.log(`    ${line}`);
    printSpans(cancelSpans);
    printSpend(await spendDelta(), cancelSpans);

    const resumedSays = await resumeCase(client);
    await instrumentation.flush();
    const resumeSpans = ours();
    console.log('2. background stream dropped after 8 deltas, resumed with retrieve(id, { stream: true })');
    console.log(`  usage the SDK gave the app: ${resumedSays.join('; ')}`);
    printSpans(resumeSpans);
    const delta = await spendDelta();
    printSpend(delta, resumeSpans);
    const reported = resumeSpans.find((span) => span.attributes['llm_cost.cost.source'] === 'reported');
    const charged = delta.reduce((sum, point) => sum + point.value, 0);
    console.log(
      `  charged once: the spend metric grew by $${charged.toFixed(8)}, the resumed response's reported cost ` +
        `$${reported.attributes['llm_cost.cost.usd'].toFixed(8)} (the interrupted read's estimate is not counted again)`,
    );
  } finally {
    await emulator.stop();
  }
}

function ours() {
  const finished = spans.getFinishedSpans().filter((s) => scopeName(s) === 'otel-llm-cost');
  spans.reset();
  return finished;
}

function printSpans(list) {
  for (const span of list) {
    const a = span.attributes;
    console.log(`  otel-llm-cost's span "${span.name}" (${a['gen_ai.response.id']}):`);
    for (const name of [
      'llm_cost.stream.outcome',
      'llm_cost.stream.chunks',
      'gen_ai.usage.input_tokens',
      'llm_cost.usage.input_tokens.source',
      'gen_ai.usage.output_tokens',
      'llm_cost.usage.output_tokens.source',
      'llm_cost.cost.usd',
      'llm_cost.cost.source',
    ]) {
      console.log(`    ${name.padEnd(36)} ${a[name]}`);
    }
  }
}

function printSpend(delta, list) {
  const spanTotal = list.reduce((sum, span) => sum + (span.attributes['llm_cost.cost.usd'] ?? 0), 0);
  const metricTotal = delta.reduce((sum, point) => sum + point.value, 0);
  console.log('  metric llm_cost.spend (USD) added:');
  for (const point of delta) {
    const type = point.attributes['gen_ai.token.type'];
    const source = point.attributes['llm_cost.source'];
    const outcome = point.attributes['llm_cost.stream.outcome'];
    console.log(`    gen_ai.token.type=${type.padEnd(6)} llm_cost.source=${source.padEnd(9)} outcome=${outcome.padEnd(9)} +${point.value.toFixed(8)}`);
  }
  console.log(`  spend metric total +$${metricTotal.toFixed(8)}; sum of the span costs $${spanTotal.toFixed(8)}`);
  console.log('');
}

/** The llm_cost.spend points added since the last read (the metric is cumulative). */
let previousSpend = new Map();
async function spendDelta() {
  const { resourceMetrics } = await metricReader.collect();
  const current = new Map();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== 'llm_cost.spend') continue;
      for (const point of metric.dataPoints) current.set(JSON.stringify(point.attributes), point);
    }
  }
  const delta = [];
  for (const [key, point] of current) {
    const value = point.value - (previousSpend.get(key)?.value ?? 0);
    if (value > 0) delta.push({ attributes: point.attributes, value });
  }
  previousSpend = current;
  return delta;
}

function scopeName(span) {
  return (span.instrumentationScope ?? span.instrumentationLibrary)?.name;
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
