// The README's ESM registration, in a fresh project with the packed otel-llm-cost installed.
import { register } from 'node:module';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { LLMCostInstrumentation } from 'otel-llm-cost';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, {
  data: { include: ['openai', '@anthropic-ai/sdk'] },
});

const exporter = new tracing.InMemorySpanExporter();
const instrumentation = new LLMCostInstrumentation();
const sdk = new NodeSDK({ spanProcessors: [new tracing.SimpleSpanProcessor(exporter)], metricReaders: [], instrumentations: [instrumentation] });
sdk.start();
globalThis.smoke = { exporter, instrumentation, sdk };
