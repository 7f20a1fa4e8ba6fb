/**
 * Exact counting by the providers (`exactCounting: 'provider'`): a request whose usage never
 * arrived is counted, after it ended, through the provider's own counting endpoint with the
 * user's client (real SDKs, the emulator's `/v1/messages/count_tokens` and
 * `/v1/responses/input_tokens`, which count by the same rules as its reported usage). The
 * figures then equal the emulator's exactly; a completed request that reported usage is
 * never counted; the count request leaves no span, metric or budget charge of its own; and
 * an endpoint that fails, hangs or answers garbage leaves the local estimate in place.
 *
 * The emulator bills no end-of-turn token (real Claude and the Responses API do: the local
 * rules add them, constants.ts), so the instrumentation here models it with those two
 * constants at 0: what is checked is the provider's count.
 */
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, beforeEach, describe, it } from 'node:test';
import { anthropicInputTokens, chatPromptTokens } from '../src/emulator/prompt-tokens.js';
import { responsesInputTokens } from '../src/emulator/openai-responses.js';
import { loadTokenizer, type EmulatorTokenizer } from '../src/emulator/tokenizer.js';
import { context } from '@opentelemetry/api';
import type { CostRecord } from '../src/core/model.js';
import { ProviderCountScheduler } from '../src/core/provider-count.js';
import { countTexts } from '../src/core/tokenizer.js';
import { LLMCostInstrumentation, type LLMCostInstrumentationConfig } from '../src/index.js';
import { useHarness } from './helpers/harness.js';
import { attr, onlySpan, script } from './helpers/spans.js';

const costs: CostRecord[] = [];
const config = {
  exactCounting: 'provider' as const,
  // Generous: a loaded machine must not turn a count into a timeout (the hang test sets its own).
  providerCountLimits: { timeoutMs: 30_000, maxConcurrent: 4, maxPerMinute: 1000 },
  estimatorConstants: { 'anthropic.output.per_response': 0, 'openai.output.responses.message_end': 0 },
  // The Anthropic SDK's own spans are kept, to see that the count request makes none.
  anthropicNativeSpans: 'keep' as const,
  defaultBudget: { maxUsd: 1000 },
  onCost: (record: CostRecord) => costs.push(record),
};
const harness = useHarness(config);
const { otel } = harness;

/** What a count endpoint behind the proxy does: pass to the emulator, or misbehave. */
type Mode = 'pass' | 'error' | 'hang' | 'garbage-string' | 'garbage-negative' | 'garbage-huge' | 'garbage-html' | 'garbage-fraction';

let tokenizer: EmulatorTokenizer;
let proxy: Server;
let proxyURL: string;
let mode: Mode = 'pass';
let countRequests: string[] = [];
const hanging = new Set<() => void>();

const COUNT_PATHS = new Set(['/v1/messages/count_tokens', '/v1/responses/input_tokens']);

/** Forwards to the emulator; answers the count endpoints as `mode` says. */
function startProxy(target: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://proxy').pathname;
    if (COUNT_PATHS.has(path)) {
      countRequests.push(path);
      if (mode === 'error') return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"type":"api_error","message":"boom"}}');
      if (mode === 'hang') return void hanging.add(() => res.destroy());
      const garbage: Partial<Record<Mode, string>> = {
        'garbage-string': '{"input_tokens":"lots"}',
        'garbage-negative': '{"input_tokens":-5}',
        'garbage-huge': '{"input_tokens":1e12}',
        'garbage-fraction': '{"input_tokens":12.5}',
        'garbage-html': '<html>bad gateway</html>',
      };
      const body = garbage[mode];
      if (body !== undefined) return void res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    }
    const upstream = httpRequest(`${target}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let openai: InstanceType<typeof otel.OpenAI>;
let anthropic: InstanceType<typeof otel.Anthropic>;

harness.setup(async () => {
  tokenizer = await loadTokenizer();
  // The local tokenizer worker loads o200k on first use (seconds under load): before any test.
  await countTexts('o200k_base', ['warm up']);
  proxy = await startProxy(harness.emulator.url);
  proxyURL = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  openai = harness.openai({ baseURL: `${proxyURL}/v1` });
  anthropic = harness.anthropic({ baseURL: proxyURL });
});
after(async () => {
  for (const release of hanging) release();
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
});
beforeEach(() => {
  mode = 'pass';
  countRequests = [];
  costs.length = 0;
});

// Opens with a line break after punctuation: Claude's local estimate adds a token for it
// (providers/anthropic/line-breaks.ts), which a provider's count of the text already holds.
const TEXT = 'Fine:\n\nThe quick brown fox jumps over the lazy dog, and then it naps in the warm afternoon sun';
const messages = [
  { role: 'system' as const, content: 'You answer in one sentence.' },
  { role: 'user' as const, content: 'Tell me about the fox.' },
];

/** Reads `chunks` content chunks of a stream, then breaks; returns the text received. */
async function readThenBreak<T>(stream: AsyncIterable<T>, chunks: number, text: (chunk: T) => string | undefined): Promise<string> {
  let received = '';
  let seen = 0;
  for await (const chunk of stream) {
    const piece = text(chunk);
    if (piece === undefined) continue;
    received += piece;
    if (++seen === chunks) break;
  }
  return received;
}

describe('exact counting through the provider, against the emulator', () => {
  it('chat stream broken mid-way: input and output are the emulator’s counts, marked provider_count', async () => {
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, script({ text: TEXT }));
    const received = await readThenBreak(stream, 5, (chunk) => chunk.choices[0]?.delta?.content ?? undefined);
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'broken');
    assert.equal(attr(span, 'llm_cost.estimate.method'), 'provider_count');
    assert.equal(attr(span, 'llm_cost.usage.input_tokens.source'), 'estimated');
    assert.equal(attr(span, 'gen_ai.usage.input_tokens'), chatPromptTokens(tokenizer, messages));
    assert.equal(attr(span, 'gen_ai.usage.output_tokens'), tokenizer.count(received));
    assert.equal(attr(span, 'llm_cost.estimate.calibration'), undefined, 'no local factor was applied');
    assert.deepEqual(countRequests.sort(), ['/v1/responses/input_tokens', '/v1/responses/input_tokens', '/v1/responses/input_tokens']);
  });

  it('Responses stream broken mid-way: input and output are the emulator’s counts', async () => {
    const body = { model: 'gpt-4o-mini', instructions: 'Be brief.', input: 'Tell me about the fox.', stream: true as const };
    const stream = await openai.responses.create(body, script({ text: TEXT }));
    const received = await readThenBreak(stream, 5, (event) => (event.type === 'response.output_text.delta' ? event.delta : undefined));
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.estimate.method'), 'provider_count');
    assert.equal(attr(span, 'gen_ai.usage.input_tokens'), responsesInputTokens(tokenizer, body));
    assert.equal(attr(span, 'gen_ai.usage.output_tokens'), tokenizer.count(received));
  });

  it('Anthropic stream broken mid-way: input stays message_start’s, the output is the emulator’s count', async () => {
    const body = { model: 'claude-sonnet-4-5', max_tokens: 200, system: 'You answer in one sentence.', messages: [messages[1]!] };
    // A completed request first: the budget's total before the cut one.
    await anthropic.messages.create(body, script({ text: 'Fine.' }));
    await otel.settle();
    const spentBefore = costs[0]!.budget!.spentUsd;
    otel.reset();
    costs.length = 0;
    const stream = await anthropic.messages.create({ ...body, stream: true }, script({ text: TEXT }));
    const received = await readThenBreak(stream, 5, (event) =>
      event.type === 'content_block_delta' && event.delta.type === 'text_delta' ? event.delta.text : undefined,
    );
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.usage.input_tokens.source'), 'reported');
    assert.equal(attr(span, 'gen_ai.usage.input_tokens'), anthropicInputTokens(tokenizer, body));
    assert.equal(attr(span, 'llm_cost.estimate.method'), 'provider_count');
    assert.equal(attr(span, 'gen_ai.usage.output_tokens'), tokenizer.count(received.trimEnd()) + (received.length > received.trimEnd().length ? 1 : 0));
    // Only the output was counted (the text and the probe): the input was reported.
    assert.equal(countRequests.length, 2);
    // The count requests made no span (the SDK's own count_tokens span included) and no charge.
    const names = otel.allSpans().map((s) => s.name);
    assert.ok(names.includes('anthropic.messages.create'), `the SDK's own spans are recorded here: ${names.join(', ')}`);
    assert.deepEqual(
      otel
        .allSpans()
        .map((s) => s.name)
        .filter((name) => name.includes('count')),
      [],
    );
    assert.equal(costs.length, 1);
    const cost = costs[0]!;
    assert.ok(cost.cost.source !== 'unpriced');
    assert.ok(Math.abs(cost.budget!.spentUsd - spentBefore - cost.cost.totalUsd) < 1e-12, 'the budget was charged this request only');
  });

  it('Anthropic request cancelled before message_start: the input is the emulator’s count', async () => {
    const body = { model: 'claude-sonnet-4-5', max_tokens: 200, messages: [{ role: 'user' as const, content: 'Tell me about the fox, at length.' }] };
    const controller = new AbortController();
    const pending = anthropic.messages.create({ ...body, stream: true }, { ...script({ text: TEXT, firstChunkDelayMs: 5000 }), signal: controller.signal });
    await harness.emulator.waitForRequests(1);
    controller.abort();
    await assert.rejects(pending);
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'cancelled');
    assert.equal(attr(span, 'llm_cost.estimate.method'), 'provider_count');
    assert.equal(attr(span, 'gen_ai.usage.input_tokens'), anthropicInputTokens(tokenizer, body));
    assert.equal(attr(span, 'gen_ai.usage.output_tokens'), 0);
  });

  it('a completed request that reported usage is never counted', async () => {
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages }, script({ text: TEXT }));
    const stream = await anthropic.messages.create(
      { model: 'claude-sonnet-4-5', max_tokens: 100, messages: [messages[1]!], stream: true },
      script({ text: TEXT }),
    );
    for await (const _ of stream) void _;
    const spans = await otel.settle(2);
    for (const span of spans) {
      assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'reported');
      assert.equal(attr(span, 'llm_cost.estimate.method'), undefined);
    }
    assert.deepEqual(countRequests, []);
  });
});

describe('a count endpoint that misbehaves leaves the local estimate', () => {
  const cut = async (): Promise<void> => {
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, script({ text: TEXT }));
    await readThenBreak(stream, 5, (chunk) => chunk.choices[0]?.delta?.content ?? undefined);
  };

  for (const misbehaviour of ['error', 'hang', 'garbage-string', 'garbage-negative', 'garbage-huge', 'garbage-html', 'garbage-fraction'] as const) {
    it(`${misbehaviour}: local, estimated, span ended once`, async () => {
      mode = misbehaviour;
      // A hang is cut short by the timeout (a new limit takes effect for the next count).
      if (misbehaviour === 'hang') otel.instrumentation.setConfig({ ...config, providerCountLimits: { ...config.providerCountLimits, timeoutMs: 200 } });
      try {
        await cut();
        await otel.settle();
      } finally {
        otel.instrumentation.setConfig(config);
      }
      const span = onlySpan(otel.spans());
      assert.equal(attr(span, 'llm_cost.stream.outcome'), 'broken');
      assert.equal(attr(span, 'llm_cost.estimate.method'), 'local');
      // The local rules' factor was applied: nothing of the endpoint's answer was taken.
      assert.equal(attr(span, 'llm_cost.estimate.calibration'), 1);
      assert.equal(attr(span, 'llm_cost.usage.input_tokens.source'), 'estimated');
      assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
      assert.ok((attr(span, 'gen_ai.usage.input_tokens') as number) > 0);
      assert.ok((attr(span, 'gen_ai.usage.output_tokens') as number) > 0);
      assert.ok(countRequests.length > 0, 'the endpoint was asked');
      assert.equal(costs.length, 1);
    });
  }
});

describe('ProviderCountScheduler: bounded on every side', () => {
  /** A count the test finishes by hand. */
  const controlled = () => {
    let finish!: (counts: { input?: number; outputText?: number }) => void;
    let fail!: (error: Error) => void;
    let aborted = false;
    const task = (signal: AbortSignal) => {
      signal.addEventListener('abort', () => (aborted = true));
      return new Promise<{ input?: number; outputText?: number }>((resolve, reject) => {
        finish = resolve;
        fail = reject;
      });
    };
    return { task, finish: (c: { input?: number; outputText?: number }) => finish(c), fail: (e: Error) => fail(e), aborted: () => aborted };
  };

  it('passes valid counts through, keeps the valid half of a mixed answer, and drops garbage', async () => {
    const scheduler = new ProviderCountScheduler({ timeoutMs: 1000, maxConcurrent: 4, maxPerMinute: 100 });
    assert.deepEqual(await scheduler.count(async () => ({ input: 12, outputText: 3 })), { input: 12, outputText: 3 });
    assert.deepEqual(await scheduler.count(async () => ({ input: -1, outputText: 3 })), { outputText: 3 });
    for (const garbage of [{ input: Number.NaN }, { input: 1.5 }, { input: 1e12 }, {}, null, 'twelve', 12] as unknown[]) {
      assert.equal(await scheduler.count(async () => garbage as { input?: number }), undefined, JSON.stringify(garbage));
    }
  });

  it('never rejects: a rejected count, a count that throws at once, a throwing diagnostic hook', async () => {
    const skips: string[] = [];
    const scheduler = new ProviderCountScheduler({ timeoutMs: 1000, maxConcurrent: 4, maxPerMinute: 100 }, Date.now, (reason) => {
      skips.push(reason);
      throw new Error('a broken hook');
    });
    assert.equal(await scheduler.count(() => Promise.reject(new Error('401'))), undefined);
    assert.equal(
      await scheduler.count(() => {
        throw new Error('sync');
      }),
      undefined,
    );
    assert.deepEqual(skips, ['failed', 'failed']);
  });

  it('gives up on a count that hangs, and aborts it', async () => {
    const skips: string[] = [];
    const scheduler = new ProviderCountScheduler({ timeoutMs: 20, maxConcurrent: 4, maxPerMinute: 100 }, Date.now, (reason) => skips.push(reason));
    const hang = controlled();
    assert.equal(await scheduler.count(hang.task), undefined);
    assert.ok(hang.aborted());
    assert.deepEqual(skips, ['timeout']);
    // Its late answer (or failure) changes nothing and surfaces nowhere.
    hang.fail(new Error('late'));
  });

  it('caps the counts in flight: beyond the cap, the local estimate at once', async () => {
    const skips: string[] = [];
    const scheduler = new ProviderCountScheduler({ timeoutMs: 10_000, maxConcurrent: 2, maxPerMinute: 100 }, Date.now, (reason) => skips.push(reason));
    const first = controlled();
    const second = controlled();
    const pending = [scheduler.count(first.task), scheduler.count(second.task)];
    assert.equal(await scheduler.count(async () => ({ input: 1 })), undefined);
    assert.deepEqual(skips, ['concurrency']);
    first.finish({ input: 5 });
    second.finish({ input: 6 });
    assert.deepEqual(await Promise.all(pending), [{ input: 5 }, { input: 6 }]);
    // A slot freed is used again.
    assert.deepEqual(await scheduler.count(async () => ({ input: 7 })), { input: 7 });
  });

  it('caps the counts per minute, on a sliding window', async () => {
    let now = 1_000_000;
    const skips: string[] = [];
    const scheduler = new ProviderCountScheduler(
      { timeoutMs: 1000, maxConcurrent: 10, maxPerMinute: 3 },
      () => now,
      (reason) => skips.push(reason),
    );
    const ok = async () => ({ input: 1 });
    for (let i = 0; i < 3; i++) assert.deepEqual(await scheduler.count(ok), { input: 1 });
    assert.equal(await scheduler.count(ok), undefined);
    now += 59_999;
    assert.equal(await scheduler.count(ok), undefined);
    now += 1;
    assert.deepEqual(await scheduler.count(ok), { input: 1 });
    assert.deepEqual(skips, ['rate', 'rate']);
  });

  it('runs the count with tracing suppressed', async () => {
    const scheduler = new ProviderCountScheduler();
    let suppressed: unknown;
    await scheduler.count(async () => {
      suppressed = context.active().getValue(Symbol.for('OpenTelemetry SDK Context Key SUPPRESS_TRACING'));
      return { input: 1 };
    });
    assert.equal(suppressed, true);
  });
});

describe('exactCounting configuration', () => {
  it('refuses what it cannot mean, before anything is patched', () => {
    const make = (extra: object) => () => new LLMCostInstrumentation(extra as LLMCostInstrumentationConfig);
    assert.throws(make({ exactCounting: 'yes' }), TypeError);
    assert.throws(make({ providerCountLimits: 5 }), TypeError);
    assert.throws(make({ providerCountLimits: { timeoutMs: -1 } }), RangeError);
    assert.throws(make({ providerCountLimits: { maxConcurrent: 1.5 } }), RangeError);
    assert.throws(make({ providerCountLimits: { maxPerMinute: 0 } }), RangeError);
  });
});
