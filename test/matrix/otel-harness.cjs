'use strict';
/**
 * The OpenTelemetry side of a matrix cell: a real NodeSDK with in-memory span and metric
 * exporters and the instrumentation registered the way the README documents. Plain
 * JavaScript (no tsx) so that every Node version, the ESM loader and esbuild run it as is.
 */
const { NodeSDK, metrics, tracing } = require('@opentelemetry/sdk-node');

const OUR_SCOPE = 'otel-llm-cost';

class CollectingReader extends metrics.MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

/** Starts the SDK with `instrumentation` (a `LLMCostInstrumentation`). */
function startHarness(instrumentation) {
  const exporter = new tracing.InMemorySpanExporter();
  const reader = new CollectingReader();
  const sdk = new NodeSDK({
    serviceName: 'otel-llm-cost-matrix',
    spanProcessors: [new tracing.SimpleSpanProcessor(exporter)],
    metricReaders: [reader],
    instrumentations: [instrumentation],
  });
  sdk.start();
  const scopeOf = (span) => (span.instrumentationScope ?? span.instrumentationLibrary)?.name;
  const ours = () => exporter.getFinishedSpans().filter((span) => scopeOf(span) === OUR_SCOPE);
  return {
    instrumentation,
    ours,
    others: () => exporter.getFinishedSpans().filter((span) => scopeOf(span) !== OUR_SCOPE),
    reset: () => exporter.reset(),
    /** Waits (bounded) until `count` of our spans have ended and been written. */
    async settle(count) {
      const giveUp = Date.now() + 10_000;
      for (;;) {
        await instrumentation.flush();
        if (ours().length >= count || Date.now() > giveUp) return ours();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    /** Sum of a counter over all its points. */
    async metricSum(name) {
      await instrumentation.flush();
      const { resourceMetrics } = await reader.collect();
      let sum = 0;
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          if (metric.descriptor.name !== name) continue;
          for (const point of metric.dataPoints) sum += typeof point.value === 'number' ? point.value : point.value.sum;
        }
      }
      return sum;
    },
    shutdown: () => sdk.shutdown(),
  };
}

module.exports = { startHarness };
