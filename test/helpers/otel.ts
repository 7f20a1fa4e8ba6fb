/**
 * The real OpenTelemetry SDK for tests: NodeSDK with in-memory span and metric exporters,
 * and the instrumentation registered the way users register it. The SDK modules are
 * required only after NodeSDK has started, as in an application's entry file.
 */
import { createRequire } from 'node:module';
import { NodeSDK, metrics, tracing } from '@opentelemetry/sdk-node';

type ReadableSpan = tracing.ReadableSpan;
import type OpenAIClass from 'openai';
import type AnthropicClass from '@anthropic-ai/sdk';
import { LLMCostInstrumentation, type LLMCostInstrumentationConfig } from '../../src/index.js';
import { PACKAGE_NAME } from '../../src/version.js';

const requireFromHere = createRequire(__filename);

class CollectingReader extends metrics.MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface MetricPoint {
  name: string;
  attributes: Record<string, unknown>;
  /** Counter sum, or histogram sum. */
  value: number;
  /** Histogram count (1 for counters). */
  count: number;
}

export interface TestOtel {
  instrumentation: LLMCostInstrumentation;
  OpenAI: typeof OpenAIClass;
  Anthropic: typeof AnthropicClass;
  /** Our spans only (the Anthropic SDK's own native spans are left out). */
  spans(): ReadableSpan[];
  /** Every finished span, whatever wrote it. */
  allSpans(): ReadableSpan[];
  /** Waits until `count` of our spans have ended (default 1) and every finished request is written, at most `timeoutMs` (default 5 s). */
  settle(count?: number, timeoutMs?: number): Promise<ReadableSpan[]>;
  metricPoints(name?: string): Promise<MetricPoint[]>;
  reset(): void;
  shutdown(): Promise<void>;
}

/**
 * How long `settle` waits for spans before it calls the test hung: far beyond what any request
 * of these tests takes on a loaded machine, so that load never fails a test, only a hang does.
 */
const SETTLE_HANG_GUARD_MS = 120_000;

let started: TestOtel | undefined;

export function startOtel(config: LLMCostInstrumentationConfig = {}): TestOtel {
  if (started) throw new Error('one NodeSDK per test process');
  const exporter = new tracing.InMemorySpanExporter();
  const reader = new CollectingReader();
  const instrumentation = new LLMCostInstrumentation(config);
  const sdk = new NodeSDK({
    serviceName: 'otel-llm-cost-test',
    spanProcessors: [new tracing.SimpleSpanProcessor(exporter)],
    metricReaders: [reader],
    instrumentations: [instrumentation],
  });
  sdk.start();
  const openaiModule = requireFromHere('openai') as { OpenAI: typeof OpenAIClass };
  const anthropicModule = requireFromHere('@anthropic-ai/sdk') as { Anthropic: typeof AnthropicClass };

  const ours = () => exporter.getFinishedSpans().filter((s) => instrumentationScope(s) === PACKAGE_NAME);
  started = {
    instrumentation,
    OpenAI: openaiModule.OpenAI,
    Anthropic: anthropicModule.Anthropic,
    spans: ours,
    allSpans: () => exporter.getFinishedSpans(),
    async settle(count = 1) {
      const hung = Date.now() + SETTLE_HANG_GUARD_MS;
      for (;;) {
        await instrumentation.flush();
        if (ours().length >= count) return ours();
        if (Date.now() > hung) throw new Error(`settle: ${ours().length} of ${count} spans after ${SETTLE_HANG_GUARD_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async metricPoints(name?: string) {
      await instrumentation.flush();
      const { resourceMetrics } = await reader.collect();
      return flattenMetrics(resourceMetrics).filter((p) => name === undefined || p.name === name);
    },
    reset() {
      exporter.reset();
      // Each test starts like a fresh process: nothing learned from earlier tests' usage.
      instrumentation['owned'].calibration.reset();
    },
    async shutdown() {
      await sdk.shutdown();
    },
  };
  return started;
}

function instrumentationScope(span: ReadableSpan): string | undefined {
  const scoped = span as ReadableSpan & {
    instrumentationScope?: { name: string };
    instrumentationLibrary?: { name: string };
  };
  return (scoped.instrumentationScope ?? scoped.instrumentationLibrary)?.name;
}

function flattenMetrics(resourceMetrics: metrics.ResourceMetrics): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      for (const point of metric.dataPoints as metrics.DataPoint<number | metrics.Histogram>[]) {
        const value = point.value;
        points.push({
          name: metric.descriptor.name,
          attributes: { ...point.attributes },
          value: typeof value === 'number' ? value : (value.sum ?? 0),
          count: typeof value === 'number' ? 1 : value.count,
        });
      }
    }
  }
  return points;
}

/** Sum of a metric's values over the points whose attributes include `match`. */
export function sumPoints(points: MetricPoint[], match: Record<string, unknown> = {}): number {
  return points.filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v)).reduce((total, p) => total + p.value, 0);
}
