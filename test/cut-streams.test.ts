/**
 * Cut streams count everything the consumer received: a fast stream's events arrive in one
 * network read, and after an abort the SDK still hands the already-decoded ones to the
 * loop. And a stream nobody reads is collected, ends as `abandoned` and closes its
 * connection, rather than downloading (and paying for) the whole answer unseen.
 */
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { useHarness } from './helpers/harness.js';
import { attr, onlySpan, script } from './helpers/spans.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const harness = useHarness({ abandonedTimeoutMs: 600_000 });
const { otel } = harness;
let openai: InstanceType<typeof otel.OpenAI>;
let anthropic: InstanceType<typeof otel.Anthropic>;
const messages = [{ role: 'user' as const, content: 'Tell me a story.' }];

harness.setup(() => {
  openai = harness.openai();
  anthropic = harness.anthropic();
});

/** Never settles before `ms`; a stand-in for a read that will not come back. */
const stuckAfter = (ms: number) => new Promise<'stuck'>((resolve) => setTimeout(() => resolve('stuck'), ms).unref());

/**
 * Reads `stream`, aborting after `abortAt` chunks, and counts what the loop still receives.
 * When the body spans several network reads, the SDK's read after the buffered chunks can
 * hang after an abort (openai 6 on Node 20, without this package too): the loop gives up on
 * a read that has not come back in 10 s, by which time every buffered chunk has arrived.
 */
async function readAndAbort(stream: AsyncIterable<unknown>, abortAt: number, abort: () => void): Promise<{ received: number }> {
  let received = 0;
  const iterator = stream[Symbol.asyncIterator]();
  for (;;) {
    const step = await Promise.race([iterator.next(), stuckAfter(10_000)]);
    if (step === 'stuck' || step.done) break;
    received++;
    if (received === abortAt) abort();
  }
  return { received };
}

describe('a fast stream cut by an abort counts every chunk the consumer received', () => {
  const burst = script({ outputTokens: 400, burst: true });

  it('openai chat, stream.controller.abort()', async () => {
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, burst);
    const { received } = await readAndAbort(stream, 3, () => stream.controller.abort());
    const span = onlySpan(await otel.settle());
    assert.ok(received > 20, `the loop received the buffered chunks after the abort (${received})`);
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'cancelled');
    assert.equal(attr(span, 'llm_cost.stream.chunks'), received);
    // Each chunk carries at least one token: the estimate covers what the loop received.
    assert.ok(
      (attr(span, 'gen_ai.usage.output_tokens') as number) >= received - 2,
      `output ${attr(span, 'gen_ai.usage.output_tokens')} for ${received} chunks`,
    );
  });

  it('openai chat, the caller’s AbortSignal', async () => {
    const controller = new AbortController();
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, { ...burst, signal: controller.signal });
    const { received } = await readAndAbort(stream, 3, () => controller.abort());
    const span = onlySpan(await otel.settle());
    assert.ok(received > 20, `received ${received}`);
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'cancelled');
    assert.equal(attr(span, 'llm_cost.stream.chunks'), received);
  });

  it('anthropic messages, stream.controller.abort()', async () => {
    const stream = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 2000, messages, stream: true }, burst);
    const { received } = await readAndAbort(stream, 3, () => stream.controller.abort());
    const span = onlySpan(await otel.settle());
    assert.ok(received > 20, `received ${received}`);
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'cancelled');
    assert.equal(attr(span, 'llm_cost.stream.chunks'), received);
    assert.ok((attr(span, 'gen_ai.usage.output_tokens') as number) >= received - 10);
  });

  it('a consumer that stops reading after the abort still gets its span, with what it read', async () => {
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, burst);
    const iterator = stream[Symbol.asyncIterator]();
    for (let i = 0; i < 5; i++) await iterator.next();
    stream.controller.abort();
    // No more reads and no return(): the request ends once the abort's grace period passes.
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'cancelled');
    assert.equal(attr(span, 'llm_cost.stream.chunks'), 5);
  });
});

describe('a stream nobody reads', () => {
  it('is collected: it ends as abandoned and its connection is closed', async () => {
    const create = async () => {
      // Never iterated, never kept: only this package could keep it alive.
      await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, script({ outputTokens: 5000, chunkDelayMs: 2 }));
    };
    await create();
    let spans = otel.spans();
    for (let round = 0; round < 200 && spans.length === 0; round++) {
      gc();
      await nextTurn();
      await otel.instrumentation.flush();
      spans = otel.spans();
    }
    const span = onlySpan(spans);
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'abandoned');
    assert.equal(attr(span, 'llm_cost.usage.input_tokens.source'), 'estimated');
    // The emulator saw the client go away long before the 5,000 tokens were sent.
    for (let wait = 0; wait < 100 && harness.emulator.requests[0]?.outcome === undefined; wait++) await new Promise((r) => setTimeout(r, 20));
    const served = harness.emulator.requests[0];
    assert.ok(served, 'the request reached the emulator');
    assert.equal(served.clientClosedEarly, true, `connection closed early (${JSON.stringify(served)})`);
  });
});

describe('a stream nobody reads counts what had arrived when it ends', () => {
  /** Creates a stream nobody keeps, waits until the emulator is done with it, and collects it. */
  async function collected(create: () => Promise<void>) {
    await create();
    for (let wait = 0; wait < 200 && harness.emulator.requests[0]?.outcome === undefined; wait++) await new Promise((r) => setTimeout(r, 10));
    // Loopback bytes the in-process emulator wrote reach the client within a few turns.
    for (let turn = 0; turn < 20; turn++) await nextTurn();
    let spans = otel.spans();
    for (let round = 0; round < 200 && spans.length === 0; round++) {
      gc();
      await nextTurn();
      await otel.instrumentation.flush();
      spans = otel.spans();
    }
    return onlySpan(spans);
  }

  it('openai: the whole answer had arrived, usage chunk included: abandoned, with the reported usage', async () => {
    const span = await collected(async () => {
      await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, script({ outputTokens: 300, burst: true }));
    });
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'abandoned');
    assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'reported');
    assert.equal(attr(span, 'gen_ai.usage.output_tokens'), 300);
    assert.equal(attr(span, 'llm_cost.stream.chunks'), 0, 'nothing was handed to the caller');
  });

  it('anthropic: part of the answer had arrived: abandoned, its output estimated from it', async () => {
    const span = await collected(async () => {
      await anthropic.messages.create(
        { model: 'claude-sonnet-4-5', max_tokens: 2000, messages, stream: true },
        script({ outputTokens: 300, burst: true, omitTerminal: true }),
      );
    });
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'abandoned');
    assert.equal(attr(span, 'llm_cost.usage.input_tokens.source'), 'reported');
    assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
    const output = attr(span, 'gen_ai.usage.output_tokens') as number;
    assert.ok(output >= 250, `the 300 tokens received are counted (${output})`);
  });
});
