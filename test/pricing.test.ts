/**
 * Prices that match the invoice (issue #17), through the real SDKs against the emulator:
 * the service tier actually served, cache writes by lifetime, long-context tiers, server-side
 * tool fees (also on streams cut short), and unpriced traffic on the metrics.
 *
 * Expected figures are the providers' list prices (USD per million tokens), written out here
 * rather than read from the price data, so a wrong data entry or a wrong rule fails:
 * - gpt-5: 1.25 in, 0.125 cached, 10 out; gpt-4o: 2.5 / 1.25 / 10; gpt-4.1: 2 / 0.5 / 8;
 * - gpt-5.4: 2.5 / 0.25 / 15, and above 272k input 5 / 0.5 / 22.5 for the whole request;
 * - claude-sonnet-4-5: 3 in, 3.75 5-minute write, 6 1-hour write, 0.30 read, 15 out; above
 *   200k input 6 / 7.5 / 12 / 0.60 / 22.5; claude-haiku-4-5: 1 / 1.25 / 2 / 0.10 / 5;
 * - web search 10 USD per 1,000 calls (both), OpenAI file search 2.50 per 1,000.
 * (developers.openai.com/api/docs/pricing, platform.claude.com/docs/en/about-claude/pricing.)
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { EmulatorScript } from '../src/emulator/index.js';
import type { CostRecord, Priced } from '../src/index.js';
import { sumPoints } from './helpers/otel.js';
import { useHarness } from './helpers/harness.js';
import { attr, onlySpan, script } from './helpers/spans.js';

const costs: CostRecord[] = [];
const harness = useHarness({
  onCost: (record) => costs.push(record),
  priceOverrides: {
    // A negotiated priority price for one model; other models' priority traffic stays estimated.
    'gpt-5': { tiers: { priority: { inputPerMTok: 2.5, outputPerMTok: 20, cacheReadPerMTok: 0.25 } } },
    // Code interpreter has no per-call price anywhere; this user sets one.
    'gpt-4.1': { toolCallUsd: { code_interpreter: 0.03 } },
  },
});
const { otel } = harness;

beforeEach(() => {
  costs.length = 0;
});

const messages = [{ role: 'user' as const, content: 'Price this, please.' }];
const M = 1_000_000;

function close(actual: unknown, expected: number, what: string): void {
  assert.equal(typeof actual, 'number', `${what}: ${String(actual)}`);
  assert.ok(Math.abs((actual as number) - expected) <= 1e-12 + 1e-9 * Math.abs(expected), `${what}: ${String(actual)} ≈ ${expected}`);
}

function priced(record: CostRecord | undefined): Priced {
  assert.ok(record && record.cost.source !== 'unpriced', 'priced');
  return record.cost as Priced;
}

const openai = () => harness.openai();
const anthropic = () => harness.anthropic();

async function chat(body: Record<string, unknown>, s: EmulatorScript) {
  await openai().chat.completions.create({ messages, ...body } as never, script(s));
  return onlySpan(await otel.settle());
}

async function responses(body: Record<string, unknown>, s: EmulatorScript, stream = false) {
  const result = await openai().responses.create({ input: 'Price this, please.', ...body, ...(stream ? { stream: true } : {}) } as never, script(s));
  if (stream) {
    try {
      for await (const _event of result as unknown as AsyncIterable<unknown>) {
        // read it all
      }
    } catch {
      // a scripted drop
    }
  }
  return onlySpan(await otel.settle());
}

async function messagesCall(body: Record<string, unknown>, s: EmulatorScript, stream = false) {
  const result = await anthropic().messages.create(
    { model: 'claude-sonnet-4-5', max_tokens: 200, messages, ...body, ...(stream ? { stream: true } : {}) } as never,
    script(s),
  );
  if (stream) {
    try {
      for await (const _event of result as unknown as AsyncIterable<unknown>) {
        // read it all
      }
    } catch {
      // a scripted drop
    }
  }
  return onlySpan(await otel.settle());
}

const tokens = (span: ReturnType<typeof onlySpan>) => ({
  input: attr(span, 'gen_ai.usage.input_tokens') as number,
  output: attr(span, 'gen_ai.usage.output_tokens') as number,
  cacheRead: (attr(span, 'gen_ai.usage.cache_read.input_tokens') as number | undefined) ?? 0,
  cacheWrite: (attr(span, 'gen_ai.usage.cache_creation.input_tokens') as number | undefined) ?? 0,
});

describe('service tier actually served', () => {
  it('OpenAI flex is priced at half, from the tier in the response, and both tiers are on the span', async () => {
    const span = await chat({ model: 'gpt-5', service_tier: 'flex' }, { outputTokens: 40 });
    const { input, output } = tokens(span);
    assert.equal(attr(span, 'openai.request.service_tier'), 'flex');
    assert.equal(attr(span, 'openai.response.service_tier'), 'flex');
    assert.equal(attr(span, 'llm_cost.cost.service_tier'), 'flex');
    assert.equal(attr(span, 'llm_cost.cost.price_basis'), 'tier_multiplier');
    assert.equal(attr(span, 'llm_cost.cost.source'), 'reported');
    close(attr(span, 'llm_cost.cost.usd'), (0.5 * (input * 1.25 + output * 10)) / M, 'flex = half of standard');
    const record = costs[0]!;
    assert.equal(record.requestedServiceTier, 'flex');
    assert.equal(record.servedServiceTier, 'flex');
  });

  it('the response wins over the request: asked for flex, served default, priced at standard', async () => {
    const span = await chat({ model: 'gpt-5', service_tier: 'flex' }, { outputTokens: 40, serviceTier: 'default' });
    const { input, output } = tokens(span);
    assert.equal(attr(span, 'openai.response.service_tier'), 'default');
    assert.equal(attr(span, 'llm_cost.cost.service_tier'), 'standard');
    assert.equal(attr(span, 'llm_cost.cost.price_basis'), 'list');
    close(attr(span, 'llm_cost.cost.usd'), (input * 1.25 + output * 10) / M, 'standard');
  });

  it('priority with per-tier prices from priceOverrides (Responses API)', async () => {
    const span = await responses({ model: 'gpt-5', service_tier: 'priority' }, { outputTokens: 30, cacheReadTokens: 200 });
    const { input, output, cacheRead } = tokens(span);
    assert.equal(attr(span, 'openai.response.service_tier'), 'priority');
    assert.equal(attr(span, 'llm_cost.cost.service_tier'), 'priority');
    assert.equal(attr(span, 'llm_cost.cost.price_basis'), 'tier_override');
    assert.equal(attr(span, 'llm_cost.cost.price_source'), 'override');
    assert.equal(attr(span, 'llm_cost.cost.price_data'), 'override');
    assert.equal(attr(span, 'llm_cost.cost.source'), 'reported');
    close(attr(span, 'llm_cost.cost.usd'), ((input - cacheRead) * 2.5 + cacheRead * 0.25 + output * 20) / M, 'override priority prices');
  });

  it('priority without a tier price: standard prices, marked estimated with basis standard_tier', async () => {
    const span = await chat({ model: 'gpt-4o', service_tier: 'fast' }, { outputTokens: 40 });
    const { input, output } = tokens(span);
    assert.equal(attr(span, 'openai.request.service_tier'), 'fast');
    assert.equal(attr(span, 'openai.response.service_tier'), 'priority');
    assert.equal(attr(span, 'llm_cost.cost.service_tier'), 'priority');
    assert.equal(attr(span, 'llm_cost.cost.price_basis'), 'standard_tier');
    assert.equal(attr(span, 'llm_cost.cost.source'), 'estimated');
    assert.equal(attr(span, 'llm_cost.usage.input_tokens.source'), 'reported', 'the tokens themselves are reported');
    close(attr(span, 'llm_cost.cost.usd'), (input * 2.5 + output * 10) / M, 'standard prices stand in');
  });

  it("a stream cut before the response named its tier is priced by the request's tier", async () => {
    const span = await responses({ model: 'gpt-5', service_tier: 'flex' }, { outputTokens: 60, dropAfterChunks: 3 }, true);
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'error');
    assert.equal(attr(span, 'openai.response.service_tier'), undefined, 'no response tier seen');
    assert.equal(attr(span, 'llm_cost.cost.service_tier'), 'flex');
    assert.equal(attr(span, 'llm_cost.cost.price_basis'), 'tier_multiplier');
    assert.equal(attr(span, 'llm_cost.cost.source'), 'estimated');
    const { input, output } = tokens(span);
    close(attr(span, 'llm_cost.cost.usd'), (0.5 * (input * 1.25 + output * 10)) / M, 'flex, from the request');
  });

  it('Anthropic reports its tier: batch at half, priority at standard prices (estimated)', async () => {
    const batch = await messagesCall({}, { outputTokens: 20, serviceTier: 'batch' });
    const b = tokens(batch);
    assert.equal(attr(batch, 'llm_cost.cost.service_tier'), 'batch');
    assert.equal(attr(batch, 'llm_cost.cost.price_basis'), 'tier_multiplier');
    assert.equal(attr(batch, 'openai.response.service_tier'), undefined, 'no OpenAI attribute on an Anthropic span');
    close(attr(batch, 'llm_cost.cost.usd'), (0.5 * (b.input * 3 + b.output * 15)) / M, 'batch = half');
    otel.reset();
    const priority = await messagesCall({ service_tier: 'auto' }, { outputTokens: 20, serviceTier: 'priority' }, true);
    const p = tokens(priority);
    assert.equal(attr(priority, 'llm_cost.cost.service_tier'), 'priority');
    assert.equal(attr(priority, 'llm_cost.cost.price_basis'), 'standard_tier');
    assert.equal(attr(priority, 'llm_cost.cost.source'), 'estimated');
    close(attr(priority, 'llm_cost.cost.usd'), (p.input * 3 + p.output * 15) / M, 'standard prices');
    otel.reset();
    const standard = await messagesCall({}, { outputTokens: 20 });
    assert.equal(attr(standard, 'llm_cost.cost.service_tier'), 'standard');
    assert.equal(attr(standard, 'llm_cost.cost.price_basis'), 'list');
    assert.equal(attr(standard, 'llm_cost.cost.source'), 'reported');
  });
});

describe('cache writes by lifetime', () => {
  for (const stream of [true, false]) {
    it(`Anthropic 5-minute writes at 1.25x input and 1-hour writes at 2x (${stream ? 'stream' : 'JSON'})`, async () => {
      const span = await messagesCall({}, { outputTokens: 20, cacheCreationTokens: 4000, cacheCreation1hTokens: 6000, cacheReadTokens: 1000 }, stream);
      const { input, output, cacheRead, cacheWrite } = tokens(span);
      assert.equal(cacheWrite, 10_000, 'all writes in the conventions attribute');
      assert.equal(attr(span, 'llm_cost.usage.cache_creation_1h.input_tokens'), 6000);
      assert.equal(cacheRead, 1000);
      const uncached = input - cacheRead - cacheWrite;
      const expectedInput = (uncached * 3 + 4000 * 3.75 + 6000 * 6 + 1000 * 0.3) / M;
      close(attr(span, 'llm_cost.cost.input_usd'), expectedInput, 'each write at its own rate');
      close(attr(span, 'llm_cost.cost.usd'), expectedInput + (output * 15) / M, 'total');
      assert.equal(attr(span, 'llm_cost.cost.source'), 'reported');
    });
  }

  it('only 1-hour writes (claude-haiku-4-5): all at 2x input', async () => {
    const span = await messagesCall({ model: 'claude-haiku-4-5' }, { outputTokens: 10, cacheCreation1hTokens: 3000 });
    const { input, output, cacheWrite } = tokens(span);
    assert.equal(cacheWrite, 3000);
    close(attr(span, 'llm_cost.cost.usd'), ((input - 3000) * 1 + 3000 * 2 + output * 5) / M, 'all 1-hour writes at 2x');
  });
});

describe('long-context tiers', () => {
  it('Anthropic: 250k input tokens cost the >200k tier for the whole request', async () => {
    const span = await messagesCall({}, { outputTokens: 100, cacheReadTokens: 250_000 }, true);
    const { input, output, cacheRead } = tokens(span);
    assert.ok(input > 250_000);
    close(attr(span, 'llm_cost.cost.usd'), ((input - cacheRead) * 6 + cacheRead * 0.6 + output * 22.5) / M, 'long-context prices');
    otel.reset();
    const small = await messagesCall({}, { outputTokens: 100, cacheReadTokens: 150_000 }, true);
    const s = tokens(small);
    close(attr(small, 'llm_cost.cost.usd'), ((s.input - s.cacheRead) * 3 + s.cacheRead * 0.3 + s.output * 15) / M, 'below 200k: base prices');
  });

  it('OpenAI gpt-5.4: above 272k input the tier price; at 250k still the base price', async () => {
    const span = await responses({ model: 'gpt-5.4' }, { outputTokens: 100, cacheReadTokens: 300_000 });
    const { input, output, cacheRead } = tokens(span);
    close(attr(span, 'llm_cost.cost.usd'), ((input - cacheRead) * 5 + cacheRead * 0.5 + output * 22.5) / M, 'above 272k');
    otel.reset();
    const at250k = await responses({ model: 'gpt-5.4' }, { outputTokens: 100, cacheReadTokens: 250_000 });
    const t = tokens(at250k);
    close(attr(at250k, 'llm_cost.cost.usd'), ((t.input - t.cacheRead) * 2.5 + t.cacheRead * 0.25 + t.output * 15) / M, 'OpenAI tier starts at 272k');
  });
});

describe('server-side tool fees', () => {
  it('Anthropic web search: reported calls priced per call, in tool_usd, the total and the spend metric', async () => {
    const span = await messagesCall({}, { outputTokens: 30, serverToolCalls: { web_search: 3 } }, true);
    const { input, output } = tokens(span);
    assert.equal(attr(span, 'llm_cost.tool.web_search.calls'), 3);
    close(attr(span, 'llm_cost.cost.tool_usd'), 0.03, '3 searches at 10 USD per 1,000');
    close(attr(span, 'llm_cost.cost.usd'), (input * 3 + output * 15) / M + 0.03, 'tokens + tools');
    assert.equal(attr(span, 'llm_cost.cost.source'), 'reported');
    const fee = priced(costs[0]).tools[0];
    assert.deepEqual(fee, { tool: 'web_search', calls: 3, usd: 0.03, priceSource: 'genai-prices' });
    const points = await otel.metricPoints('llm_cost.spend');
    close(
      sumPoints(points, { 'llm_cost.cost.kind': 'tool', 'llm_cost.tool.name': 'web_search', 'gen_ai.request.model': 'claude-sonnet-4-5' }),
      0.03,
      'tool spend',
    );
  });

  it('Anthropic: a stream cut after two searches still counts them (estimated)', async () => {
    const span = await messagesCall({}, { outputTokens: 200, serverToolCalls: { web_search: 2 }, dropAfterChunks: 3 }, true);
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'error');
    assert.equal(attr(span, 'llm_cost.tool.web_search.calls'), 2);
    close(attr(span, 'llm_cost.cost.tool_usd'), 0.02, 'two searches');
    assert.equal(attr(span, 'llm_cost.cost.source'), 'estimated');
  });

  it('Anthropic web fetch is free beyond tokens (tool-fee table); code execution has no per-call price', async () => {
    const span = await messagesCall({}, { outputTokens: 30, serverToolCalls: { web_fetch: 2, code_execution: 1 } });
    assert.equal(attr(span, 'llm_cost.tool.web_fetch.calls'), 2);
    assert.equal(attr(span, 'llm_cost.tool.code_execution.calls'), 1);
    assert.equal(attr(span, 'llm_cost.cost.tool_usd'), 0);
    assert.deepEqual(attr(span, 'llm_cost.cost.unpriced_tools'), ['code_execution']);
    assert.equal(attr(span, 'llm_cost.cost.source'), 'estimated', 'a fee is left out');
    const fees = priced(costs[0]).tools;
    assert.deepEqual(fees, [
      { tool: 'web_fetch', calls: 2, usd: 0, priceSource: 'tool-fees' },
      { tool: 'code_execution', calls: 1 },
    ]);
  });

  it('OpenAI Responses: web search and file search items, streamed, priced per call', async () => {
    const span = await responses({ model: 'gpt-5' }, { outputTokens: 30, serverToolCalls: { web_search: 2, file_search: 1 } }, true);
    const { input, output } = tokens(span);
    assert.equal(attr(span, 'llm_cost.tool.web_search.calls'), 2);
    assert.equal(attr(span, 'llm_cost.tool.file_search.calls'), 1);
    close(attr(span, 'llm_cost.cost.tool_usd'), 0.02 + 0.0025, 'searches');
    close(attr(span, 'llm_cost.cost.usd'), (input * 1.25 + output * 10) / M + 0.0225, 'tokens + tools');
    assert.equal(attr(span, 'llm_cost.cost.source'), 'reported');
  });

  it('OpenAI: a stream cut after the tool items still counts them; non-streamed bodies too', async () => {
    const cut = await responses({ model: 'gpt-5' }, { outputTokens: 200, serverToolCalls: { web_search: 1 }, dropAfterChunks: 2 }, true);
    assert.equal(attr(cut, 'llm_cost.tool.web_search.calls'), 1);
    close(attr(cut, 'llm_cost.cost.tool_usd'), 0.01, 'one search');
    assert.equal(attr(cut, 'llm_cost.cost.source'), 'estimated');
    otel.reset();
    const body = await responses({ model: 'gpt-5' }, { outputTokens: 20, serverToolCalls: { web_search: 4 } });
    assert.equal(attr(body, 'llm_cost.tool.web_search.calls'), 4);
    close(attr(body, 'llm_cost.cost.tool_usd'), 0.04, 'four searches');
  });

  it('OpenAI code interpreter: calls in one container are one session, priced by priceOverrides', async () => {
    const span = await responses({ model: 'gpt-4.1' }, { outputTokens: 20, serverToolCalls: { code_interpreter: 3 } }, true);
    assert.equal(attr(span, 'llm_cost.tool.code_interpreter.calls'), 1, 'one container');
    close(attr(span, 'llm_cost.cost.tool_usd'), 0.03, 'one session at the override');
    assert.equal(attr(span, 'llm_cost.cost.price_source'), 'genai-prices', 'tokens still from the data');
    otel.reset();
    const unpriced = await responses({ model: 'gpt-5' }, { outputTokens: 20, serverToolCalls: { code_interpreter: 1 } });
    assert.deepEqual(attr(unpriced, 'llm_cost.cost.unpriced_tools'), ['code_interpreter']);
    assert.equal(attr(unpriced, 'llm_cost.cost.source'), 'estimated');
  });

  it('spend: tokens carry kind=tokens and their token type, tools kind=tool; together the span total', async () => {
    const span = await messagesCall({}, { outputTokens: 30, serverToolCalls: { web_search: 1 } });
    const points = (await otel.metricPoints('llm_cost.spend')).filter((p) => p.attributes['gen_ai.response.model'] === attr(span, 'gen_ai.response.model'));
    for (const point of points) {
      const kind = point.attributes['llm_cost.cost.kind'];
      assert.ok(kind === 'tokens' || kind === 'tool', `kind ${String(kind)}`);
      if (kind === 'tokens') assert.ok(['input', 'output'].includes(point.attributes['gen_ai.token.type'] as string));
      else assert.equal(point.attributes['gen_ai.token.type'], undefined, 'a tool fee is no token type');
    }
  });
});

describe('unpriced traffic on the metrics', () => {
  it('tokens of an unpriced model go to llm_cost.unpriced.tokens, by model and token type; priced ones do not', async () => {
    const span = await chat({ model: 'acme-unlisted-9' }, { outputTokens: 12 });
    assert.equal(attr(span, 'llm_cost.cost.source'), 'unpriced');
    const { input } = tokens(span);
    const points = await otel.metricPoints('llm_cost.unpriced.tokens');
    assert.equal(sumPoints(points, { 'gen_ai.request.model': 'acme-unlisted-9', 'gen_ai.token.type': 'input' }), input);
    assert.equal(sumPoints(points, { 'gen_ai.request.model': 'acme-unlisted-9', 'gen_ai.token.type': 'output' }), 12);
    assert.equal(sumPoints(points, { 'gen_ai.request.model': 'gpt-5' }), 0, 'priced models are not there');
    const spend = await otel.metricPoints('llm_cost.spend');
    assert.equal(sumPoints(spend, { 'gen_ai.request.model': 'acme-unlisted-9' }), 0, 'and no spend, not even 0-valued');
  });
});

describe('a provider that lies', () => {
  it('nonsense tier, 1-hour writes and tool counts are ignored or bounded, never thrown into the request', async () => {
    const message = (usage: Record<string, unknown>) => ({
      id: 'msg_hostile',
      type: 'message',
      role: 'assistant',
      model: 'claude-haiku-4-5-20251001',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage,
    });
    harness.emulator.addRecording('hostile-anthropic', {
      provider: 'anthropic',
      api: 'messages',
      stream: true,
      events: [
        {
          type: 'message_start',
          message: message({
            input_tokens: 100,
            cache_creation_input_tokens: 10,
            cache_read_input_tokens: 0,
            // More 1-hour writes than writes, a tier that is not a string, counts that are not counts.
            cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 1e9 },
            service_tier: 42,
            server_tool_use: { web_search_requests: -3, web_fetch_requests: 'many' },
            output_tokens: 1,
          }),
        },
        { type: 'content_block_start', index: 0, content_block: { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} } },
        { type: 'content_block_stop', index: 0 },
        { type: 'content_block_start', index: 1, content_block: { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} } },
        { type: 'content_block_stop', index: 1 },
        { type: 'content_block_start', index: 2, content_block: { type: 'server_tool_use', name: 'web_search', input: {} } },
        { type: 'content_block_stop', index: 2 },
        { type: 'content_block_start', index: 3, content_block: { type: 'text', text: '' } },
        { type: 'content_block_delta', index: 3, delta: { type: 'text_delta', text: 'hi' } },
        { type: 'content_block_stop', index: 3 },
        {
          type: 'message_delta',
          delta: { stop_reason: 'end_turn', stop_sequence: null },
          usage: { output_tokens: 5, server_tool_use: { web_search_requests: 0.5 } },
        },
        { type: 'message_stop' },
      ],
    });
    const chunks: unknown[] = [];
    const stream = await anthropic().messages.create(
      { model: 'claude-haiku-4-5', max_tokens: 50, messages, stream: true },
      script({ replay: 'hostile-anthropic' }),
    );
    for await (const event of stream) chunks.push(event);
    assert.equal(chunks.length, 12, 'the consumer saw every event');
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.cost.service_tier'), 'standard', 'a non-string tier is no tier');
    assert.equal(attr(span, 'llm_cost.tool.web_search.calls'), 1, 'one block id counted once; a block without id, negative and fractional counts ignored');
    const input = attr(span, 'gen_ai.usage.input_tokens') as number;
    assert.equal(input, 110);
    // 100 uncached at $1, 5 out at $5, 1 search; a 1-hour write figure of 1e9 is no token count
    // (usage-guard.ts), so it is dropped and the 10 writes are priced as 5-minute writes ($1.25).
    close(attr(span, 'llm_cost.cost.usd'), (100 * 1 + 10 * 1.25 + 5 * 5) / M + 0.01, 'bounded figures');
  });
});
