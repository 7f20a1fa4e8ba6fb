// A CommonJS app in a fresh project with the packed otel-llm-cost installed (scripts/pack-smoke.mjs).
const { NodeSDK, tracing } = require('@opentelemetry/sdk-node');
const { LLMCostInstrumentation } = require('otel-llm-cost');
const { startEmulator, scriptHeaders } = require('otel-llm-cost/emulator');

const exporter = new tracing.InMemorySpanExporter();
const instrumentation = new LLMCostInstrumentation();
const sdk = new NodeSDK({ spanProcessors: [new tracing.SimpleSpanProcessor(exporter)], metricReaders: [], instrumentations: [instrumentation] });
sdk.start();
const { OpenAI } = require('openai');
const { Anthropic } = require('@anthropic-ai/sdk');

(async () => {
  const emulator = await startEmulator();
  try {
    const openai = new OpenAI({ apiKey: 'k', baseURL: emulator.openaiBaseURL });
    const stream = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true },
      scriptHeaders({ outputTokens: 30 }),
    );
    let chunks = 0;
    for await (const _chunk of stream) if (++chunks === 3) break;
    const anthropic = new Anthropic({ apiKey: 'k', baseURL: emulator.anthropicBaseURL });
    await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] });
    await instrumentation.flush();
    const spans = exporter.getFinishedSpans().filter((s) => (s.instrumentationScope ?? s.instrumentationLibrary).name === 'otel-llm-cost');
    const outcomes = spans.map(
      (s) => `${s.attributes['gen_ai.provider.name']}:${s.attributes['llm_cost.stream.outcome']}:${s.attributes['llm_cost.cost.source']}`,
    );
    console.log(outcomes.join(' '));
    if (outcomes.sort().join(' ') !== 'anthropic:completed:reported openai:broken:estimated') process.exitCode = 1;
  } finally {
    await emulator.stop();
    await sdk.shutdown();
  }
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
