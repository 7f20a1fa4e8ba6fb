/**
 * Our own CPU per streamed chunk through the real SDKs, without the network's noise: one
 * process, NodeSDK running and the consumer inside an active context (as in a service), the
 * SDK reading an in-memory SSE body one event per read (its `fetch` option), and the
 * instrumentation switched on and off (`enable()` / `disable()`) round by round, so that
 * both sides see the same process and the same moments of the machine's load.
 *
 *   npm run build && node --import tsx bench/sdk-stream.ts
 *
 * With the instrumentation on, the OpenAI request asks for usage (`include_usage`), so its
 * body carries `"usage": null` in every chunk and the usage chunk at the end, as a provider
 * sends it; off, the body is the one the provider sends without that option. Prints the
 * median µs of CPU per chunk over 20 rounds of 5,000 chunks (4 warm-up rounds dropped) and
 * the difference: what we add to each chunk, the extra JSON the SDK parses included.
 */
import { resolve } from 'node:path';
import { context, createContextKey } from '@opentelemetry/api';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { inMemoryBody } from './in-memory-body.js';
import type AnthropicClass from '@anthropic-ai/sdk';
import type OpenAIClass from 'openai';

const CHUNKS = 5_000;
const ROUNDS = 20;
const WARMUP = 4;
const encoder = new TextEncoder();

interface Instrumentation {
  enable(): void;
  disable(): void;
}
const dist = resolve(__dirname, '..', 'dist', 'cjs');
const { LLMCostInstrumentation } = require(resolve(dist, 'index.js')) as { LLMCostInstrumentation: new (config: object) => Instrumentation };
const instrumentation = new LLMCostInstrumentation(JSON.parse(process.env.BENCH_OURS_CONFIG ?? '{}'));
const exporter = new tracing.InMemorySpanExporter();
const sdk = new NodeSDK({ spanProcessors: [new tracing.SimpleSpanProcessor(exporter)], instrumentations: [instrumentation as never] });
sdk.start();
const { OpenAI } = require('openai') as { OpenAI: typeof OpenAIClass };
const { Anthropic } = require('@anthropic-ai/sdk') as { Anthropic: typeof AnthropicClass };

const sse = (data: unknown, event?: string) => encoder.encode(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);

function openaiEvents(usageAsked: boolean): Uint8Array[] {
  const base = { id: 'chatcmpl-AbCdEfGhIjKlMnOpQrStUvWxYz012', object: 'chat.completion.chunk', created: 1765000000, model: 'gpt-4o-mini-2024-07-18' };
  const events: Uint8Array[] = [];
  for (let i = 0; i < CHUNKS; i++) {
    const choices = [{ index: 0, delta: { content: ` word${i % 10}` }, logprobs: null, finish_reason: i === CHUNKS - 1 ? 'stop' : null }];
    events.push(
      sse({ ...base, service_tier: 'default', system_fingerprint: 'fp_0123456789', choices, ...(usageAsked ? { usage: null } : {}), obfuscation: 'Xy3' }),
    );
  }
  if (usageAsked) events.push(sse({ ...base, choices: [], usage: { prompt_tokens: 9, completion_tokens: CHUNKS, total_tokens: CHUNKS + 9 } }));
  events.push(encoder.encode('data: [DONE]\n\n'));
  return events;
}

function anthropicEvents(): Uint8Array[] {
  const events = [
    sse(
      {
        type: 'message_start',
        message: {
          id: 'msg_01',
          type: 'message',
          role: 'assistant',
          model: 'claude-haiku-4-5',
          content: [],
          stop_reason: null,
          usage: { input_tokens: 9, output_tokens: 1 },
        },
      },
      'message_start',
    ),
    sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'),
  ];
  for (let i = 0; i < CHUNKS - 4; i++)
    events.push(sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ` word${i % 10}` } }, 'content_block_delta'));
  events.push(sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'));
  events.push(sse({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: CHUNKS } }, 'message_delta'));
  events.push(sse({ type: 'message_stop' }, 'message_stop'));
  return events;
}

/** A `fetch` answering every request with `events`, one per read. */
function fetchServing(pick: (body: string) => Uint8Array[]): typeof fetch {
  return (async (_url: unknown, init?: RequestInit) => {
    const body = inMemoryBody(pick(typeof init?.body === 'string' ? init.body : ''));
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  }) as typeof fetch;
}

const withUsage = openaiEvents(true);
const withoutUsage = openaiEvents(false);
const openai = new OpenAI({
  apiKey: 'bench',
  baseURL: 'http://127.0.0.1:9/v1',
  maxRetries: 0,
  fetch: fetchServing((body) => (body.includes('"include_usage":true') ? withUsage : withoutUsage)),
});
const anthropicBody = anthropicEvents();
const anthropic = new Anthropic({ apiKey: 'bench', baseURL: 'http://127.0.0.1:9', maxRetries: 0, fetch: fetchServing(() => anthropicBody) });

const STREAMS: Record<string, () => Promise<AsyncIterable<unknown>>> = {
  openai: () => openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Count.' }], stream: true }),
  anthropic: () =>
    anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: CHUNKS * 2, messages: [{ role: 'user', content: 'Count.' }], stream: true }),
};

const incoming = createContextKey('bench: an incoming request');
const cpu = () => {
  const used = process.cpuUsage();
  return used.user + used.system;
};

async function cpuPerChunk(provider: string): Promise<number> {
  return context.with(context.active().setValue(incoming, true), async () => {
    const stream = await STREAMS[provider]!();
    const start = cpu();
    let chunks = 0;
    for await (const _chunk of stream) chunks++;
    return (cpu() - start) / chunks;
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

async function main(): Promise<void> {
  console.log(`through the SDKs, in-memory body: CPU µs per chunk (median of ${ROUNDS} rounds of ${CHUNKS.toLocaleString('en')} chunks, ${process.version})`);
  console.log('provider     off      on   we add');
  for (const provider of Object.keys(STREAMS)) {
    const off: number[] = [];
    const on: number[] = [];
    for (let round = 0; round < 2 * (ROUNDS + WARMUP); round++) {
      const enabled = round % 2 === 1;
      if (enabled) instrumentation.enable();
      else instrumentation.disable();
      const perChunk = await cpuPerChunk(provider);
      if (round >= 2 * WARMUP) (enabled ? on : off).push(perChunk);
      exporter.reset();
    }
    const [a, b] = [median(off), median(on)];
    console.log(`${provider.padEnd(9)}${a.toFixed(2).padStart(7)}${b.toFixed(2).padStart(8)}${(b - a).toFixed(2).padStart(9)}`);
  }
  await sdk.shutdown();
}

void main();
