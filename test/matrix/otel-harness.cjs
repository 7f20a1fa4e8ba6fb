'use strict';
/**
 * The OpenTelemetry side of a matrix cell: a real NodeSDK with in-memory span and metric
 * exporters and the instrumentation registered the way the README documents. Plain
 * JavaScript (no tsx) so that every Node version, the ESM loader and esbuild run it as is.
 * It serves both OpenTelemetry JS lines: the cells of the 0.30x line run a copy of it placed
 * in their folder, so that `@opentelemetry/sdk-node` resolves from that line's tree.
 */
const sdkNode = require('@opentelemetry/sdk-node');

// sdk-node 0.2xx re-exports the metrics and trace SDKs it runs on; the 0.30x line no longer
// does, and there they are installed beside it. Both lines read `metricReaders` (plural).
const { NodeSDK } = sdkNode;
const reexported = Boolean(sdkNode.metrics && sdkNode.tracing);
const { metrics, tracing } = reexported ? sdkNode : sdksBesideNodeSdk();

function sdksBesideNodeSdk() {
  // Inside `try` so that esbuild, bundling a 0.2xx cell where these are not installed at the
  // top, leaves the require to run time instead of failing the build; it never runs there.
  try {
    return { metrics: require('@opentelemetry/sdk-metrics'), tracing: require('@opentelemetry/sdk-trace') };
  } catch (error) {
    throw new Error(`@opentelemetry/sdk-node exports no metrics/tracing, and the SDKs beside it do not load: ${error.message}`);
  }
}

/**
 * sdk-node's `tracing` (sdk-trace-base) takes the exporter itself; @opentelemetry/sdk-trace, the
 * 0.30x line's, takes `{ exporter }`. Handed an exporter where options are expected, it exports
 * to `undefined` and reports the failure only to the global error handler: no span, no error.
 */
function simpleSpanProcessor(exporter) {
  return reexported ? new tracing.SimpleSpanProcessor(exporter) : new tracing.SimpleSpanProcessor({ exporter });
}

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
    spanProcessors: [simpleSpanProcessor(exporter)],
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
    /**
     * Waits until `count` of our spans have ended and been written; only a hang (two minutes,
     * far beyond any request here on a loaded machine) gives up, returning what there is.
     */
    async settle(count) {
      const hung = Date.now() + 120_000;
      for (;;) {
        await instrumentation.flush();
        if (ours().length >= count || Date.now() > hung) return ours();
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
    /**
     * The global tracer provider's own forceFlush(), which an app calls instead of anything of
     * this package's: it must wait for the costs of streams already cut.
     */
    async forceFlushTraces() {
      const global = require('@opentelemetry/api').trace.getTracerProvider();
      const provider = typeof global.getDelegate === 'function' ? global.getDelegate() : global;
      await provider.forceFlush();
    },
    shutdown: () => sdk.shutdown(),
  };
}

module.exports = { startHarness };
