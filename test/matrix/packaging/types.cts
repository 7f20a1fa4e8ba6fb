// Type-checked against the installed tarball: the `require` condition's declarations.
import otelLlmCost = require('otel-llm-cost');
import emulator = require('otel-llm-cost/emulator');

const instrumentation: otelLlmCost.LLMCostInstrumentation = new otelLlmCost.LLMCostInstrumentation({
  injectStreamUsage: true,
  anthropicNativeSpans: 'suppress',
  onCost: (record: otelLlmCost.CostRecord) => void record,
});
const recognised: boolean = instrumentation.patch({});
const started: Promise<emulator.ProviderEmulator> = emulator.startEmulator();
export { recognised, started };
