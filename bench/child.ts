/**
 * One benchmark measurement in a fresh process (an instrumentation patches the SDK when
 * it is first required, so each variant needs its own process). Prints one JSON line.
 *
 *   overhead <variant> <provider> <pacedServerURL> <chunks> <warmChunks> <paceUs>
 *   create <variant> <provider> <baseURL> <requests>
 *   stall <variant> <baseURL>
 *   memory <variant> <baseURL> <streams>   (run with --expose-gc)
 *   latency <variant> <baseURL> <cutNotBeforeMs>
 *   warmup <variant>
 *
 * Variants: `none` (no OpenTelemetry at all), `otel-sdk` (NodeSDK with no
 * instrumentation: the context manager's own cost), `otel-sdk-in-context` (the same, the
 * streams consumed inside `context.with`, as in any service with an instrumented server),
 * `ours` (otel-llm-cost from dist/; it and the variants below run inside `context.with` too),
 * `ours-main-thread` (the same, tokenizer forced onto the main thread), `ours-budget`
 * (otel-llm-cost with every stream under a budget that is never reached), `otel-openai`
 * (@opentelemetry/instrumentation-openai).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import type OpenAIClass from 'openai';
import type AnthropicClass from '@anthropic-ai/sdk';

const requireHere = createRequire(__filename);
const dist = resolve(__dirname, '..', 'dist', 'cjs');
const [mode = '', variant = 'none', ...rest] = process.argv.slice(2);
const scriptHeader = (script: object) => ({ headers: { 'x-emulator-script': JSON.stringify(script) } });

interface Ours {
  flush(): Promise<void>;
}

let dropFinishedSpans = (): void => undefined;

function startTelemetry(): { flush: () => Promise<void> } {
  if (variant === 'none') return { flush: async () => undefined };
  const exporter = new tracing.InMemorySpanExporter();
  let instrumentation: Ours | undefined;
  let instrumentations: unknown[];
  if (variant === 'otel-sdk' || variant === 'otel-sdk-in-context') instrumentations = [];
  else if (variant === 'otel-openai') {
    const { OpenAIInstrumentation } = requireHere('@opentelemetry/instrumentation-openai') as {
      OpenAIInstrumentation: new () => unknown;
    };
    instrumentations = [new OpenAIInstrumentation()];
  } else {
    const { LLMCostInstrumentation } = requireHere(resolve(dist, 'index.js')) as { LLMCostInstrumentation: new (config: object) => Ours };
    if (variant === 'ours-main-thread') {
      (requireHere(resolve(dist, 'core', 'tokenizer.js')) as { useTokenizerWorker(on: boolean): void }).useTokenizerWorker(false);
    }
    // BENCH_OURS_CONFIG: a JSON config for experiments (for example {"injectStreamUsage":false}).
    instrumentation = new LLMCostInstrumentation(JSON.parse(process.env.BENCH_OURS_CONFIG ?? '{}') as object);
    instrumentations = [instrumentation];
  }
  const sdk = new NodeSDK({
    spanProcessors: [new tracing.SimpleSpanProcessor(exporter)],
    instrumentations: instrumentations as never,
  });
  sdk.start();
  // Keep the exporter from growing across streams.
  setInterval(() => exporter.reset(), 1000).unref();
  dropFinishedSpans = () => exporter.reset();
  return { flush: async () => instrumentation?.flush() };
}

/**
 * The main thread's CPU in µs (Linux: /proc/self/task/<pid>/stat, 10 ms ticks), or NaN
 * elsewhere: what runs JavaScript, without the GC helper threads and worker threads that
 * `process.cpuUsage()` also counts (the tokenizer worker's one-time collections after its
 * warm-up, for example).
 */
function mainThreadMicros(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
  } catch {
    return Number.NaN;
  }
}

const cpuMicros = () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

/**
 * A fixed synchronous workload (JSON parsing, property reads, small strings and objects:
 * what a streamed chunk's path is made of), timed in CPU microseconds, so that figures from
 * processes that ran while the machine was faster or slower can be compared. Synchronous on
 * purpose: promise hooks that a variant switches on do not touch it.
 */
function calibrate(): number {
  const texts = Array.from({ length: 16 }, (_, i) =>
    JSON.stringify({
      id: `chatcmpl-${i}`,
      object: 'chat.completion.chunk',
      created: i,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, delta: { content: ` word${i}` }, finish_reason: null }],
    }),
  );
  const once = (): number => {
    const start = process.cpuUsage();
    let sink = 0;
    const seen = new Map<string, number>();
    for (let i = 0; i < 6000; i++) {
      const chunk = JSON.parse(texts[i & 15]!) as { id: string; choices: { delta: { content: string } }[] };
      const piece = chunk.choices[0]!.delta.content;
      sink += piece.length + (seen.get(chunk.id) ?? 0);
      seen.set(chunk.id, sink & 1023);
    }
    const used = process.cpuUsage(start);
    if (sink < 0) throw new Error('unreachable');
    return used.user + used.system;
  };
  const runs = Array.from({ length: 9 }, once).sort((a, b) => a - b);
  return runs[4]!;
}

/**
 * CPU per chunk in the steady state: one stream of `chunks` events, paced one per network
 * read by the bench server; the clock runs from chunk `warmChunks` to the end of the stream.
 */
async function overhead(provider: string, baseURL: string, chunks: number, warmChunks: number, paceUs: number): Promise<void> {
  const calibrationBefore = calibrate();
  startTelemetry();
  const outputTokens = Math.ceil(chunks * 2.5);
  const headers = {
    // One to three tokens per event: ask for more than enough, the server cuts the stream to `chunks` events.
    'x-emulator-script': JSON.stringify({ outputTokens }),
    'x-bench-events': String(chunks),
    'x-bench-pace-us': String(paceUs),
    'x-bench-obfuscation': '1',
  };
  let measuredChunks = 0;
  let before = 0;
  let mainBefore = 0;
  let switchesBefore = 0;
  let consume: () => Promise<number>;
  const reading = (n: number): void => {
    if (n === warmChunks) {
      mainBefore = mainThreadMicros();
      before = cpuMicros();
      switchesBefore = process.resourceUsage().voluntaryContextSwitches;
    }
  };
  if (provider === 'openai') {
    const { OpenAI } = requireHere('openai') as { OpenAI: typeof OpenAIClass };
    const client = new OpenAI({ apiKey: 'bench', baseURL: `${baseURL}/v1`, maxRetries: 0 });
    consume = async () => {
      const stream = await client.chat.completions.create(
        {
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'Count.' }],
          stream: true,
          max_completion_tokens: outputTokens,
          // BENCH_USER_INCLUDE_USAGE=1: the app asks for usage itself (what the option costs the SDK).
          ...(process.env.BENCH_USER_INCLUDE_USAGE ? { stream_options: { include_usage: true } } : {}),
        },
        { headers },
      );
      let n = 0;
      for await (const _chunk of stream) reading(++n);
      return n;
    };
  } else {
    const { Anthropic } = requireHere('@anthropic-ai/sdk') as { Anthropic: typeof AnthropicClass };
    const client = new Anthropic({ apiKey: 'bench', baseURL, maxRetries: 0 });
    consume = async () => {
      const stream = await client.messages.create(
        { model: 'claude-haiku-4-5', max_tokens: outputTokens, messages: [{ role: 'user', content: 'Count.' }], stream: true },
        { headers },
      );
      let n = 0;
      for await (const _event of stream) reading(++n);
      return n;
    };
  }
  consume = inVariantScope(consume);
  const total = await consume();
  const cpu = cpuMicros() - before;
  const mainThread = mainThreadMicros() - mainBefore;
  const switches = process.resourceUsage().voluntaryContextSwitches - switchesBefore;
  measuredChunks = total - warmChunks;
  const calibrationAfter = calibrate();
  process.stdout.write(
    JSON.stringify({
      chunks: measuredChunks,
      cpuMicros: cpu,
      perChunkMicros: cpu / measuredChunks,
      mainThreadPerChunkMicros: mainThread / measuredChunks,
      calibrationMicros: (calibrationBefore + calibrationAfter) / 2,
      switchesPerChunk: switches / measuredChunks,
    }) + '\n',
  );
}

/**
 * The variant's surroundings of each request. Every variant with OpenTelemetry consumes its
 * streams inside an active context, as in a service whose HTTP server is instrumented
 * (`context.with`, which turns on the context manager's promise tracking on Node 20), so that
 * `ours / otel-sdk-in-context` compares the same service with and without us; `ours-budget`
 * adds a budget.
 */
function inVariantScope<T>(run: () => Promise<T>): () => Promise<T> {
  if (variant === 'none' || variant === 'otel-sdk') return run;
  const { context, createContextKey } = requireHere('@opentelemetry/api') as typeof import('@opentelemetry/api');
  const key = createContextKey('bench: an incoming request');
  const inContext = () => context.with(context.active().setValue(key, true), run);
  if (variant === 'ours-budget') {
    // Every chunk goes through the budget's per-chunk check; the limit is never reached.
    const { withBudget } = requireHere(resolve(dist, 'index.js')) as {
      withBudget<T>(options: { maxUsd: number }, fn: () => Promise<T>): Promise<T>;
    };
    return () => withBudget({ maxUsd: 1_000_000 }, inContext);
  }
  return inContext;
}

/**
 * The synchronous part of `create()` (what the calling code waits for before it gets the
 * APIPromise back), for a small prompt (`requests` calls) and for a ~64 KB one (a fifth as
 * many: nothing proportional to the prompt may run on the calling thread). Each call is
 * then awaited and read to its end, untimed, so every call starts as a request in a
 * running service does. Figures: the process's first call (cold: lazily loaded modules,
 * code not yet optimised), and the median and p90 of the second half of the calls (the
 * steady state, once the JIT has settled).
 */
async function createCost(provider: string, baseURL: string, requests: number): Promise<void> {
  startTelemetry();
  const big = longPrompt().slice(0, 64_000);
  const headers = { 'x-emulator-script': JSON.stringify({ outputTokens: 3 }) };
  let call: (content: string) => PromiseLike<AsyncIterable<unknown>>;
  if (provider === 'openai') {
    const { OpenAI } = requireHere('openai') as { OpenAI: typeof OpenAIClass };
    const client = new OpenAI({ apiKey: 'bench', baseURL: `${baseURL}/v1`, maxRetries: 0 });
    call = (content) =>
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], stream: true, max_completion_tokens: 3 }, { headers });
  } else {
    const { Anthropic } = requireHere('@anthropic-ai/sdk') as { Anthropic: typeof AnthropicClass };
    const client = new Anthropic({ apiKey: 'bench', baseURL, maxRetries: 0 });
    call = (content) => client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 3, messages: [{ role: 'user', content }], stream: true }, { headers });
  }
  const timed = inVariantScope(async () => {
    const figures: Record<string, number> = {};
    for (const [name, content, count] of [
      ['small', 'Count.', requests],
      ['large', big, Math.max(2, Math.ceil(requests / 5))],
    ] as const) {
      const samples: number[] = [];
      const cpuSamples: number[] = [];
      for (let i = 0; i < count; i++) {
        const cpu = process.cpuUsage();
        const start = process.hrtime.bigint();
        const pending = call(content);
        const took = Number(process.hrtime.bigint() - start) / 1000;
        const used = process.cpuUsage(cpu);
        samples.push(took);
        cpuSamples.push(used.user + used.system);
        for await (const _chunk of await pending);
      }
      figures[`${name}FirstMicros`] = samples[0]!;
      const warm = samples.slice(count >> 1).sort((a, b) => a - b);
      const warmCpu = cpuSamples.slice(count >> 1).sort((a, b) => a - b);
      figures[`${name}MedianMicros`] = warm[warm.length >> 1]!;
      figures[`${name}P90Micros`] = warm[Math.floor(warm.length * 0.9)]!;
      // Process CPU (all threads: a GC helper or the tokenizer worker running meanwhile counts too).
      figures[`${name}CpuMedianMicros`] = warmCpu[warmCpu.length >> 1]!;
      // The same calls back to back (caches and branch predictors warm, as in a burst of
      // requests), each then read to its end.
      const burst: PromiseLike<AsyncIterable<unknown>>[] = [];
      const burstStart = process.hrtime.bigint();
      for (let i = 0; i < 50; i++) burst.push(call(content));
      figures[`${name}BurstMeanMicros`] = Number(process.hrtime.bigint() - burstStart) / 1000 / 50;
      for (const pending of burst) for await (const _chunk of await pending);
    }
    return figures;
  });
  process.stdout.write(JSON.stringify(await timed()) + '\n');
}

/** ~100,000 o200k tokens of varied prose (one word and its space is one token). */
function longPrompt(): string {
  const words = ['river', 'light', 'stone', 'market', 'window', 'garden', 'morning', 'letter', 'harbor', 'season'];
  const parts: string[] = [];
  for (let i = 0; i < 100_000; i++) parts.push(words[(i * 7 + (i >> 3)) % words.length]!);
  return parts.join(' ');
}

/** A 100,000-character whitespace-free blob (base64 of pseudo-random bytes), in an ordinary prompt. */
function blobPrompt(): string {
  const bytes = Buffer.alloc(75_000);
  let x = 2463534242;
  for (let i = 0; i < bytes.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return `Describe this file: ${bytes.toString('base64')}`;
}

/**
 * The longest time the event loop went without turning, from a chain of setImmediate
 * callbacks (busy, but exact: a timer-based sampler can miss a single long block).
 */
function watchGaps(): { stop(): number } {
  let running = true;
  let last = performance.now();
  let max = 0;
  const tick = () => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    stop() {
      running = false;
      return Math.max(max, performance.now() - last);
    },
  };
}

/**
 * Longest event-loop stall between cancelling a stream and its span being written (for
 * `none`, the same time after the cancel): everything that happens there is ours.
 */
async function stall(baseURL: string): Promise<void> {
  const telemetry = startTelemetry();
  const { OpenAI } = requireHere('openai') as { OpenAI: typeof OpenAIClass };
  const client = new OpenAI({ apiKey: 'bench', baseURL: `${baseURL}/v1`, maxRetries: 0 });
  const results: Record<string, { maxStallMs: number; eventLoopDelayMaxMs: number; windowMs: number }> = {};
  const cases: [string, string][] = [
    ['cold: 100k-token prompt cancelled', longPrompt()],
    ['warm: 100k-token prompt cancelled', longPrompt()],
    ['100k-char blob without whitespace cancelled', blobPrompt()],
  ];
  for (const [name, prompt] of cases) {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }], stream: true },
      { signal: controller.signal, ...scriptHeader({ outputTokens: 500, chunkDelayMs: 2 }) },
    );
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    await new Promise((done) => setTimeout(done, 20)); // let the request's own parsing settle
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    const gaps = watchGaps();
    const started = performance.now();
    controller.abort();
    await iterator.next().catch(() => undefined);
    await telemetry.flush();
    // `none` has nothing to wait for: watch the loop for as long as a warm estimate takes.
    if (variant === 'none') await new Promise((done) => setTimeout(done, 50));
    const windowMs = performance.now() - started;
    histogram.disable();
    const maxGapMs = gaps.stop();
    // The histogram's values include its own 1 ms sampling interval.
    results[name] = { maxStallMs: maxGapMs, eventLoopDelayMaxMs: Math.max(0, histogram.max / 1e6 - 1), windowMs };
  }
  process.stdout.write(JSON.stringify(results) + '\n');
}

/**
 * Time from a cut (a `break` out of a stream whose usage never arrived) to its span being
 * written, in a fresh process: the first cut ("cold": the encoder may still be building,
 * warmed since the instrumentation was enabled) no earlier than `cutNotBeforeMs` after the
 * instrumentation was enabled, then a second one ("warm").
 */
async function latency(baseURL: string, cutNotBeforeMs: number): Promise<void> {
  const telemetry = startTelemetry();
  const enabledAt = performance.now();
  const { OpenAI } = requireHere('openai') as { OpenAI: typeof OpenAIClass };
  const client = new OpenAI({ apiKey: 'bench', baseURL: `${baseURL}/v1`, maxRetries: 0 });
  const result: Record<string, number> = {};
  for (const name of ['cold', 'warm']) {
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Tell me a story about the sea.' }], stream: true },
      scriptHeader({ outputTokens: 200 }),
    );
    let chunks = 0;
    for await (const _chunk of stream) {
      if (++chunks < 20) continue;
      const wait = enabledAt + cutNotBeforeMs - performance.now();
      if (name === 'cold' && wait > 0) await new Promise((done) => setTimeout(done, wait));
      break;
    }
    const cut = performance.now();
    await telemetry.flush();
    result[`${name}CutAtMs`] = cut - enabledAt;
    result[`${name}CutToSpanEndMs`] = performance.now() - cut;
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

/**
 * The worst case of a cold cut: a count asked for the moment the instrumentation is
 * enabled (the encoder has just started building in the worker), then a second one.
 */
async function warmup(): Promise<void> {
  // Counting never holds the process open: an application that waits for a count does.
  const alive = setInterval(() => undefined, 1000);
  startTelemetry();
  const enabledAt = performance.now();
  const { countTexts } = requireHere(resolve(dist, 'core', 'tokenizer.js')) as {
    countTexts(encoding: string, texts: string[]): Promise<number[]>;
  };
  await countTexts('o200k_base', ['Once upon a time, by the sea.']);
  const firstMs = performance.now() - enabledAt;
  const again = performance.now();
  await countTexts('o200k_base', ['And then the tide came in.']);
  process.stdout.write(JSON.stringify({ firstCountAfterEnableMs: firstMs, warmCountMs: performance.now() - again }) + '\n');
  clearInterval(alive);
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const heapAfterGc = async (): Promise<number> => {
  dropFinishedSpans();
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((done) => setTimeout(done, 20));
  }
  return process.memoryUsage().heapUsed;
};

/**
 * Memory: what one in-flight stream costs (held open mid-stream), and the heap after
 * many completed, broken and cancelled streams (needs --expose-gc).
 */
async function memory(baseURL: string, total: number): Promise<void> {
  const telemetry = startTelemetry();
  const { OpenAI } = requireHere('openai') as { OpenAI: typeof OpenAIClass };
  const client = new OpenAI({ apiKey: 'bench', baseURL: `${baseURL}/v1`, maxRetries: 0 });
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Tell me a story.' }], stream: true as const };

  // In flight: 200 streams each held after 100 chunks, measured after 20 held and released
  // the same way (the code those paths compile on first use is not a per-stream cost).
  const hold = async (count: number) => {
    const held: { iterator: AsyncIterator<unknown>; controller: AbortController }[] = [];
    let chars = 0;
    for (let i = 0; i < count; i++) {
      const controller = new AbortController();
      const stream = await client.chat.completions.create(body, { signal: controller.signal, ...scriptHeader({ outputTokens: 5000, chunkDelayMs: 1 }) });
      const iterator = stream[Symbol.asyncIterator]();
      for (let n = 0; n < 100; n++) {
        const step = await iterator.next();
        const chunk = step.value as { choices?: { delta?: { content?: string } }[] } | undefined;
        chars += chunk?.choices?.[0]?.delta?.content?.length ?? 0;
      }
      held.push({ iterator, controller });
    }
    return { held, chars };
  };
  const release = async (held: { iterator: AsyncIterator<unknown>; controller: AbortController }[]) => {
    for (const { controller, iterator } of held) {
      controller.abort();
      void iterator.next().catch(() => undefined);
    }
    await new Promise((done) => setTimeout(done, 200));
    await telemetry.flush();
  };
  await release((await hold(20)).held);
  const heldCount = 200;
  const before = await heapAfterGc();
  const { held, chars: receivedChars } = await hold(heldCount);
  const inFlightBytes = ((await heapAfterGc()) - before) / heldCount;
  await release(held);

  const cycle = async (i: number): Promise<void> => {
    const controller = new AbortController();
    const kind = i % 3;
    const stream = await client.chat.completions.create(body, { signal: controller.signal, ...scriptHeader({ outputTokens: kind === 0 ? 5 : 40 }) });
    try {
      let n = 0;
      for await (const _chunk of stream) {
        if (kind === 1 && ++n === 3) break;
        if (kind === 2 && ++n === 3) {
          controller.abort();
          break;
        }
      }
    } catch {
      // cancelled
    }
  };
  const run = async (count: number) => {
    for (let i = 0; i < count; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => cycle(i + j)));
    await telemetry.flush();
  };
  await run(2000);
  const warm = await heapAfterGc();
  await run(total);
  const after = await heapAfterGc();
  process.stdout.write(
    JSON.stringify({
      inFlightBytesPerStream: inFlightBytes,
      receivedCharsPerStream: receivedChars / heldCount,
      heapGrowthBytes: after - warm,
      streams: total,
      heapAfterBytes: after,
    }) + '\n',
  );
}

async function main(): Promise<void> {
  if (mode === 'overhead') {
    const [provider = 'openai', baseURL = '', chunks = '20000', warm = '4000', paceUs = '250'] = rest;
    await overhead(provider, baseURL, Number(chunks), Number(warm), Number(paceUs));
  } else if (mode === 'create') {
    const [provider = 'openai', baseURL = '', requests = '5000'] = rest;
    await createCost(provider, baseURL, Number(requests));
  } else if (mode === 'stall') await stall(rest[0] ?? '');
  else if (mode === 'memory') await memory(rest[0] ?? '', Number(rest[1] ?? '20000'));
  else if (mode === 'latency') await latency(rest[0] ?? '', Number(rest[1] ?? '0'));
  else if (mode === 'warmup') await warmup();
  else throw new Error(`unknown mode ${mode}`);
  process.exit(0);
}

void main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
