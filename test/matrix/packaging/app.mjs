// An ES module app: static imports of the SDKs, run with `--import ./register.mjs`.
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startEmulator, scriptHeaders } from 'otel-llm-cost/emulator';

const { exporter, instrumentation, sdk } = globalThis.smoke;
const emulator = await startEmulator();
try {
  const openai = new OpenAI({ apiKey: 'k', baseURL: emulator.openaiBaseURL });
  const stream = await openai.chat.completions.create(
    { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true },
    scriptHeaders({ outputTokens: 30 }),
  );
  let chunks = 0;
  for await (const _chunk of stream) if (++chunks === 3) break;
  const anthropic = new Anthropic({ apiKey: 'k', baseURL: emulator.anthropicBaseURL });
  await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] });
  await instrumentation.flush();
  const spans = exporter.getFinishedSpans().filter((s) => (s.instrumentationScope ?? s.instrumentationLibrary).name === 'otel-llm-cost');
  const outcomes = spans.map(
    (s) => `${s.attributes['gen_ai.provider.name']}:${s.attributes['llm_cost.stream.outcome']}:${s.attributes['llm_cost.cost.source']}`,
  );
  console.log(outcomes.join(' '));
  if (outcomes.sort().join(' ') !== 'anthropic:completed:reported openai:broken:estimated') process.exitCode = 1;
} finally {
  await emulator.stop();
  await sdk.shutdown();
}
