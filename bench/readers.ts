/**
 * The readers alone: CPU per chunk of the chat and Anthropic chunk readers (what runs on the
 * per-chunk path besides the stream wrapper), without HTTP, SDK or OpenTelemetry, so that a
 * change to a reader can be measured below the noise of the full bench. Optionally against
 * another build, interleaved:
 *
 *   npm run build && node --import tsx bench/readers.ts [--against <other checkout>/dist/cjs]
 *
 * Each chunk is also presented as the consumer receives it and read as a consumer reads it.
 * Prints the median µs per chunk over 20 interleaved rounds of 20,000 chunks (10 warm-up rounds dropped).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

const { values } = parseArgs({ options: { against: { type: 'string' } } });
const requireHere = createRequire(__filename);

interface Reader {
  readChunk(chunk: unknown, record: unknown): boolean;
  presentChunk?(chunk: unknown): unknown;
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

/**
 * Chat chunks as the API sends them to a request whose usage option we injected: `usage: null`
 * before `obfuscation`, freshly parsed each round (hiding the member changes the object).
 */
const injectedChatTexts = Array.from({ length: 64 }, (_, i) =>
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o-mini-2024-07-18',
    service_tier: 'default',
    system_fingerprint: 'fp_0aa8d3e20b',
    choices: [{ index: 0, delta: { content: ` word${i % 10}` }, logprobs: null, finish_reason: null }],
    usage: null,
    obfuscation: 'Xq3vB0',
  }),
);
const injectedChatChunks = (): unknown[] => Array.from({ length: CHUNKS }, (_, i) => JSON.parse(injectedChatTexts[i & 63]!) as unknown);

/** Reads each chunk, presents it as the consumer gets it, and reads it as a consumer does (content, id). */
function microsPerChunk(plan: Plan, body: object, chunks: readonly unknown[], build: Build): number {
  const call = plan(body, {}, { injectStreamUsage: true }, [body]);
  const record = new build.record(
    call,
    {},
    { usageCheck: { accept: (_provider: string, usage: unknown) => usage }, ended: () => undefined, draining: () => undefined },
    undefined,
    undefined,
  );
  const reader = call.reader;
  let sink = 0;
  const start = process.cpuUsage();
  for (const chunk of chunks) {
    if (!reader.readChunk(chunk, record)) continue;
    const seen = (reader.presentChunk ? reader.presentChunk(chunk) : chunk) as { id?: string; choices?: { delta?: { content?: string } }[] };
    sink += (seen.id?.length ?? 0) + (seen.choices?.[0]?.delta?.content?.length ?? 0);
  }
  const used = process.cpuUsage(start);
  if (sink < 0) throw new Error('unreachable');
  return (used.user + used.system) / chunks.length;
}

const builds = [load('this build', resolve(__dirname, '..', 'dist', 'cjs'))];
if (values.against) builds.push(load(values.against, resolve(values.against)));
const results = new Map(builds.map((b) => [b.name, { chat: [] as number[], chatInjected: [] as number[], messages: [] as number[] }]));
for (let round = 0; round < 30; round++) {
  for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
    const r = results.get(build.name)!;
    r.chat.push(microsPerChunk(build.chat, { model: 'gpt-4o-mini', messages: [], stream: true }, chatChunks, build));
    r.chatInjected.push(microsPerChunk(build.chat, { model: 'gpt-4o-mini', messages: [], stream: true }, injectedChatChunks(), build));
    r.messages.push(microsPerChunk(build.messages, { model: 'claude-haiku-4-5', messages: [], stream: true, max_tokens: 10 }, messageEvents, build));
  }
}
const median = (xs: number[]): number => {
  const kept = xs.slice(10).sort((a, b) => a - b);
  return kept[Math.floor(kept.length / 2)]!;
};
for (const [name, r] of results) {
  console.log(
    `${name}: chat ${median(r.chat).toFixed(3)} µs/chunk, chat with the injected usage: null hidden ${median(r.chatInjected).toFixed(3)} µs/chunk, anthropic ${median(r.messages).toFixed(3)} µs/chunk`,
  );
}
