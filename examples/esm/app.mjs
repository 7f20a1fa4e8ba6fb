/**
 * An ordinary ESM app: it imports the SDK statically and knows nothing about telemetry.
 * Run it with the instrumentation preloaded:
 *
 *   npm run build && node --import ./examples/esm/register.mjs examples/esm/app.mjs
 *
 * The span printed by the console exporter (scope `otel-llm-cost`) shows the request was
 * instrumented. The embedded emulator stands in for the API so this runs offline.
 */
import OpenAI from 'openai';
import { startEmulator, scriptHeaders } from 'otel-llm-cost/emulator';

const emulator = await startEmulator();
try {
  const client = new OpenAI({ apiKey: 'example-key', baseURL: emulator.openaiBaseURL });
  const stream = await client.chat.completions.create(
    { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Name three colours.' }], stream: true },
    scriptHeaders({ outputTokens: 40 }), // emulator only: the answer's length
  );
  let chunks = 0;
  for await (const _chunk of stream) {
    if (++chunks === 5) break; // stop early: the span still gets tokens and a cost, marked estimated
  }
  console.log(`read ${chunks} chunks, then stopped`);
} finally {
  await emulator.stop();
}
