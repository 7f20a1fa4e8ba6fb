/**
 * The readers alone: CPU per chunk of the chat and Anthropic chunk readers (what runs on the
 * per-chunk path besides the stream wrapper), without HTTP, SDK or OpenTelemetry, so that a
 * change to a reader can be measured below the noise of the full bench. Optionally against
 * another build, interleaved:
 *
 *   npm run build && node --import tsx bench/readers.ts [--against <other checkout>/dist/cjs]
 *
 * Prints the median µs per chunk over 20 interleaved rounds of 20,000 chunks (10 warm-up rounds dropped).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

const { values } = parseArgs({ options: { against: { type: 'string' } } });
const requireHere = createRequire(__filename);

interface Reader {
  readChunk(chunk: unknown, record: unknown): boolean;
}
type Plan = (body: unknown, resource: unknown, options: unknown, args: unknown[]) => { reader: Reader };
interface Build {
  name: string;
  chat: Plan;
  messages: Plan;
  record: new (call: unknown, span: unknown, owner: unknown, watch: undefined, content: undefined) => unknown;
}

function load(name: string, dist: string): Build {
  const from = (path: string) => requireHere(resolve(dist, path)) as Record<string, unknown>;
  return {
    name,
    chat: from('providers/openai/chat.js').planChatCompletion as Plan,
    messages: from('providers/anthropic/messages.js').planMessage as Plan,
    record: from('core/lifecycle.js').RequestLifecycle as Build['record'],
  };
}

const CHUNKS = 20_000;
const chatChunks = Array.from({ length: CHUNKS }, (_, i) => ({
  id: 'chatcmpl-bench',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, delta: { content: ` word${i % 10}` }, finish_reason: null }],
}));
const messageEvents = Array.from({ length: CHUNKS }, (_, i) =>
  i % 50 === 0
    ? { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: `{"city": "Lisbon ${i}", ` } }
    : { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ` word${i % 10}` } },
);

function microsPerChunk(plan: Plan, body: object, chunks: readonly unknown[], build: Build): number {
  const call = plan(body, {}, { injectStreamUsage: true }, [body]);
  const record = new build.record(call, {}, { usageCheck: { accept: (_provider: string, usage: unknown) => usage }, ended: () => undefined, draining: () => undefined }, undefined, undefined);
  const start = process.cpuUsage();
  for (const chunk of chunks) call.reader.readChunk(chunk, record);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / chunks.length;
}

const builds = [load('this build', resolve(__dirname, '..', 'dist', 'cjs'))];
if (values.against) builds.push(load(values.against, resolve(values.against)));
const results = new Map(builds.map((b) => [b.name, { chat: [] as number[], messages: [] as number[] }]));
for (let round = 0; round < 30; round++) {
  for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
    const r = results.get(build.name)!;
    r.chat.push(microsPerChunk(build.chat, { model: 'gpt-4o-mini', messages: [], stream: true }, chatChunks, build));
    r.messages.push(microsPerChunk(build.messages, { model: 'claude-haiku-4-5', messages: [], stream: true, max_tokens: 10 }, messageEvents, build));
  }
}
const median = (xs: number[]): number => {
  const kept = xs.slice(10).sort((a, b) => a - b);
  return kept[Math.floor(kept.length / 2)]!;
};
for (const [name, r] of results) {
  console.log(`${name}: chat ${median(r.chat).toFixed(3)} µs/chunk, anthropic ${median(r.messages).toFixed(3)} µs/chunk`);
}
