/**
 * The provider emulator against the REAL `openai` and `@anthropic-ai/sdk` clients, with
 * no instrumentation: wire formats the SDKs accept, usage consistent with the text sent,
 * the failure scripts, and replays of recorded traffic.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import {
  ANTHROPIC_MESSAGE_OVERHEAD,
  EMBEDDING_DIMENSIONS,
  EMULATOR_SCRIPT_HEADER,
  loadTokenizer,
  scriptHeaders,
  type EmulatorScript,
  type EmulatorTokenizer,
} from '../src/emulator/index.js';
import { generateText } from '../src/emulator/text.js';
import { seededRng } from '../src/emulator/random.js';
import { FIXTURE_NAMES, loadFixture, registerFixtures } from './helpers/fixtures.js';
import { useEmulator } from './helpers/harness.js';

const harness = useEmulator();
let openai: OpenAI;
let anthropic: Anthropic;
let tokenizer: EmulatorTokenizer;

const script = (s: EmulatorScript) => scriptHeaders(s);
const chatMessages = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Describe a tide pool.', name: 'kai' },
];
const anthropicBase = {
  model: 'claude-haiku-4-5',
  max_tokens: 1024,
  system: 'You are terse.',
  messages: [{ role: 'user' as const, content: 'Describe a tide pool.' }],
};

/** The cookbook formula the emulator documents, computed independently here. */
function expectedChatPrompt(): number {
  let total = 3;
  for (const m of chatMessages) {
    total += 3 + tokenizer.count(m.role) + tokenizer.count(m.content);
    if ('name' in m && m.name !== undefined) total += 1 + tokenizer.count(m.name);
  }
  return total;
}

function expectedAnthropicInput(): number {
  return tokenizer.count(anthropicBase.system) + anthropicBase.messages.reduce((sum, m) => sum + ANTHROPIC_MESSAGE_OVERHEAD + tokenizer.count(m.content), 0);
}

const lastLog = () => harness.emulator.requests.at(-1)!;

harness.setup(async () => {
  registerFixtures(harness.emulator);
  openai = new OpenAI({ apiKey: 'test', baseURL: harness.emulator.openaiBaseURL, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: 'test', baseURL: harness.emulator.anthropicBaseURL, maxRetries: 0 });
  tokenizer = await loadTokenizer();
});

describe('generated text', () => {
  it('has exactly the requested o200k token count, for many seeds and sizes', () => {
    for (let seed = 1; seed <= 40; seed++) {
      for (const target of [0, 1, 2, 7, 20, 63, 250]) {
        const planned = generateText(tokenizer, seededRng(seed), target, undefined);
        assert.equal(tokenizer.count(planned.text), target, `seed ${seed}, target ${target}: ${planned.text}`);
        assert.equal(planned.tokens, target);
        assert.equal(planned.chunks.map((c) => c.text).join(''), planned.text);
        assert.equal(
          planned.chunks.reduce((sum, c) => sum + c.tokens, 0),
          target,
        );
      }
    }
  });

  it('is reproducible per request, and the same streamed or not', async () => {
    const body = { model: 'gpt-4o-mini', messages: chatMessages };
    const a = await openai.chat.completions.create(body);
    const b = await openai.chat.completions.create(body);
    assert.equal(a.choices[0]!.message.content, b.choices[0]!.message.content);
    const stream = await openai.chat.completions.create({ ...body, stream: true });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
    assert.equal(streamed, a.choices[0]!.message.content);
    const other = await openai.chat.completions.create({ ...body, messages: [{ role: 'user', content: 'Other.' }] });
    assert.notEqual(other.choices[0]!.message.content, a.choices[0]!.message.content);
  });
});

describe('openai chat.completions', () => {
  it('stream without include_usage: role chunk, content, finish, no usage anywhere', async () => {
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: chatMessages, stream: true });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.deepEqual(chunks[0]!.choices[0]!.delta, { role: 'assistant', content: '', refusal: null });
    assert.ok(
      chunks.every((c) => !('usage' in c)),
      'no usage key without include_usage',
    );
    assert.equal(chunks.at(-1)!.choices[0]!.finish_reason, 'stop');
    assert.match(chunks[0]!.id, /^chatcmpl-[A-Za-z0-9]{29}$/);
    assert.equal(chunks[0]!.model, 'gpt-4o-mini-2024-07-18');
    assert.ok(chunks.every((c) => c.id === chunks[0]!.id && c.object === 'chat.completion.chunk'));
    assert.ok(Math.abs(chunks[0]!.created - Date.now() / 1000) < 60, 'created is in seconds');
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    assert.equal(tokenizer.count(text), 20, 'default output length');
    const log = await harness.emulator.waitForRequestEnd(lastLog().id);
    assert.equal(log.completed, true);
    assert.equal(log.outcome, 'completed');
    assert.equal(log.chunksSent, chunks.length - 2);
    assert.equal(log.outputTokensSent, 20);
  });

  it('stream() helper with include_usage: finalChatCompletion() usage matches the text', async () => {
    const runner = openai.chat.completions.stream(
      { model: 'gpt-4o', messages: chatMessages, stream_options: { include_usage: true } },
      script({ outputTokens: 33 }),
    );
    const usageChunks: unknown[] = [];
    runner.on('chunk', (chunk) => {
      if (chunk.choices.length === 0) usageChunks.push(chunk.usage);
      else assert.equal(chunk.usage, null, 'usage: null on every other chunk');
    });
    const final = await runner.finalChatCompletion();
    const text = final.choices[0]!.message.content!;
    assert.equal(usageChunks.length, 1);
    assert.equal(final.model, 'gpt-4o-2024-08-06');
    assert.equal(final.choices[0]!.finish_reason, 'stop');
    assert.equal(final.usage?.completion_tokens, tokenizer.count(text));
    assert.equal(final.usage?.completion_tokens, 33);
    assert.equal(final.usage?.prompt_tokens, expectedChatPrompt());
    assert.equal(final.usage?.total_tokens, final.usage!.prompt_tokens + 33);
    assert.deepEqual(final.usage?.prompt_tokens_details, { cached_tokens: 0, audio_tokens: 0 });
    assert.equal(final.usage?.completion_tokens_details?.reasoning_tokens, 0);
  });

  it('max_tokens / max_completion_tokens cut the text: finish_reason length', async () => {
    for (const limit of [{ max_tokens: 7 }, { max_completion_tokens: 7 }]) {
      const final = await openai.chat.completions
        .stream({ model: 'gpt-4o-mini', messages: chatMessages, stream_options: { include_usage: true }, ...limit }, script({ outputTokens: 50 }))
        .finalChatCompletion();
      assert.equal(final.choices[0]!.finish_reason, 'length');
      assert.equal(final.usage?.completion_tokens, 7);
      assert.equal(tokenizer.count(final.choices[0]!.message.content!), 7);
    }
  });

  it('non-stream: body shape, usage, cache reads and reasoning tokens', async () => {
    const completion = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages: chatMessages },
      script({ outputTokens: 12, cacheReadTokens: 64, reasoningTokens: 9 }),
    );
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.model, 'gpt-4o-mini-2024-07-18');
    assert.match(completion.system_fingerprint ?? '', /^fp_/);
    const text = completion.choices[0]!.message.content!;
    assert.equal(tokenizer.count(text), 12);
    assert.equal(completion.usage?.prompt_tokens, expectedChatPrompt() + 64);
    assert.equal(completion.usage?.prompt_tokens_details?.cached_tokens, 64);
    assert.equal(completion.usage?.completion_tokens, 12 + 9);
    assert.equal(completion.usage?.completion_tokens_details?.reasoning_tokens, 9);
    assert.equal(lastLog().outputTokensSent, 12);
  });

  it('exact scripted text', async () => {
    const text = 'Tide pools hold anemones, crabs and small fish.';
    const completion = await openai.chat.completions.create({ model: 'gpt-4o', messages: chatMessages }, script({ text }));
    assert.equal(completion.choices[0]!.message.content, text);
    assert.equal(completion.usage?.completion_tokens, tokenizer.count(text));
  });

  it('a scripted tool call streams its arguments in pieces', async () => {
    const args = { city: 'Lisbon', days: 3, units: 'metric' };
    const stream = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages: chatMessages, stream: true, stream_options: { include_usage: true } },
      script({ toolCall: { name: 'get_weather', arguments: args } }),
    );
    const argPieces: string[] = [];
    let finish: string | null | undefined;
    let completionTokens: number | undefined;
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) argPieces.push(call.function?.arguments ?? '');
      finish ??= chunk.choices[0]?.finish_reason;
      completionTokens ??= chunk.usage?.completion_tokens;
    }
    assert.ok(argPieces.length > 3, 'arguments arrive in several deltas');
    assert.deepEqual(JSON.parse(argPieces.join('')), args);
    assert.equal(finish, 'tool_calls');
    assert.equal(completionTokens, tokenizer.count('get_weather') + tokenizer.count(JSON.stringify(args)));

    const final = await openai.chat.completions
      .stream({ model: 'gpt-4o-mini', messages: chatMessages }, script({ toolCall: { name: 'get_weather', arguments: args } }))
      .finalChatCompletion();
    const call = final.choices[0]!.message.tool_calls![0]!;
    assert.equal(call.type === 'function' && call.function.name, 'get_weather');
    assert.match(call.id, /^call_/);
  });
});

describe('anthropic messages', () => {
  it('raw stream: event order, placeholder then cumulative usage', async () => {
    const stream = await anthropic.messages.create(
      { ...anthropicBase, stream: true },
      script({ outputTokens: 25, cacheReadTokens: 200, cacheCreationTokens: 100 }),
    );
    const events = [];
    for await (const event of stream) events.push(event);
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(0, 2), ['message_start', 'content_block_start']);
    assert.deepEqual(types.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
    const start = events[0]!;
    assert.ok(start.type === 'message_start');
    assert.match(start.message.id, /^msg_01[1-9A-HJ-NP-Za-km-z]{22}$/);
    assert.equal(start.message.model, 'claude-haiku-4-5-20251001');
    assert.equal(start.message.usage.output_tokens, 1);
    assert.equal(start.message.usage.input_tokens, expectedAnthropicInput());
    assert.equal(start.message.usage.cache_read_input_tokens, 200);
    assert.equal(start.message.usage.cache_creation_input_tokens, 100);
    const text = events.map((e) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : '')).join('');
    const delta = events.at(-2)!;
    assert.ok(delta.type === 'message_delta');
    assert.equal(delta.delta.stop_reason, 'end_turn');
    assert.equal(delta.usage.output_tokens, tokenizer.count(text));
    assert.equal(delta.usage.output_tokens, 25);
    assert.equal(delta.usage.input_tokens, expectedAnthropicInput());
    assert.equal(delta.usage.cache_read_input_tokens, 200);
    assert.ok(harness.emulator.requests.length === 1 && lastLog().provider === 'anthropic');
  });

  it('messages.stream() finalMessage(): usage equals the text, max_tokens honoured', async () => {
    const message = await anthropic.messages.stream(anthropicBase, script({ outputTokens: 18 })).finalMessage();
    const text = message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    assert.equal(message.usage.output_tokens, tokenizer.count(text));
    assert.equal(message.usage.output_tokens, 18);
    assert.equal(message.stop_reason, 'end_turn');

    const cut = await anthropic.messages.stream({ ...anthropicBase, max_tokens: 5 }, script({ outputTokens: 18 })).finalMessage();
    assert.equal(cut.stop_reason, 'max_tokens');
    assert.equal(cut.usage.output_tokens, 5);
  });

  it('thinking, text and tool_use blocks; all count as output', async () => {
    const thinking = 'The user wants weather, so I should call the tool.';
    const text = 'Let me check.';
    const input = { city: 'Porto' };
    const message = await anthropic.messages
      .stream(anthropicBase, script({ thinking, text, toolCall: { name: 'get_weather', arguments: input } }))
      .finalMessage();
    assert.deepEqual(
      message.content.map((b) => b.type),
      ['thinking', 'text', 'tool_use'],
    );
    const [t, x, tool] = message.content;
    assert.ok(t!.type === 'thinking' && x!.type === 'text' && tool!.type === 'tool_use');
    assert.equal(t.thinking, thinking);
    assert.ok(t.signature.length > 0);
    assert.equal(x.text, text);
    assert.deepEqual(tool.input, input);
    assert.match(tool.id, /^toolu_01/);
    assert.equal(message.stop_reason, 'tool_use');
    assert.equal(
      message.usage.output_tokens,
      tokenizer.count(thinking) + tokenizer.count(text) + tokenizer.count('get_weather') + tokenizer.count(JSON.stringify(input)),
    );
  });

  it('non-stream, also through beta', async () => {
    const message = await anthropic.messages.create(anthropicBase, script({ outputTokens: 9, cacheReadTokens: 3 }));
    assert.equal(message.type, 'message');
    assert.equal(message.content.length, 1);
    const block = message.content[0]!;
    assert.ok(block.type === 'text');
    assert.equal(tokenizer.count(block.text), 9);
    assert.equal(message.usage.output_tokens, 9);
    assert.equal(message.usage.input_tokens, expectedAnthropicInput());
    assert.equal(message.usage.cache_read_input_tokens, 3);
    const beta = await anthropic.beta.messages.create(anthropicBase, script({ outputTokens: 4 }));
    assert.equal(beta.usage.output_tokens, 4);
  });
});

describe('failure scripts', () => {
  it('dropAfterChunks: the SDK iteration throws, the log says dropped', async () => {
    const stream = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages: chatMessages, stream: true },
      script({ outputTokens: 60, dropAfterChunks: 4 }),
    );
    let contentChunks = 0;
    await assert.rejects(async () => {
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) contentChunks++;
    }, /terminated/);
    assert.equal(contentChunks, 4);
    const log = await harness.emulator.waitForRequestEnd(lastLog().id);
    assert.equal(log.outcome, 'dropped');
    assert.equal(log.chunksSent, 4);
    assert.equal(log.clientClosedEarly, false);
    assert.equal(log.completed, false);

    const events = await anthropic.messages.create({ ...anthropicBase, stream: true }, script({ dropAfterChunks: 2 }));
    let deltas = 0;
    await assert.rejects(async () => {
      for await (const event of events) if (event.type === 'content_block_delta') deltas++;
    });
    assert.equal(deltas, 2);
  });

  it('errorAfterChunks: both SDKs throw APIError', async () => {
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: chatMessages, stream: true }, script({ errorAfterChunks: 3 }));
    await assert.rejects(
      async () => {
        for await (const _chunk of stream);
      },
      (error: unknown) => error instanceof OpenAI.APIError && error.type === 'server_error',
    );
    assert.equal((await harness.emulator.waitForRequestEnd(lastLog().id)).outcome, 'stream_error');

    const events = await anthropic.messages.create({ ...anthropicBase, stream: true }, script({ errorAfterChunks: 3 }));
    await assert.rejects(
      async () => {
        for await (const _event of events);
      },
      (error: unknown) => error instanceof Anthropic.APIError && error.type === 'overloaded_error',
    );
  });

  it('omitTerminal: streams end quietly without finish, usage or message_stop', async () => {
    const stream = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages: chatMessages, stream: true, stream_options: { include_usage: true } },
      script({ outputTokens: 10, omitTerminal: true }),
    );
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.ok(chunks.every((c) => c.choices[0]?.finish_reason == null && c.usage == null));
    assert.equal(lastLog().outcome, 'omitted_terminal');

    const events = await anthropic.messages.create({ ...anthropicBase, stream: true }, script({ omitTerminal: true }));
    const types = [];
    for await (const event of events) types.push(event.type);
    assert.equal(types.at(-1), 'content_block_stop');
    assert.ok(!types.includes('message_delta') && !types.includes('message_stop'));
  });

  it('status with failTimes: SDK retries then succeed; errors are provider-shaped', async () => {
    const retrying = new OpenAI({ apiKey: 'test', baseURL: harness.emulator.openaiBaseURL, maxRetries: 2 });
    const ok = await retrying.chat.completions.create({ model: 'gpt-4o-mini', messages: chatMessages }, script({ status: 500, failTimes: 2, outputTokens: 3 }));
    assert.equal(ok.usage?.completion_tokens, 3);
    assert.deepEqual(
      harness.emulator.requests.map((r) => r.outcome),
      ['http_error', 'http_error', 'completed'],
    );
    assert.deepEqual(
      harness.emulator.requests.map((r) => r.status),
      [500, 500, 200],
    );
    // Retries are immediate: the SDKs wait what `retry-after-ms` says (`retry-after: 0` alone
    // sends them to their ~0.5 s backoff).
    const failed = await fetch(`${harness.emulator.openaiBaseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...script({ status: 503 }).headers },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: chatMessages }),
    });
    assert.equal(failed.status, 503);
    assert.equal(failed.headers.get('retry-after-ms'), '1');
    assert.equal(failed.headers.get('retry-after'), '0');
    await failed.arrayBuffer();

    await assert.rejects(
      openai.chat.completions.create({ model: 'gpt-4o-mini', messages: chatMessages, stream: true }, script({ status: 429 })),
      (error: unknown) =>
        error instanceof OpenAI.RateLimitError &&
        error.code === 'rate_limit_exceeded' &&
        typeof error.requestID === 'string' &&
        error.requestID.startsWith('req_'),
    );

    const retryingAnthropic = new Anthropic({ apiKey: 'test', baseURL: harness.emulator.anthropicBaseURL, maxRetries: 1 });
    const message = await retryingAnthropic.messages.create(anthropicBase, script({ status: 529, failTimes: 1, outputTokens: 2 }));
    assert.equal(message.usage.output_tokens, 2);
    await assert.rejects(
      anthropic.messages.create(anthropicBase, script({ status: 529 })),
      (error: unknown) =>
        error instanceof Anthropic.APIError && error.status === 529 && error.type === 'overloaded_error' && typeof error.requestID === 'string',
    );
  });

  it('an early break marks clientClosedEarly', async () => {
    const stream = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages: chatMessages, stream: true },
      script({ outputTokens: 300, chunkDelayMs: 2 }),
    );
    let seen = 0;
    for await (const _chunk of stream) if (++seen === 3) break;
    const log = await harness.emulator.waitForRequestEnd(lastLog().id);
    assert.equal(log.clientClosedEarly, true);
    assert.equal(log.outcome, 'client_closed');
    assert.ok(log.outputTokensSent < 300);

    const events = await anthropic.messages.create({ ...anthropicBase, stream: true }, script({ outputTokens: 300, chunkDelayMs: 2 }));
    seen = 0;
    for await (const _event of events) if (++seen === 5) break;
    assert.equal((await harness.emulator.waitForRequestEnd(lastLog().id)).clientClosedEarly, true);
  });

  it('firstChunkDelayMs delays the headers; an invalid script is a 400', async () => {
    const started = Date.now();
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: chatMessages }, script({ firstChunkDelayMs: 60 }));
    assert.ok(Date.now() - started >= 55);
    // Aborted once the emulator has the request, long before its headers are due.
    const controller = new AbortController();
    harness.emulator.once('request', () => controller.abort());
    const pending = openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages: chatMessages, stream: true },
      { signal: controller.signal, ...script({ firstChunkDelayMs: 60_000 }) },
    );
    await assert.rejects(pending, OpenAI.APIUserAbortError);
    const aborted = await harness.emulator.waitForRequestEnd(lastLog().id);
    assert.equal(aborted.clientClosedEarly, true);
    assert.equal(aborted.status, 0, 'no headers were sent');
    await assert.rejects(
      openai.chat.completions.create({ model: 'gpt-4o-mini', messages: chatMessages }, { headers: { [EMULATOR_SCRIPT_HEADER]: '{"outputToken": 5}' } }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && /unknown script field "outputToken"/.test(error.message),
    );
  });

  it('the default script applies unless a request overrides it', async () => {
    harness.emulator.setDefaultScript({ outputTokens: 4 });
    try {
      const a = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: chatMessages });
      assert.equal(a.usage?.completion_tokens, 4);
      const b = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: chatMessages }, script({ outputTokens: 6 }));
      assert.equal(b.usage?.completion_tokens, 6);
    } finally {
      harness.emulator.setDefaultScript({});
    }
  });
});

describe('replay of recorded traffic', () => {
  it('every fixture is a well-formed record', () => {
    for (const name of FIXTURE_NAMES) {
      const record = loadFixture(name);
      assert.ok(record.source_repo && record.source_path && record.source_commit, `${name} keeps its attribution`);
      assert.ok(record.stream ? Array.isArray(record.events) : record.response !== undefined, name);
    }
  });

  it('a chat stream gives exactly the recorded text and usage; stripUsage removes it', async () => {
    const record = loadFixture('openai-chat-stream-text');
    const final = await openai.chat.completions
      .stream({ model: 'gpt-4o-mini', messages: chatMessages, stream_options: { include_usage: true } }, script({ replay: 'openai-chat-stream-text' }))
      .finalChatCompletion();
    assert.equal(final.choices[0]!.message.content, record.output_text);
    assert.equal(final.id, record.response_id);
    assert.deepEqual(final.usage, record.reported_usage);

    const stream = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages: chatMessages, stream: true },
      script({ replay: 'openai-chat-stream-text', stripUsage: true }),
    );
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks.length, record.events!.length - 1);
    assert.ok(chunks.every((c) => c.usage == null));
    assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), record.output_text);
  });

  it('a chat stream with tool calls replays them', async () => {
    const final = await openai.chat.completions
      .stream({ model: 'gpt-4o-mini', messages: chatMessages }, script({ replay: 'openai-chat-stream-tool-calls' }))
      .finalChatCompletion();
    assert.equal(final.choices[0]!.finish_reason, 'tool_calls');
    assert.equal(final.choices[0]!.message.tool_calls?.length, 2);
  });

  it('an Anthropic stream gives exactly the recorded text and usage; stripUsage removes it', async () => {
    const record = loadFixture('anthropic-stream-cache-read');
    const message = await anthropic.messages.stream(anthropicBase, script({ replay: 'anthropic-stream-cache-read' })).finalMessage();
    assert.equal(message.content.map((b) => (b.type === 'text' ? b.text : '')).join(''), record.output_text);
    assert.equal(message.usage.output_tokens, record.usage_summary.output);
    assert.equal(message.usage.input_tokens, record.usage_summary.input);
    assert.equal(message.usage.cache_read_input_tokens, record.usage_summary.cached);

    const stream = await anthropic.messages.create({ ...anthropicBase, stream: true }, script({ replay: 'anthropic-stream-thinking', stripUsage: true }));
    const events = [];
    for await (const event of stream) events.push(event);
    const start = events.find((e) => e.type === 'message_start');
    const delta = events.find((e) => e.type === 'message_delta');
    assert.ok(start?.type === 'message_start' && delta?.type === 'message_delta');
    assert.equal(start.message.usage, undefined);
    assert.equal(delta.usage, undefined);
    assert.equal(events.length, loadFixture('anthropic-stream-thinking').events!.length - 1, 'ping is filtered by the SDK');
  });

  it('failure scripts apply to replays too', async () => {
    const stream = await anthropic.messages.create({ ...anthropicBase, stream: true }, script({ replay: 'anthropic-stream-text', dropAfterChunks: 3 }));
    let deltas = 0;
    await assert.rejects(async () => {
      for await (const event of stream) if (event.type === 'content_block_delta') deltas++;
    });
    assert.equal(deltas, 3);
  });

  it('non-stream replays send the recorded body', async () => {
    const chat = loadFixture('openai-chat-nonstream');
    const completion = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: chatMessages }, script({ replay: 'openai-chat-nonstream' }));
    assert.deepEqual(completion, chat.response);
    const message = await anthropic.messages.create(anthropicBase, script({ replay: 'anthropic-nonstream', stripUsage: true }));
    assert.equal(message.usage, undefined);
  });

  it('Responses API streams and bodies replay on /v1/responses', async () => {
    const record = loadFixture('openai-responses-stream-reasoning');
    const stream = await openai.responses.create({ model: 'gpt-5-mini', input: 'hi', stream: true }, script({ replay: 'openai-responses-stream-reasoning' }));
    const events = [];
    for await (const event of stream) events.push(event);
    assert.equal(events.length, record.events!.length);
    const done = events.at(-1)!;
    assert.ok(done.type === 'response.completed');
    assert.equal(done.response.usage?.output_tokens_details.reasoning_tokens, record.usage_summary.reasoning);

    const final = await openai.responses.stream({ model: 'gpt-4o-mini', input: 'hi' }, script({ replay: 'openai-responses-stream-text' })).finalResponse();
    assert.equal(final.output_text, loadFixture('openai-responses-stream-text').output_text);

    const body = await openai.responses.create({ model: 'gpt-4o-mini', input: 'hi' }, script({ replay: 'openai-responses-nonstream' }));
    assert.equal(body.output_text, loadFixture('openai-responses-nonstream').output_text);
  });

  it('a replay that does not fit the request is a 400', async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: 'gpt-4o-mini', messages: chatMessages }, script({ replay: 'anthropic-nonstream' })),
      OpenAI.BadRequestError,
    );
    await assert.rejects(
      openai.chat.completions.create({ model: 'gpt-4o-mini', messages: chatMessages }, script({ replay: 'no-such-id' })),
      OpenAI.BadRequestError,
    );
  });
});

describe('wire details', () => {
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${harness.emulator.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('OpenAI SSE framing ends with [DONE]; request ids on every response', async () => {
    const res = await post('/v1/chat/completions', { model: 'gpt-4o-mini', messages: chatMessages, stream: true });
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.match(res.headers.get('x-request-id') ?? '', /^req_[0-9a-f]{32}$/);
    const text = await res.text();
    assert.ok(text.endsWith('data: [DONE]\n\n'));
    assert.ok(
      text
        .split('\n\n')
        .filter(Boolean)
        .every((frame) => frame.startsWith('data: ')),
    );
  });

  it('Anthropic SSE framing has event lines; ?beta=true is accepted', async () => {
    const res = await post('/v1/messages?beta=true', { ...anthropicBase, stream: true }, { [EMULATOR_SCRIPT_HEADER]: '{"outputTokens":3}' });
    assert.match(res.headers.get('request-id') ?? '', /^req_011C/);
    const frames = (await res.text()).split('\n\n').filter(Boolean);
    assert.match(frames[0]!, /^event: message_start\ndata: \{"type":"message_start"/);
    assert.ok(frames.some((f) => f.startsWith('event: ping\n')));
    assert.match(frames.at(-1)!, /^event: message_stop\n/);
    assert.equal(lastLog().path, '/v1/messages?beta=true');
  });

  it('error bodies and retry headers', async () => {
    const oa = await post('/v1/chat/completions', { model: 'x', messages: [] }, { [EMULATOR_SCRIPT_HEADER]: '{"status":503}' });
    assert.equal(oa.status, 503);
    assert.equal(oa.headers.get('retry-after'), '0');
    const oaBody = (await oa.json()) as { error: Record<string, unknown> };
    assert.deepEqual(Object.keys(oaBody.error).sort(), ['code', 'message', 'param', 'type']);
    const an = await post('/v1/messages', anthropicBase, { [EMULATOR_SCRIPT_HEADER]: '{"status":400,"errorMessage":"bad"}' });
    assert.equal(an.status, 400);
    assert.equal(an.headers.get('retry-after'), null);
    const anBody = (await an.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(anBody.type, 'error');
    assert.deepEqual(anBody.error, { type: 'invalid_request_error', message: 'bad' });
    const missing = await post('/v1/nothing', {});
    assert.equal(missing.status, 404);
  });
});

describe('openai legacy completions and embeddings', () => {
  it('completions: non-stream and stream with include_usage', async () => {
    const body = { model: 'gpt-3.5-turbo-instruct', prompt: 'Say something about tides.', max_tokens: 8 };
    const completion = await openai.completions.create(body, script({ outputTokens: 20 }));
    assert.equal(completion.choices[0]!.finish_reason, 'length');
    assert.equal(completion.usage?.completion_tokens, 8);
    assert.equal(completion.usage?.prompt_tokens, tokenizer.count(body.prompt));

    const stream = await openai.completions.create({ ...body, stream: true, stream_options: { include_usage: true } }, script({ outputTokens: 5 }));
    let text = '';
    let usage: { completion_tokens: number } | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      usage ??= chunk.usage ?? undefined;
    }
    assert.equal(tokenizer.count(text), 5);
    assert.equal(usage?.completion_tokens, 5);
  });

  it('embeddings: the SDK default (base64) decodes to floats; float format works', async () => {
    const input = ['tide pools', 'anemones'];
    const result = await openai.embeddings.create({ model: 'text-embedding-3-small', input });
    assert.equal(lastLog().body && (lastLog().body as { encoding_format?: string }).encoding_format, 'base64');
    assert.equal(result.data.length, 2);
    assert.equal(result.data[0]!.embedding.length, EMBEDDING_DIMENSIONS);
    const norm = Math.sqrt(result.data[0]!.embedding.reduce((sum, x) => sum + x * x, 0));
    assert.ok(Math.abs(norm - 1) < 1e-5);
    assert.equal(result.usage.prompt_tokens, tokenizer.count(input[0]!) + tokenizer.count(input[1]!));
    assert.equal(result.usage.total_tokens, result.usage.prompt_tokens);

    const floats = await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'tide pools', encoding_format: 'float', dimensions: 8 });
    assert.equal(floats.data[0]!.embedding.length, 8);
  });
});
