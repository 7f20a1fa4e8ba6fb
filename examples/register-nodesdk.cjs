/**
 * Registering otel-llm-cost in the OpenTelemetry NodeSDK (CommonJS).
 *
 *   npm run build && node examples/register-nodesdk.cjs
 *
 * Spans go to the console. With OTEL_EXPORTER_OTLP_ENDPOINT set (e.g. http://localhost:4318)
 * they go over OTLP instead, together with the metrics: NodeSDK builds its OTLP exporters
 * from the standard OTEL_* variables when no exporter is given.
 *
 * The request goes to the embedded provider emulator, so this runs offline; in an app,
 * drop the emulator and construct the client as usual.
 */
'use strict';

const { NodeSDK, tracing } = require('@opentelemetry/sdk-node');
const { LLMCostInstrumentation } = require('otel-llm-cost');

const instrumentation = new LLMCostInstrumentation();
const otlp = Boolean(process.env.OTEL_EXPORTER_OTLP_ENDPOINT);
const sdk = new NodeSDK({
  serviceName: 'register-nodesdk-example',
  instrumentations: [instrumentation],
  // Without OTLP: spans printed as they end, no metric export (an empty reader list).
  ...(otlp ? {} : { spanProcessors: [new tracing.SimpleSpanProcessor(new tracing.ConsoleSpanExporter())] }),
  ...(otlp ? {} : { metricReaders: [] }),
});
sdk.start();

// Load the SDKs after sdk.start(): the instrumentation patches them as they are required.
const { OpenAI } = require('openai');
const { startEmulator, scriptHeaders } = require('otel-llm-cost/emulator');

async function main() {
  const emulator = await startEmulator();
  try {
    const client = new OpenAI({ apiKey: 'example-key', baseURL: emulator.openaiBaseURL });
    const stream = await client.chat.completions.create(
      {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Say hello in five words.' }],
        stream: true,
      },
      scriptHeaders({ outputTokens: 12 }), // emulator only: the answer's length
    );
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    console.log(`answer: ${JSON.stringify(text)}\n`);
  } finally {
    await emulator.stop();
  }
  // Spans end once their tokens and cost are resolved; flush() waits for that.
  await instrumentation.flush();
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
