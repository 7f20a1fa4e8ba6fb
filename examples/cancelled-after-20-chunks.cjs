/**
 * The case this package exists for: a ~500-token answer, streamed, read for 20 chunks,
 * then `break`. The provider's usage arrives only at the end of a stream, so the SDK
 * never reports any; the span and the `llm_cost.spend` metric still record the tokens
 * and their cost, marked `estimated`.
 *
 *   npm run build && node examples/cancelled-after-20-chunks.cjs
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
  serviceName: 'cancelled-after-20-chunks',
  spanProcessors: [new tracing.SimpleSpanProcessor(spans)],
  metricReaders: [metricReader],
  instrumentations: [instrumentation],
});
sdk.start();

const { OpenAI } = require('openai');
const { Anthropic } = require('@anthropic-ai/sdk');
const { startEmulator, scriptHeaders } = require('otel-llm-cost/emulator');

const PROMPT = 'Explain, in about 400 words, how a lighthouse lens focuses light.';
// Emulator only: a 500-token answer, one SSE event every 2 ms.
const EMULATOR_SCRIPT = scriptHeaders({ outputTokens: 500, chunkDelayMs: 2 });
const CHUNKS_READ = 20;

async function openaiCase(client) {
  const stream = await client.chat.completions.create(
    {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: PROMPT }],
      stream: true,
      // Even when you ask for usage, it comes in the stream's last chunk.
      stream_options: { include_usage: true },
    },
    EMULATOR_SCRIPT,
  );
  let chunks = 0;
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    if (++chunks === CHUNKS_READ) break;
  }
  return usage ? JSON.stringify(usage) : 'none (chunk.usage never arrived)';
}

async function anthropicCase(client) {
  const stream = await client.messages.create(
    { model: 'claude-haiku-4-5', max_tokens: 1024, messages: [{ role: 'user', content: PROMPT }], stream: true },
    EMULATOR_SCRIPT,
  );
  let chunks = 0;
  let startUsage = null;
  let finalOutput = null;
  for await (const event of stream) {
    if (event.type === 'message_start') startUsage = event.message.usage;
    if (event.type === 'message_delta') finalOutput = event.usage.output_tokens;
    if (++chunks === CHUNKS_READ) break;
  }
  return (
    `input_tokens ${startUsage?.input_tokens} (message_start); ` +
    `output_tokens ${finalOutput ?? `none (message_start's ${startUsage?.output_tokens} is a placeholder; message_delta never arrived)`}`
  );
}

async function main() {
  const emulator = await startEmulator();
  try {
    const openai = new OpenAI({ apiKey: 'example-key', baseURL: emulator.openaiBaseURL });
    const anthropic = new Anthropic({ apiKey: 'example-key', baseURL: emulator.anthropicBaseURL });
    const cases = [
      ['openai', () => openaiCase(openai)],
      ['anthropic', () => anthropicCase(anthropic)],
    ];
    for (const [provider, run] of cases) {
      const sdkUsage = await run();
      await instrumentation.flush();
      const finished = spans.getFinishedSpans();
      spans.reset();
      const span = finished.find((s) => scopeName(s) === 'otel-llm-cost');
      // @anthropic-ai/sdk >= 0.134 also writes its own span when a tracer provider is registered.
      const native = finished.find((s) => scopeName(s) !== 'otel-llm-cost');
      const spend = await spendPoints();
      printCase(provider, sdkUsage, span, native, spend);
    }
  } finally {
    await emulator.stop();
  }
}

/** The llm_cost.spend points of the last request (the metric is cumulative: subtract the last read). */
let previousSpend = new Map();
async function spendPoints() {
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

function printCase(provider, sdkUsage, span, native, spend) {
  const a = span ? span.attributes : {};
  console.log(`${provider}: ${CHUNKS_READ} chunks of a ~500-token stream, then break`);
  console.log(`  usage the SDK gave the app : ${sdkUsage}`);
  if (native) {
    const n = native.attributes;
    console.log(
      `  the SDK's own span "${native.name}": input_tokens ${n['gen_ai.usage.input_tokens']}, ` +
        `output_tokens ${n['gen_ai.usage.output_tokens'] ?? 'none'}, no cost`,
    );
  }
  console.log(`  otel-llm-cost's span "${span?.name}":`);
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
  console.log('  metric llm_cost.spend (USD) added by this request:');
  for (const point of spend) {
    const type = point.attributes['gen_ai.token.type'];
    const source = point.attributes['llm_cost.source'];
    console.log(`    gen_ai.token.type=${type.padEnd(6)} llm_cost.source=${source.padEnd(9)} +${point.value.toFixed(8)}`);
  }
  console.log('');
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
