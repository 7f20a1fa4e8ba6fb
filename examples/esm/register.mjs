/**
 * ESM registration: preload this file with `--import`, before the app's own modules.
 *
 *   npm run build && node --import ./examples/esm/register.mjs examples/esm/app.mjs
 *
 * ES modules are not loaded through `require`, so the instrumentation needs the
 * import-in-the-middle loader hook that @opentelemetry/instrumentation ships. The
 * `include` list limits it to the two SDKs; without it, openai 4 refuses to load under
 * the hook ("you must `import 'openai/shims/node'`...").
 */
import { register } from 'node:module';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { LLMCostInstrumentation } from 'otel-llm-cost';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, {
  data: { include: ['openai', '@anthropic-ai/sdk'] },
});

const instrumentation = new LLMCostInstrumentation();
const sdk = new NodeSDK({
  serviceName: 'esm-example',
  spanProcessors: [new tracing.SimpleSpanProcessor(new tracing.ConsoleSpanExporter())],
  metricReaders: [], // no metric export in this example
  instrumentations: [instrumentation],
});
sdk.start();

// When the app is done, wait for the last spans (tokens and cost resolve just after a
// request ends), then shut the SDK down.
process.once('beforeExit', () => {
  instrumentation
    .flush()
    .then(() => sdk.shutdown())
    .catch((error) => {
      console.error(`OpenTelemetry shutdown failed: ${error.message}`);
      process.exitCode = 1;
    });
});
