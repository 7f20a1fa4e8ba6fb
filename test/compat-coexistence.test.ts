/**
 * Living with other hooks on the same SDK methods: a second copy of otel-llm-cost (two
 * versions in node_modules, or a bundled copy beside an installed one) and
 * `@opentelemetry/instrumentation-openai`, all registered in one NodeSDK through the real
 * module hooks. Each request still gets exactly one otel-llm-cost span, the user sees the
 * chunks they would see without any instrumentation, and unpatching one copy leaves the
 * other working.
 *
 * The second copy is the built package (dist/cjs) copied to node_modules/.cache at run
 * time: a distinct module graph with its own classes, as npm would install it.
 */
import assert from 'node:assert/strict';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, beforeEach, it } from 'node:test';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import type OpenAIModule from 'openai';
import { useEmulator } from './helpers/harness.js';
import { LLMCostInstrumentation } from '../src/index.js';
import { script } from './helpers/spans.js';

const secondCopyDir = join(__dirname, '..', 'node_modules', '.cache', `otel-llm-cost-second-copy-${process.pid}`);
cpSync(join(__dirname, '..', 'dist', 'cjs'), secondCopyDir, { recursive: true });
// eslint-disable-next-line @typescript-eslint/no-require-imports
const secondCopy = require(join(secondCopyDir, 'index.js')) as { LLMCostInstrumentation: typeof LLMCostInstrumentation };
assert.notEqual(secondCopy.LLMCostInstrumentation, LLMCostInstrumentation, 'a distinct copy');

const exporter = new tracing.InMemorySpanExporter();
const first = new LLMCostInstrumentation();
const second = new secondCopy.LLMCostInstrumentation();
const sdk = new NodeSDK({
  spanProcessors: [new tracing.SimpleSpanProcessor(exporter)],
  metricReaders: [],
  instrumentations: [first, new OpenAIInstrumentation(), second],
});
sdk.start();
const { OpenAI } = require('openai') as typeof OpenAIModule;

const scopeOf = (span: tracing.ReadableSpan) => (span as tracing.ReadableSpan & { instrumentationScope: { name: string } }).instrumentationScope.name;
const harness = useEmulator();
let client: InstanceType<typeof OpenAI>;

harness.setup(async () => {
  client = new OpenAI({ apiKey: 'k', baseURL: harness.emulator.openaiBaseURL, maxRetries: 0 });
});
after(async () => {
  await sdk.shutdown();
  rmSync(secondCopyDir, { recursive: true, force: true });
});
beforeEach(() => exporter.reset());

async function streamedChunks(): Promise<unknown[]> {
  const stream = await client.chat.completions.create(
    { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true },
    script({ text: 'One two three four five six seven.' }),
  );
  const chunks: unknown[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

/**
 * The otel-llm-cost spans of the request just made: waits until one has ended (a span ends once
 * its cost is written, which a loaded machine can delay; two minutes only catch a hang), then
 * gives any second span the same chance to appear.
 */
async function ourSpans(): Promise<tracing.ReadableSpan[]> {
  const ours = () => exporter.getFinishedSpans().filter((s) => scopeOf(s) === 'otel-llm-cost');
  const hung = Date.now() + 120_000;
  for (;;) {
    await first.flush();
    await second.flush();
    if (ours().length > 0 || Date.now() > hung) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  await first.flush();
  await second.flush();
  return ours();
}

it('two copies of otel-llm-cost and instrumentation-openai: one otel-llm-cost span, chunks unchanged', async () => {
  const chunks = await streamedChunks();
  const ours = await ourSpans();
  assert.equal(ours.length, 1, 'one span per request, not one per copy');
  const span = ours[0]!;
  assert.equal(span.attributes['llm_cost.stream.outcome'], 'completed');
  assert.equal(span.attributes['llm_cost.usage.output_tokens.source'], 'reported');
  assert.equal(span.attributes['llm_cost.stream.chunks'], chunks.length);
  assert.ok(
    chunks.every((c) => (c as { choices: unknown[] }).choices.length > 0 && !('usage' in (c as object))),
    'no usage chunk the user did not ask for',
  );
  const theirs = exporter.getFinishedSpans().filter((s) => scopeOf(s) === '@opentelemetry/instrumentation-openai');
  assert.equal(theirs.length, 1, 'instrumentation-openai keeps writing its own span');
});

it('non-streamed request: one otel-llm-cost span', async () => {
  const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  assert.ok(completion.choices.length > 0);
  assert.equal((await ourSpans()).length, 1);
});

it('disabling one copy leaves the other recording, still once', async () => {
  second.disable();
  try {
    await streamedChunks();
    assert.equal((await ourSpans()).length, 1, 'the first copy still records');
  } finally {
    second.enable();
  }
  first.disable();
  try {
    exporter.reset();
    await streamedChunks();
    assert.equal((await ourSpans()).length, 1, 'the second copy still records');
  } finally {
    first.enable();
  }
});
