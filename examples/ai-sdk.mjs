/**
 * The Vercel AI SDK through `costFetch()`: the AI SDK calls the providers' HTTP APIs with
 * `fetch`, so it never touches the `openai` or `@anthropic-ai/sdk` classes this package hooks.
 * Handing it `costFetch()` records the same span, metrics, `onCost` and budgets for each of its
 * requests: here one `streamText` read to the end (usage reported by the provider) and one cut
 * short with `abortSignal` after a few words (usage estimated, which the AI SDK itself leaves
 * empty).
 *
 *   node examples/ai-sdk.mjs
 *
 * Runs offline against the package's own emulator; point `baseURL` at the providers (and drop
 * `baseURLs`, which lists the emulator) to run it for real.
 */
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { streamText } from 'ai';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { LLMCostInstrumentation, costFetch } from 'otel-llm-cost';
import { scriptHeaders, startEmulator } from 'otel-llm-cost/emulator';

const records = [];
const instrumentation = new LLMCostInstrumentation({ onCost: (record) => records.push(record) });
// Spans and metrics go wherever an app sends them; to stay offline this one drops them and
// prints what `onCost` receives (the same figures as on the span and the metrics).
const sdk = new NodeSDK({
  serviceName: 'ai-sdk-example',
  spanProcessors: [new tracing.NoopSpanProcessor()],
  metricReaders: [],
  instrumentations: [instrumentation],
});
sdk.start();

const emulator = await startEmulator();
// The emulator is not a provider host this package knows: list it. Real hosts need nothing.
const fetch = costFetch(undefined, { baseURLs: [emulator.openaiBaseURL, emulator.anthropicBaseURL] });
const openai = createOpenAI({ apiKey: 'sk-example', baseURL: emulator.openaiBaseURL, fetch });
const anthropic = createAnthropic({ apiKey: 'sk-example', baseURL: `${emulator.anthropicBaseURL}/v1`, fetch });

// 1. Read to the end.
const full = streamText({ model: openai('gpt-4o-mini'), prompt: 'Tell me a story.', headers: scriptHeaders({ outputTokens: 120 }).headers });
let text = '';
for await (const delta of full.textStream) text += delta;
console.log(`1. read to the end: ${text.split(' ').length} words; the AI SDK's usage: ${(await full.usage).outputTokens} output tokens`);

// 2. Cut short by the app after a few words.
const controller = new AbortController();
const cut = streamText({
  model: anthropic('claude-sonnet-4-5'),
  prompt: 'Tell me a long story.',
  abortSignal: controller.signal,
  headers: scriptHeaders({ outputTokens: 2000, chunkDelayMs: 2 }).headers,
  onError: () => {},
});
let deltas = 0;
try {
  for await (const part of cut.fullStream) if (part.type === 'text-delta' && ++deltas === 10) controller.abort();
} catch {
  // an aborted stream may end with the abort
}
console.log(`2. aborted after ${deltas} text deltas`);

await instrumentation.flush();
console.log('');
console.log('request                                 outcome     input           output          cost');
for (const record of records) {
  const { usage, cost } = record;
  const model = record.responseModel ?? record.requestModel;
  const tokens = (value) => `${String(value.value).padStart(5)} ${value.source.padEnd(10)}`;
  console.log(
    `${`${record.provider} ${model}`.padEnd(40)}${record.outcome.padEnd(12)}${tokens(usage.input)}${tokens(usage.output)}$${cost.totalUsd.toFixed(7)} ${cost.source}`,
  );
}

await emulator.stop();
await sdk.shutdown();
