// Type-checked against the installed tarball: the `import` condition's declarations.
import { LLMCostInstrumentation, semconv, type CostRecord, type LLMCostInstrumentationConfig } from 'otel-llm-cost';
import { startEmulator, type ProviderEmulator } from 'otel-llm-cost/emulator';

const config: LLMCostInstrumentationConfig = { anthropicNativeSpans: 'keep', onCost: (record: CostRecord) => void record };
const instrumentation = new LLMCostInstrumentation(config);
const client = instrumentation.instrumentClient({ chat: {} });
const attribute: string = semconv.ATTR_GEN_AI_USAGE_INPUT_TOKENS;
const started: Promise<ProviderEmulator> = startEmulator();
export { client, attribute, started };
