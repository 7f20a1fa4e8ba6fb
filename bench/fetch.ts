/**
 * CPU per chunk of the fetch-path wrapper (`costFetch`, raw SDK bodies): a response body read
 * through the body tap (SSE parsing over bytes, the provider reader, the request lifecycle)
 * against the same body read bare, both in-process with no HTTP, so the wrapper's own cost is
 * not lost in the network's. Three bodies, emulator-shaped OpenAI chat chunks:
 *   - one event per read, as a provider streaming at its own pace;
 *   - 50 events per read, as a fast stream arriving in large reads;
 *   - one event per read with the injected usage option hidden (each event edited).
 *
 *   npm run build && node --import tsx bench/fetch.ts
 *
 * Prints the median µs of CPU per event over 15 interleaved rounds of 5,000 events (5 warm-up
 * rounds dropped), bare and wrapped, and their difference: the wrapper's cost per chunk.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { inMemoryBody } from './in-memory-body.js';

const requireHere = createRequire(__filename);
const dist = resolve(__dirname, '..', 'dist', 'cjs');
const load = (path: string) => requireHere(resolve(dist, path)) as Record<string, unknown>;

interface Tap {
  readable(): ReadableStream<Uint8Array>;
}
type TapClass = new (source: ReadableStream<Uint8Array>, observation: unknown, keepAlive?: unknown) => Tap;
type LifecycleClass = new (call: unknown, span: unknown, owner: unknown, watch: unknown, content: unknown) => unknown;
type Plan = (body: unknown, resource: unknown, settings: unknown, args: unknown[]) => { reader: unknown; injection?: { nullField: string } };

const BodyTap = load('core/body-tap.js').BodyTap as TapClass;
const RequestLifecycle = load('core/lifecycle.js').RequestLifecycle as LifecycleClass;
const planChatCompletion = load('providers/openai/chat.js').planChatCompletion as Plan;

const EVENTS = 5_000;
const ROUNDS = 15;
const WARMUP = 5;
const encoder = new TextEncoder();

function chatEvents(withUsageOption: boolean): Uint8Array[] {
  const events: Uint8Array[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const chunk = {
      id: 'chatcmpl-AbCdEfGhIjKlMnOpQrStUvWxYz012',
      object: 'chat.completion.chunk',
      created: 1765000000,
      model: 'gpt-4o-mini-2024-07-18',
      service_tier: 'default',
      system_fingerprint: 'fp_0123456789',
      choices: [{ index: 0, delta: { content: ` word${i % 10}` }, logprobs: null, finish_reason: null }],
      ...(withUsageOption ? { usage: null } : {}),
    };
    events.push(encoder.encode(`data: ${JSON.stringify(chunk)}\n\n`));
  }
  return events;
}

/** The events in reads of `perRead` events each. */
function reads(events: readonly Uint8Array[], perRead: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < events.length; i += perRead) {
    const group = events.slice(i, i + perRead);
    const joined = new Uint8Array(group.reduce((n, e) => n + e.length, 0));
    let at = 0;
    for (const e of group) {
      joined.set(e, at);
      at += e.length;
    }
    out.push(joined);
  }
  return out;
}

const noopSpan = {};
const owner = { ended: () => undefined, draining: () => undefined };

async function consume(stream: ReadableStream<Uint8Array>): Promise<void> {
  const reader = stream.getReader();
  for (;;) if ((await reader.read()).done) return;
}

async function cpuPerEvent(chunks: readonly Uint8Array[], wrapped: boolean, hide: boolean): Promise<number> {
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true };
  const call = planChatCompletion(body, {}, { injectStreamUsage: hide }, [body]);
  const start = process.cpuUsage();
  if (wrapped) {
    const request = new RequestLifecycle(call, noopSpan, owner, undefined, undefined);
    const tap = new BodyTap(inMemoryBody(chunks), {
      request,
      reader: call.reader,
      format: 'sse',
      hiddenNullField: hide ? call.injection?.nullField : undefined,
    });
    await consume(tap.readable());
  } else await consume(inMemoryBody(chunks));
  const used = process.cpuUsage(start);
  return (used.user + used.system) / EVENTS;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const plain = chatEvents(false);
  const injected = chatEvents(true);
  const cases = [
    { name: 'one event per read', chunks: reads(plain, 1), hide: false },
    { name: '50 events per read', chunks: reads(plain, 50), hide: false },
    { name: 'one event per read, usage option hidden', chunks: reads(injected, 1), hide: true },
  ];
  console.log(`fetch-path wrapper: CPU µs per event (median of ${ROUNDS} rounds of ${EVENTS.toLocaleString('en')} events)`);
  console.log('case                                       bare   wrapped   wrapper');
  for (const { name, chunks, hide } of cases) {
    const bare: number[] = [];
    const wrapped: number[] = [];
    for (let round = 0; round < ROUNDS + WARMUP; round++) {
      const b = await cpuPerEvent(chunks, false, hide);
      const w = await cpuPerEvent(chunks, true, hide);
      if (round >= WARMUP) {
        bare.push(b);
        wrapped.push(w);
      }
    }
    const [b, w] = [median(bare), median(wrapped)];
    console.log(`${name.padEnd(41)}${b.toFixed(2).padStart(6)}${w.toFixed(2).padStart(10)}${(w - b).toFixed(2).padStart(10)}`);
  }
}

void main();
