/**
 * A short-lived process that cuts a stream and shuts down at once (a CLI, a serverless
 * handler, a worker on SIGTERM) still exports that stream's span and spend: the providers'
 * `shutdown()` and `forceFlush()` wait for requests being costed, and so does `beforeExit`.
 * Each case runs in a fresh child process (the cold path: no tokenizer loaded yet), with
 * the real NodeSDK, a batching span processor and a metric reader that exports only when
 * flushed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { useEmulator } from './helpers/harness.js';

const harness = useEmulator();

type Ending = 'sdk.shutdown' | 'provider.forceFlush' | 'beforeExit';
type Cut = 'openai-break' | 'anthropic-abort';

interface ChildReport {
  spans: { name: string; attributes: Record<string, unknown> }[];
  spendUsd: number;
  endingMs: number;
}

/** The child: registers as a user would, cuts one stream, then ends as `ending` says. */
function childSource(cut: Cut, ending: Ending): string {
  return `
const { NodeSDK, tracing, metrics } = require('@opentelemetry/sdk-node');
const { trace, metrics: metricsApi } = require('@opentelemetry/api');
const { LLMCostInstrumentation } = require('./src/index.ts');
const report = { spans: [], spendUsd: 0, endingMs: -1 };
const spanExporter = {
  export(spans, done) {
    for (const s of spans) report.spans.push({ name: s.name, attributes: s.attributes });
    done({ code: 0 });
  },
  shutdown: () => Promise.resolve(),
  forceFlush: () => Promise.resolve(),
};
const metricExporter = {
  export(resourceMetrics, done) {
    let spend = 0;
    for (const scope of resourceMetrics.scopeMetrics)
      for (const metric of scope.metrics)
        if (metric.descriptor.name === 'llm_cost.spend') for (const p of metric.dataPoints) spend += p.value;
    report.spendUsd = Math.max(report.spendUsd, spend);
    done({ code: 0 });
  },
  shutdown: () => Promise.resolve(),
  forceFlush: () => Promise.resolve(),
  selectAggregationTemporality: () => metrics.AggregationTemporality.CUMULATIVE,
};
const sdk = new NodeSDK({
  spanProcessors: [new tracing.BatchSpanProcessor(spanExporter, { scheduledDelayMillis: 60000 })],
  metricReaders: [new metrics.PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 600000 })],
  instrumentations: [new LLMCostInstrumentation()],
});
sdk.start();
process.on('exit', () => process.stdout.write('REPORT ' + JSON.stringify(report) + '\\n'));
const script = { headers: { 'x-emulator-script': JSON.stringify({ outputTokens: 300, chunkDelayMs: 1 }) } };
(async () => {
  ${
    cut === 'openai-break'
      ? `const { OpenAI } = require('openai');
  const client = new OpenAI({ apiKey: 'k', baseURL: ${JSON.stringify(harness.emulator.openaiBaseURL)}, maxRetries: 0 });
  const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true }, script);
  let n = 0;
  for await (const _ of stream) if (++n === 20) break;`
      : `const { Anthropic } = require('@anthropic-ai/sdk');
  const client = new Anthropic({ apiKey: 'k', baseURL: ${JSON.stringify(harness.emulator.anthropicBaseURL)}, maxRetries: 0 });
  const stream = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }], stream: true }, script);
  let n = 0;
  for await (const _ of stream) if (++n === 20) stream.controller.abort();`
  }
  const started = Date.now();
  ${
    ending === 'sdk.shutdown'
      ? 'await sdk.shutdown();'
      : ending === 'provider.forceFlush'
        ? 'await Promise.all([trace.getTracerProvider().getDelegate().forceFlush(), metricsApi.getMeterProvider().forceFlush()]);'
        : '// nothing: the process runs out of work'
  }
  report.endingMs = Date.now() - started;
})();
`;
}

function runChild(cut: Cut, ending: Ending): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', childSource(cut, ending)], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, OTEL_SDK_DISABLED: 'false', OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data));
    child.stderr.on('data', (data: Buffer) => (stderr += data));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith('REPORT '));
      if (code !== 0 || !line) reject(new Error(`child exited with ${code}: ${stderr}\n${stdout}`));
      else resolve(JSON.parse(line.slice('REPORT '.length)) as ChildReport);
    });
  });
}

describe('a cut stream is exported before the process ends, with no extra call', () => {
  const cases: [Cut, Ending, string][] = [
    ['openai-break', 'sdk.shutdown', 'broken'],
    ['anthropic-abort', 'sdk.shutdown', 'cancelled'],
    ['openai-break', 'provider.forceFlush', 'broken'],
    ['anthropic-abort', 'beforeExit', 'cancelled'],
  ];
  for (const [cut, ending, outcome] of cases) {
    it(`${cut}, then ${ending}`, async () => {
      const report = await runChild(cut, ending);
      const ours = report.spans.filter((s) => s.attributes['llm_cost.stream.outcome'] !== undefined);
      assert.equal(ours.length, 1, `one span of ours exported (${report.spans.map((s) => s.name).join(', ')})`);
      const span = ours[0]!;
      assert.equal(span.attributes['llm_cost.stream.outcome'], outcome);
      assert.equal(span.attributes['llm_cost.usage.output_tokens.source'], 'estimated');
      assert.ok((span.attributes['gen_ai.usage.output_tokens'] as number) > 0);
      assert.ok((span.attributes['llm_cost.cost.usd'] as number) > 0);
      assert.ok(Math.abs(report.spendUsd - (span.attributes['llm_cost.cost.usd'] as number)) < 1e-12, 'the spend metric has it');
      console.log(`# ${cut} then ${ending}: ending took ${report.endingMs} ms`);
    });
  }
});
