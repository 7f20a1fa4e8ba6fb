/**
 * Fault injection through the real SDKs (openai 6, @anthropic-ai/sdk 1): whatever goes
 * wrong, the consumer sees exactly what the SDK gives without us, no error of ours
 * reaches it, exactly one span ends, and a cost is recorded.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { startEmulator, type EmulatorScript } from '../src/emulator/index.js';
import { useHarness } from './helpers/harness.js';
import { tokenizerWorkerState, useTokenizerWorker } from '../src/core/tokenizer.js';
import { loadFixture } from './helpers/fixtures.js';
import { attr, normalizeChunk, onlySpan, script } from './helpers/spans.js';

const harness = useHarness({ abandonedTimeoutMs: 300 });
const { otel } = harness;
/** Answers every request with one good chunk, then a chunk that is not JSON. */
let malformed: Server;
let malformedURL: string;
const GOOD_CHUNK = {
  openai: {
    id: 'chatcmpl-x',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }],
  },
  anthropic: {
    type: 'message_start',
    message: {
      id: 'msg_x',
      type: 'message',
      role: 'assistant',
      model: 'claude-haiku-4-5',
      content: [],
      stop_reason: null,
      usage: { input_tokens: 9, output_tokens: 1 },
    },
  },
};
harness.setup(async () => {
  // Unknown event types and chunk shapes a future API might send, inside real recordings.
  const anthropic = loadFixture('anthropic-stream-text');
  anthropic.events!.splice(1, 0, { type: 'future_event_kind', payload: { x: 1 } });
  harness.emulator.addRecording('anthropic-unknown-events', anthropic);
  const openai = loadFixture('openai-chat-stream-text');
  openai.events!.splice(1, 0, { id: 'chatcmpl-x', object: 'chat.completion.future', choices: 'not-a-list', usage: 'soon' });
  harness.emulator.addRecording('openai-unknown-events', openai);
  malformed = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const good = request.url?.includes('/messages') ? GOOD_CHUNK.anthropic : GOOD_CHUNK.openai;
    const event = request.url?.includes('/messages') ? 'event: message_start\n' : '';
    response.end(
      `${event}data: ${JSON.stringify(good)}\n\n${request.url?.includes('/messages') ? 'event: content_block_delta\n' : ''}data: {"broken": tru\n\n`,
    );
  });
  await new Promise<void>((resolve) => malformed.listen(0, '127.0.0.1', resolve));
  malformedURL = `http://127.0.0.1:${(malformed.address() as AddressInfo).port}`;
});
after(() => {
  malformed.close();
});

type Provider = 'openai' | 'anthropic';
interface Seen {
  chunks: unknown[];
  error: string | undefined;
}

interface Extra {
  signal?: AbortSignal;
  maxRetries?: number;
  baseURL?: string;
  includeUsage?: boolean;
}

function open(provider: Provider, s: EmulatorScript, extra: Extra = {}) {
  const options = { ...script(s), ...(extra.signal ? { signal: extra.signal } : {}) };
  if (provider === 'openai') {
    const client = harness.openai({ baseURL: extra.baseURL ?? harness.emulator.openaiBaseURL, maxRetries: extra.maxRetries ?? 0 });
    return client.chat.completions.create(
      {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Tell me a story.' }],
        stream: true,
        ...(extra.includeUsage ? { stream_options: { include_usage: true } } : {}),
      },
      options,
    );
  }
  const client = harness.anthropic({ baseURL: extra.baseURL ?? harness.emulator.anthropicBaseURL, maxRetries: extra.maxRetries ?? 0 });
  return client.messages.create(
    { model: 'claude-haiku-4-5', max_tokens: 500, messages: [{ role: 'user', content: 'Tell me a story.' }], stream: true },
    options,
  );
}

/** Reads a stream the way a user would, recording what they see. */
async function consume(provider: Provider, s: EmulatorScript, extra: Extra = {}): Promise<Seen> {
  const seen: Seen = { chunks: [], error: undefined };
  try {
    const stream = await open(provider, s, extra);
    for await (const chunk of stream as AsyncIterable<unknown>) seen.chunks.push(normalizeChunk(chunk));
  } catch (error) {
    seen.error = `${(error as object).constructor.name}: ${(error as Error).message}`;
  }
  return seen;
}

/** What the user sees with us equals what they see without us. */
async function sameAsUninstrumented(provider: Provider, s: EmulatorScript, extra: Extra = {}): Promise<Seen> {
  otel.instrumentation.disable();
  const without = await consume(provider, s, extra);
  otel.instrumentation.enable();
  const withUs = await consume(provider, s, extra);
  assert.deepEqual(withUs.error, without.error, 'same error');
  assert.equal(withUs.chunks.length, without.chunks.length, 'same number of chunks');
  assert.deepEqual(withUs.chunks, without.chunks, 'same chunks');
  return withUs;
}

function assertCostRecorded(outcome: string): void {
  const span = onlySpan(otel.spans());
  assert.equal(attr(span, 'llm_cost.stream.outcome'), outcome);
  assert.ok((attr(span, 'gen_ai.usage.input_tokens') as number) >= 0);
  assert.equal(typeof attr(span, 'llm_cost.cost.usd'), 'number', 'a cost');
}

for (const provider of ['openai', 'anthropic'] as const) {
  describe(`${provider}: faults`, () => {
    it('socket dropped at a chunk', async () => {
      const seen = await sameAsUninstrumented(provider, { outputTokens: 40, dropAfterChunks: 7 });
      assert.ok(seen.error);
      await otel.settle();
      assertCostRecorded('error');
    });

    it('an error event mid-stream', async () => {
      const seen = await sameAsUninstrumented(provider, { outputTokens: 40, errorAfterChunks: 3 });
      assert.ok(seen.error);
      await otel.settle();
      assertCostRecorded('error');
    });

    it('stream without its terminal event', async () => {
      await sameAsUninstrumented(provider, { outputTokens: 20, omitTerminal: true });
      await otel.settle();
      assertCostRecorded('truncated');
    });

    for (const status of provider === 'openai' ? [429, 500] : [429, 500, 529]) {
      it(`HTTP ${status} twice, then success through the SDK's own retries: one span`, async () => {
        otel.instrumentation.disable();
        const tag = `retry-${status}-${Math.random()}`;
        const without = await consume(provider, { outputTokens: 5, failTimes: 2, status, errorMessage: tag }, { maxRetries: 2 });
        otel.instrumentation.enable();
        const tag2 = `retry-${status}-${Math.random()}`;
        const before = harness.emulator.requests.length;
        const withUs = await consume(provider, { outputTokens: 5, failTimes: 2, status, errorMessage: tag2 }, { maxRetries: 2 });
        assert.equal(withUs.error, without.error);
        assert.equal(withUs.chunks.length, without.chunks.length);
        assert.equal(harness.emulator.requests.length - before, 3, 'three attempts on the wire');
        await otel.settle();
        assertCostRecorded('completed');
      });
    }

    it('unknown event types and chunk shapes', async () => {
      // The OpenAI recording carries the usage chunk and `usage: null` fields, which the
      // real API sends only when asked: ask, to compare like with like.
      const seen = await sameAsUninstrumented(provider, { replay: `${provider}-unknown-events` }, { includeUsage: true });
      assert.equal(seen.error, undefined);
      await otel.settle();
      assertCostRecorded('completed');
    });

    it('a chunk that is not JSON', async () => {
      const read = async () => {
        const baseURL = provider === 'openai' ? `${malformedURL}/v1` : malformedURL;
        const seen: Seen = { chunks: [], error: undefined };
        try {
          for await (const chunk of (await open(provider, {}, { baseURL })) as AsyncIterable<unknown>) seen.chunks.push(normalizeChunk(chunk));
        } catch (error) {
          seen.error = `${(error as object).constructor.name}: ${(error as Error).message}`;
        }
        return seen;
      };
      otel.instrumentation.disable();
      const without = await read();
      otel.instrumentation.enable();
      const withUs = await read();
      assert.ok(without.error, 'the SDK itself fails on the bad chunk');
      assert.deepEqual(withUs, without);
      await otel.settle();
      assertCostRecorded('error');
    });

    it('the consumer throwing inside its loop gets its own error back', async () => {
      const stream = await open(provider, { outputTokens: 30 });
      const mine = new Error('consumer failure');
      await assert.rejects(
        async () => {
          for await (const _chunk of stream as AsyncIterable<unknown>) throw mine;
        },
        (error) => error === mine,
      );
      await otel.settle();
      assertCostRecorded('broken');
    });

    it('a slow stream', async () => {
      await sameAsUninstrumented(provider, { outputTokens: 5, firstChunkDelayMs: 100, chunkDelayMs: 30 });
      await otel.settle();
      assertCostRecorded('completed');
    });

    it('abort twice, then break', async () => {
      const controller = new AbortController();
      const stream = await open(provider, { outputTokens: 200, chunkDelayMs: 2 }, { signal: controller.signal });
      let error: unknown;
      try {
        for await (const _chunk of stream as AsyncIterable<unknown>) {
          controller.abort();
          controller.abort();
          break;
        }
      } catch (e) {
        error = e;
      }
      assert.equal(error, undefined, 'break after abort is quiet, as in the SDK');
      await otel.settle();
      assertCostRecorded('cancelled');
    });

    it('tee() with one branch abandoned', async () => {
      const stream = (await open(provider, { outputTokens: 20 })) as unknown as { tee(): [AsyncIterable<unknown>, AsyncIterable<unknown>] };
      const [left] = stream.tee();
      let n = 0;
      for await (const _chunk of left) n++;
      assert.ok(n > 0);
      await otel.settle();
      assertCostRecorded('completed');
    });

    it('the server killed mid-stream', async () => {
      const doomed = await startEmulator();
      const stream = await open(
        provider,
        { outputTokens: 500, chunkDelayMs: 3 },
        { baseURL: provider === 'openai' ? doomed.openaiBaseURL : doomed.anthropicBaseURL },
      );
      let n = 0;
      let error: unknown;
      try {
        for await (const _chunk of stream as AsyncIterable<unknown>) if (++n === 5) void doomed.stop();
      } catch (e) {
        error = e;
      }
      assert.ok(error, 'the SDK reports the lost connection');
      await otel.settle();
      const span = onlySpan(otel.spans());
      assert.ok(['error', 'truncated'].includes(attr(span, 'llm_cost.stream.outcome') as string));
      assert.equal(typeof attr(span, 'llm_cost.cost.usd'), 'number');
    });
  });
}

describe('the tokenizer', () => {
  const breakEarly = async () => {
    const stream = await open('openai', { outputTokens: 40 });
    let n = 0;
    for await (const _chunk of stream as AsyncIterable<unknown>) if (++n === 5) break;
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
    assert.ok((attr(span, 'gen_ai.usage.output_tokens') as number) > 0);
    assert.ok((attr(span, 'gen_ai.usage.input_tokens') as number) > 0);
    return span;
  };

  it('estimates run in the worker thread', async () => {
    await breakEarly();
    assert.equal(tokenizerWorkerState(), 'running');
  });

  it('the main-thread fallback gives the same estimates', async () => {
    const inWorker = await breakEarly();
    otel.reset();
    useTokenizerWorker(false);
    try {
      const onMain = await breakEarly();
      assert.equal(attr(onMain, 'gen_ai.usage.input_tokens'), attr(inWorker, 'gen_ai.usage.input_tokens'));
      assert.equal(attr(onMain, 'gen_ai.usage.output_tokens'), attr(inWorker, 'gen_ai.usage.output_tokens'));
    } finally {
      useTokenizerWorker(true);
    }
  });
});
