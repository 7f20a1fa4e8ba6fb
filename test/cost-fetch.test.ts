/**
 * `costFetch()`: provider requests sent with plain `fetch` get the same span, metrics and
 * budgets as through the SDKs, and the caller reads exactly the bytes it would read without
 * the wrapper (ids and timestamps aside, which the emulator draws at random). Real HTTP to the
 * emulator, the real OpenTelemetry SDK; the AI SDK on top of it is in ai-sdk.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BudgetExceededError, costFetch, withBudget } from '../src/index.js';
import { EMULATOR_SCRIPT_HEADER, type EmulatorScript } from '../src/emulator/index.js';
import { sumPoints } from './helpers/otel.js';
import { useHarness } from './helpers/harness.js';
import { readBytes, readText, sameIds, turns } from './helpers/raw-bodies.js';
import { assertCost, attr, onlySpan } from './helpers/spans.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const harness = useHarness({ abandonedTimeoutMs: 600_000 });
const { otel } = harness;
let recorded: ReturnType<typeof costFetch>;
const messages = [{ role: 'user', content: 'Tell me a story.' }];

harness.setup(() => {
  recorded = costFetch(undefined, { baseURLs: [harness.emulator.openaiBaseURL, harness.emulator.anthropicBaseURL] });
});

type Api = 'chat' | 'responses' | 'messages';

function request(api: Api, body: Record<string, unknown>, script: EmulatorScript = {}, init: RequestInit = {}): [string, RequestInit] {
  const url =
    api === 'chat'
      ? `${harness.emulator.openaiBaseURL}/chat/completions`
      : api === 'responses'
        ? `${harness.emulator.openaiBaseURL}/responses`
        : `${harness.emulator.anthropicBaseURL}/v1/messages`;
  const headers = { 'content-type': 'application/json', [EMULATOR_SCRIPT_HEADER]: JSON.stringify(script) };
  return [url, { method: 'POST', headers, body: JSON.stringify(body), ...init }];
}

const chatBody = (extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', messages, stream: true, ...extra });
const bodies: Record<Api, Record<string, unknown>> = {
  chat: chatBody(),
  responses: { model: 'gpt-4o-mini', input: 'Tell me a story.', stream: true },
  messages: { model: 'claude-sonnet-4-5', max_tokens: 1000, messages, stream: true },
};

/** The same request with and without the wrapper: both raw bodies, and the span. */
async function both(api: Api, body: Record<string, unknown>, script: EmulatorScript = {}) {
  const plain = sameIds(await readText((await fetch(...request(api, body, script))).body));
  const wrapped = sameIds(await readText((await recorded(...request(api, body, script))).body));
  const span = onlySpan(await otel.settle());
  return { plain, wrapped, span };
}

const dataFrames = (text: string) => text.split(/\n\n/).filter((frame) => /^data: \{/m.test(frame)).length;

describe('the caller reads the bytes it reads without the wrapper', () => {
  for (const script of [{}, { burst: true }, { outputTokens: 60, chunkDelayMs: 1 }] as EmulatorScript[]) {
    it(`chat stream, no usage asked for: asked for, and hidden exactly (${JSON.stringify(script)})`, async () => {
      const { plain, wrapped, span } = await both('chat', chatBody(), script);
      assert.equal(wrapped, plain);
      assert.ok(!plain.includes('"usage"'), 'the server sends no usage without the option');
      // The wrapper did ask: the emulator saw the option, and its answer carried usage.
      const sent = harness.emulator.requests[1]!.body as { stream_options?: unknown };
      assert.deepEqual(sent.stream_options, { include_usage: true });
      const withOption = sameIds(await readText((await fetch(...request('chat', chatBody({ stream_options: { include_usage: true } }), script))).body));
      assert.notEqual(withOption, plain, 'with the option the body differs: there was something to hide');
      assertCost(span, { outcome: 'completed', input: 'reported', output: 'reported' });
      assert.equal(attr(span, 'llm_cost.stream.chunks'), dataFrames(plain));
    });
  }

  it('chat stream that asks for usage itself: sent as it is, usage chunk and all', async () => {
    const body = chatBody({ stream_options: { include_usage: true } });
    const { plain, wrapped, span } = await both('chat', body);
    assert.equal(wrapped, plain);
    assert.match(plain, /"choices":\[\],"usage":\{/);
    assertCost(span, { outcome: 'completed', input: 'reported', output: 'reported' });
  });

  for (const api of ['responses', 'messages'] as const) {
    it(`${api} stream`, async () => {
      const { plain, wrapped, span } = await both(api, bodies[api], { burst: true });
      assert.equal(wrapped, plain);
      assertCost(span, { outcome: 'completed', input: 'reported', output: 'reported' });
    });
  }

  for (const api of ['chat', 'responses', 'messages'] as const) {
    it(`${api}, not streamed: the JSON body`, async () => {
      const body = { ...bodies[api], stream: false };
      const { plain, wrapped, span } = await both(api, body);
      assert.equal(wrapped, plain);
      assert.equal(attr(span, 'gen_ai.request.stream'), false);
      assertCost(span, { outcome: 'completed', input: 'reported', output: 'reported' });
    });
  }

  it('the Response keeps status, headers, url and type', async () => {
    const plain = await fetch(...request('chat', chatBody()));
    const wrapped = await recorded(...request('chat', chatBody()));
    for (const key of ['status', 'statusText', 'ok', 'url', 'redirected', 'type'] as const) assert.equal(wrapped[key], plain[key], key);
    assert.equal(wrapped.headers.get('content-type'), plain.headers.get('content-type'));
    assert.ok(wrapped instanceof Response);
    await Promise.all([plain.text(), wrapped.text()]);
    await otel.settle();
  });
});

describe('outcomes', () => {
  const long: EmulatorScript = { outputTokens: 2000, chunkDelayMs: 2 };

  it('the caller cancels the body: broken, estimated from what it read; the connection closes', async () => {
    const response = await recorded(...request('chat', chatBody(), long));
    const reader = response.body!.getReader();
    for (let i = 0; i < 5; i++) await reader.read();
    await reader.cancel();
    const span = onlySpan(await otel.settle());
    assertCost(span, { outcome: 'broken', input: 'estimated', output: 'estimated' });
    assert.ok((attr(span, 'llm_cost.stream.chunks') as number) >= 1);
    await emulatorDone();
    assert.equal(harness.emulator.requests[0]!.clientClosedEarly, true);
  });

  it('the caller aborts: cancelled, and its read fails as without the wrapper', async () => {
    const failures: string[] = [];
    for (const send of [fetch, recorded]) {
      const controller = new AbortController();
      const response = await send(...request('messages', bodies.messages, long, { signal: controller.signal }));
      const reader = response.body!.getReader();
      for (let i = 0; i < 5; i++) await reader.read();
      controller.abort();
      failures.push(
        await reader.read().then(
          () => 'no error',
          (error: Error) => error.name,
        ),
      );
    }
    assert.deepEqual(failures, ['AbortError', 'AbortError']);
    const span = onlySpan(await otel.settle());
    assertCost(span, { outcome: 'cancelled', input: 'reported', output: 'estimated' });
  });

  it('the caller aborts before the headers: the fetch rejects as it would, cancelled', async () => {
    const controller = new AbortController();
    const pending = recorded(...request('chat', chatBody(), { firstChunkDelayMs: 5000 }, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(pending, { name: 'AbortError' });
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'cancelled');
  });

  it('the connection drops mid-stream: error, and the caller gets the same error', async () => {
    const failures: string[] = [];
    for (const send of [fetch, recorded]) {
      const response = await send(...request('chat', chatBody(), { outputTokens: 200, dropAfterChunks: 5 }));
      failures.push(
        await readBytes(response.body).then(
          () => 'no error',
          (error: Error) => `${error.name}: ${error.message}`,
        ),
      );
    }
    assert.equal(failures[1], failures[0]);
    const span = onlySpan(await otel.settle());
    assertCost(span, { outcome: 'error', input: 'estimated', output: 'estimated' });
  });

  it('an error event inside the stream: error', async () => {
    for (const api of ['chat', 'messages', 'responses'] as const) {
      otel.reset();
      const { plain, wrapped, span } = await both(api, bodies[api], { outputTokens: 200, errorAfterChunks: 4 });
      assert.equal(wrapped, plain);
      assert.equal(attr(span, 'llm_cost.stream.outcome'), 'error', api);
      assert.equal(attr(span, 'error.type'), 'APIError', api);
    }
  });

  it('an error status: error named as the SDKs name it; the caller reads the body unchanged', async () => {
    const { plain, wrapped, span } = await both('chat', chatBody(), { status: 429 });
    assert.equal(wrapped, plain);
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'error');
    assert.equal(attr(span, 'error.type'), 'RateLimitError');
  });

  it('a stream without its terminal event: truncated', async () => {
    const { plain, wrapped, span } = await both('messages', bodies.messages, { omitTerminal: true });
    assert.equal(wrapped, plain);
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'truncated');
  });

  it('a connection refused: the fetch rejects as it would, error', async () => {
    const url = 'http://127.0.0.1:9/v1/chat/completions';
    const wrapper = costFetch(undefined, { baseURLs: ['http://127.0.0.1:9/v1'] });
    const init = { method: 'POST', body: JSON.stringify(chatBody()) };
    const plain = await fetch(url, init).then(
      () => 'ok',
      (error: Error) => error.message,
    );
    await assert.rejects(wrapper(url, init), (error: Error) => error.message === plain);
    assert.equal(attr(onlySpan(await otel.settle()), 'llm_cost.stream.outcome'), 'error');
  });
});

describe('budgets', () => {
  it('a budget stops the stream: the body is cancelled and the caller reads BudgetExceededError', async () => {
    let failure: unknown;
    let received = 0;
    await withBudget({ name: 'fetch-stream', maxUsd: 0.0002 }, async () => {
      const response = await recorded(...request('messages', bodies.messages, { outputTokens: 3000, chunkDelayMs: 2 }));
      const reader = response.body!.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          received += value.length;
        }
      } catch (error) {
        failure = error;
      }
    });
    assert.ok(failure instanceof BudgetExceededError, `got ${String(failure)}`);
    assert.ok(received > 0);
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'budget_exceeded');
    await emulatorDone();
    assert.equal(harness.emulator.requests[0]!.clientClosedEarly, true, 'the provider saw the client go away');
  });

  it('a budget that clamps the output limit: the body is sent rewritten, as through the SDKs', async () => {
    await withBudget({ name: 'fetch-clamp', maxUsd: 0.001, clampMaxTokens: true }, async () => {
      const response = await recorded(...request('messages', { ...bodies.messages, stream: false }, { outputTokens: 500 }));
      assert.equal(response.status, 200);
      await response.json();
    });
    const sent = harness.emulator.requests[0]!.body as { max_tokens: number; model: string; messages: unknown };
    assert.ok(sent.max_tokens < 1000, `max_tokens lowered to what the budget affords: ${sent.max_tokens}`);
    assert.equal(sent.model, 'claude-sonnet-4-5');
    assert.deepEqual(sent.messages, messages);
    assert.equal(attr(onlySpan(await otel.settle()), 'llm_cost.stream.outcome'), 'completed');
  });

  it('a budget refuses before sending: the fetch rejects with BudgetExceededError, nothing is sent', async () => {
    await withBudget({ name: 'fetch-refused', maxUsd: 0 }, async () => {
      await assert.rejects(recorded(...request('chat', chatBody())), BudgetExceededError);
    });
    assert.equal(harness.emulator.requests.length, 0);
    assert.equal(attr(onlySpan(await otel.settle()), 'llm_cost.stream.outcome'), 'budget_exceeded');
  });
});

describe('one span per request, whichever path sees it first', () => {
  it('an openai client handed costFetch(): the SDK hook records it, the wrapper lets it pass', async () => {
    const client = harness.openai({ fetch: recorded });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
    for await (const _chunk of stream);
    await turns(5);
    assert.equal(onlySpan(await otel.settle()).attributes['llm_cost.stream.outcome'], 'completed');
    const spend = await otel.metricPoints('llm_cost.spend');
    assert.ok(sumPoints(spend) > 0);
  });

  it('an Anthropic client handed costFetch()', async () => {
    const client = harness.anthropic({ fetch: recorded });
    await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    await turns(5);
    onlySpan(await otel.settle());
  });

  it('costFetch(costFetch()): the outer one records', async () => {
    const nested = costFetch(recorded, { baseURLs: [harness.emulator.openaiBaseURL] });
    await readBytes((await nested(...request('chat', chatBody()))).body);
    await turns(5);
    const span = onlySpan(await otel.settle());
    // The outer wrapper's inner fetch is not the runtime's own: nothing injected, usage estimated.
    assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
  });

  it('instrumentGlobalFetch: plain fetch is recorded, an SDK client on the global fetch once', async () => {
    const config = otel.instrumentation.getConfig();
    const before = globalThis.fetch;
    otel.instrumentation.setConfig({ ...config, instrumentGlobalFetch: true, fetchBaseURLs: [harness.emulator.openaiBaseURL] });
    try {
      assert.notEqual(globalThis.fetch, before);
      const text = await readText((await fetch(...request('chat', chatBody()))).body);
      assert.ok(!text.includes('"usage"'));
      assert.equal(attr(onlySpan(await otel.settle()), 'llm_cost.usage.output_tokens.source'), 'reported');
      otel.reset();
      const client = harness.openai();
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
      for await (const _chunk of stream);
      await turns(5);
      onlySpan(await otel.settle());
    } finally {
      otel.instrumentation.setConfig(config);
    }
    assert.equal(globalThis.fetch, before, 'the global fetch is put back');
  });

  it('a disabled instrumentation: costFetch passes requests through unrecorded', async () => {
    otel.instrumentation.disable();
    try {
      await readBytes((await recorded(...request('chat', chatBody()))).body);
    } finally {
      otel.instrumentation.enable();
    }
    await otel.instrumentation.flush();
    assert.equal(otel.spans().length, 0);
    assert.equal((harness.emulator.requests[0]!.body as { stream_options?: unknown }).stream_options, undefined);
  });
});

describe('requests it cannot read are sent untouched', () => {
  it('a URL that is no provider API, a GET, a streamed body: no span', async () => {
    const [url, init] = request('chat', chatBody());
    await readBytes((await recorded(`${harness.emulator.openaiBaseURL}/embeddings`, { ...init, body: JSON.stringify({ model: 'x', input: 'y' }) })).body);
    await readBytes((await recorded(`${harness.emulator.openaiBaseURL}/models`)).body);
    const streamed = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(init.body as string));
        controller.close();
      },
    });
    await readBytes((await recorded(url, { ...init, body: streamed, duplex: 'half' } as RequestInit)).body);
    await otel.instrumentation.flush();
    assert.equal(otel.spans().length, 0);
    assert.deepEqual((harness.emulator.requests[2]!.body as { stream_options?: unknown }).stream_options, undefined);
  });

  it('a Uint8Array body is read, and the option added keeps it bytes', async () => {
    const [url, init] = request('chat', chatBody());
    const response = await recorded(url, { ...init, body: new TextEncoder().encode(init.body as string) });
    assert.ok(!(await response.text()).includes('"usage"'));
    assertCost(onlySpan(await otel.settle()), { outcome: 'completed', input: 'reported', output: 'reported' });
    assert.deepEqual((harness.emulator.requests[0]!.body as { stream_options?: unknown }).stream_options, { include_usage: true });
  });

  it('a Request object: recorded, its body sent as it was (nothing injected: usage estimated)', async () => {
    const [url, init] = request('chat', chatBody());
    const response = await recorded(new Request(url, init));
    assert.ok(!(await response.text()).includes('"usage"'));
    assertCost(onlySpan(await otel.settle()), { outcome: 'completed', input: 'estimated', output: 'estimated' });
    assert.equal((harness.emulator.requests[0]!.body as { stream_options?: unknown }).stream_options, undefined);
  });

  it('a caller-set Content-Length: the body is not changed', async () => {
    const [url, init] = request('chat', chatBody());
    const headers = { ...(init.headers as Record<string, string>), 'content-length': String(Buffer.byteLength(init.body as string)) };
    await readBytes((await recorded(url, { ...init, headers })).body);
    await otel.settle();
    assert.equal((harness.emulator.requests[0]!.body as { stream_options?: unknown }).stream_options, undefined);
  });

  it('a body that is not JSON, a server that answers with a broken stream: no error reaches the caller', async () => {
    const [url, init] = request('chat', chatBody());
    const notJson = await recorded(url, { ...init, body: '{"model": ' });
    await notJson.text();
    harness.emulator.addRecording('hostile', {
      provider: 'openai',
      api: 'chat.completions',
      stream: true,
      events: ['not json', { choices: 'nope' }, null, [1]],
    });
    const plain = sameIds(await readText((await fetch(...request('chat', chatBody(), { replay: 'hostile' }))).body));
    const wrapped = sameIds(await readText((await recorded(...request('chat', chatBody(), { replay: 'hostile' }))).body));
    assert.equal(wrapped, plain);
    await otel.instrumentation.flush();
  });
});

describe('hostile servers', () => {
  it('a server that reports absurd usage: rejected and estimated, as through the SDKs', async () => {
    const chunk = (extra: Record<string, unknown>) => ({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', ...extra });
    harness.emulator.addRecording('liar', {
      provider: 'openai',
      api: 'chat.completions',
      stream: true,
      events: [
        chunk({ choices: [{ index: 0, delta: { content: 'Hello there' }, finish_reason: null }] }),
        chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
        chunk({ choices: [], usage: { prompt_tokens: 1e308, completion_tokens: 10.5, total_tokens: 1e308 } }),
      ],
    });
    const body = chatBody({ stream_options: { include_usage: true } });
    const { plain, wrapped, span } = await both('chat', body, { replay: 'liar' });
    assert.equal(wrapped, plain);
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'completed');
    assert.equal(attr(span, 'llm_cost.usage.input_tokens.source'), 'estimated');
    assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
    assert.ok((attr(span, 'llm_cost.cost.usd') as number) < 0.01);
  });

  it('one event split over many reads, and a huge event: the same bytes, counted', async () => {
    const long = 'word '.repeat(60_000);
    harness.emulator.addRecording('huge', {
      provider: 'anthropic',
      api: 'messages',
      stream: true,
      events: [
        { type: 'message_start', message: { id: 'msg_1', model: 'claude-sonnet-4-5', usage: { input_tokens: 5, output_tokens: 1 } } },
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: long } },
        { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 40000 } },
        { type: 'message_stop' },
      ],
    });
    const { plain, wrapped, span } = await both('messages', bodies.messages, { replay: 'huge' });
    assert.equal(wrapped, plain);
    assertCost(span, { outcome: 'completed', input: 'reported', output: 'reported' });
    assert.equal(attr(span, 'gen_ai.usage.output_tokens'), 40000);
  });
});

describe('a body nobody reads', () => {
  /** Sends a request whose response nobody keeps, waits until `arrived` says enough was sent, then collects it. */
  async function dropped(script: EmulatorScript, arrived: () => boolean) {
    const send = async () => {
      const response = await recorded(...request('messages', bodies.messages, script));
      assert.equal(response.status, 200);
    };
    await send();
    for (let wait = 0; wait < 500 && !arrived(); wait++) await new Promise((r) => setTimeout(r, 5));
    // Loopback bytes the in-process emulator wrote reach the client within a few turns.
    await turns(20);
    let spans = otel.spans();
    for (let round = 0; round < 200 && spans.length === 0; round++) {
      gc();
      await turns(1);
      await otel.instrumentation.flush();
      spans = otel.spans();
    }
    return onlySpan(spans);
  }

  it('is collected while streaming: abandoned, the events that had arrived counted, the connection closed', async () => {
    const span = await dropped({ outputTokens: 5000, chunkDelayMs: 3 }, () => (harness.emulator.requests[0]?.chunksSent ?? 0) >= 20);
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'abandoned');
    assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
    assert.ok((attr(span, 'gen_ai.usage.output_tokens') as number) >= 10, `output ${attr(span, 'gen_ai.usage.output_tokens')}`);
    assert.equal(attr(span, 'llm_cost.stream.chunks'), 0, 'no chunk was handed to the caller');
    await emulatorDone();
    assert.equal(harness.emulator.requests[0]!.clientClosedEarly, true);
  });

  it('is collected after the whole answer arrived: abandoned, with the usage the answer carried', async () => {
    const span = await dropped({ outputTokens: 300, burst: true }, () => harness.emulator.requests[0]?.outcome !== undefined);
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'abandoned');
    // The whole answer had arrived, its usage event too: what the provider billed.
    assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'reported');
    assert.equal(attr(span, 'gen_ai.usage.output_tokens'), 300);
    assert.equal(attr(span, 'llm_cost.stream.chunks'), 0, 'no chunk was handed to the caller');
  });
});

async function emulatorDone(): Promise<void> {
  for (let wait = 0; wait < 200 && harness.emulator.requests.some((r) => r.outcome === undefined); wait++) await new Promise((r) => setTimeout(r, 10));
}
