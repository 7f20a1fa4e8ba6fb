/**
 * The estimators' rules, on small hand-made requests: images by the published tile and
 * patch rules from the data URL's header, tool definitions and schemas as the model sees
 * them, the per-response output framing, and requests that cannot be estimated. Recorded
 * replays check the same through the real SDKs (the figures are in docs/accuracy.md).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { getEncoding } from 'js-tiktoken';
import { startEmulator, type ProviderEmulator } from '../src/emulator/index.js';
import { dataUrlImageSize, imageTokens } from '../src/providers/openai/count-image.js';
import { countChatInput } from '../src/providers/openai/count-chat-input.js';
import { countResponsesInput } from '../src/providers/openai/count-responses-input.js';
import { renderFunctions } from '../src/providers/openai/count-tools.js';
import { chatOutputOverhead, responsesOutputOverhead } from '../src/providers/openai/output-overhead.js';
import { claudeOutputOverhead, countMessagesInput } from '../src/providers/anthropic/count-input.js';
import { estimateCalibration } from '../src/core/calibration.js';
import { startOtel } from './helpers/otel.js';
import { loadFixture, registerFixtures, type FixtureName } from './helpers/fixtures.js';
import { attr, onlySpan, script } from './helpers/spans.js';

const o200k = getEncoding('o200k_base');
const counter = { encoding: 'o200k_base' as const, count: (text: string) => o200k.encode(text, 'all').length };

/** A PNG data URL whose header says `width` × `height` (the pixels are never read). */
function pngDataUrl(width: number, height: number): string {
  const header = Buffer.alloc(33);
  header.writeUInt32BE(0x89504e47, 0);
  header.writeUInt32BE(0x0d0a1a0a, 4);
  header.writeUInt32BE(13, 8);
  header.write('IHDR', 12, 'latin1');
  header.writeUInt32BE(width, 16);
  header.writeUInt32BE(height, 20);
  return `data:image/png;base64,${header.toString('base64')}`;
}

describe('images', () => {
  it('reads the size from a data URL header', () => {
    assert.deepEqual(dataUrlImageSize(pngDataUrl(1024, 768)), { width: 1024, height: 768 });
    assert.equal(dataUrlImageSize('https://example.com/cat.png'), undefined);
  });

  it('follows the tile rule: fit 2048, short side 768, 512-px tiles', () => {
    // OpenAI's worked example: 1024×1024 high detail on gpt-4o is 765 tokens; 2048×4096 is 1105.
    assert.equal(imageTokens('gpt-4o', pngDataUrl(1024, 1024), 'high'), 765);
    assert.equal(imageTokens('gpt-4o', pngDataUrl(2048, 4096), 'high'), 1105);
    assert.equal(imageTokens('gpt-4o', pngDataUrl(4096, 4096), 'low'), 85);
    assert.equal(imageTokens('gpt-4o-mini', pngDataUrl(256, 256), 'auto'), 2833 + 5667);
  });

  it('follows the patch rule for the mini and nano models', () => {
    // 1024×1024: 32×32 patches = 1024, × 1.62 for gpt-4.1-mini.
    assert.equal(imageTokens('gpt-4.1-mini', pngDataUrl(1024, 1024), 'high'), Math.round(1024 * 1.62));
    // Large images are capped at 1536 patches.
    assert.ok(imageTokens('gpt-4.1-nano', pngDataUrl(4000, 3000), 'high') <= Math.round(1536 * 2.46));
  });

  it('estimates an image by URL as 1024×1024', () => {
    assert.equal(imageTokens('gpt-4o', 'https://example.com/cat.png', undefined), 765);
  });
});

describe('input', () => {
  it('counts tools as the rendered functions namespace', () => {
    const fn = {
      name: 'get_weather',
      description: 'Weather for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } }, required: ['city'] },
    };
    const rendered = renderFunctions([fn]);
    assert.match(rendered, /type get_weather = \(_: \{\ncity: string,\nunit\?: "c" \| "f",\n\}\) => any;/);
    const messages = [{ role: 'user', content: 'Weather in Prague?' }];
    const withTools = countChatInput({ model: 'gpt-4o', messages, tools: [{ type: 'function', function: fn }] }, counter);
    const without = countChatInput({ model: 'gpt-4o', messages }, counter);
    assert.equal(withTools - without, counter.count(rendered) + 8);
    // The legacy `functions` parameter is counted the same way.
    assert.equal(countChatInput({ model: 'gpt-4o', messages, functions: [fn] }, counter), withTools);
  });

  it('counts a json_schema response format', () => {
    const messages = [{ role: 'user', content: 'A book' }];
    const response_format = { type: 'json_schema', json_schema: { name: 'book', schema: { type: 'object', properties: { title: { type: 'string' } } } } };
    assert.ok(countChatInput({ model: 'gpt-4o', messages, response_format }, counter) > countChatInput({ model: 'gpt-4o', messages }, counter));
    assert.equal(countChatInput({ model: 'gpt-4o', messages, response_format: { type: 'json_object' } }, counter), countChatInput({ model: 'gpt-4o', messages }, counter));
  });

  it('matches the recorded prompt sizes of gpt-5 models (one less, two more per assistant turn)', () => {
    // Recorded: "Say hello" is 9 tokens on gpt-4o and 8 on gpt-5-mini.
    const messages = [{ role: 'user', content: 'Say hello' }];
    assert.equal(countChatInput({ model: 'gpt-4o', messages }, counter), 9);
    assert.equal(countChatInput({ model: 'gpt-5-mini', messages }, counter), 8);
    assert.equal(countResponsesInput({ model: 'gpt-5-mini', input: 'Say hello' }, counter), 8);
  });

  it('gives NaN (recorded as unknown) for audio, files and web search results it cannot see', () => {
    const audio = { role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] };
    assert.ok(Number.isNaN(countChatInput({ model: 'gpt-4o', messages: [audio] }, counter)));
    const file = { role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }] };
    assert.ok(Number.isNaN(countResponsesInput({ model: 'gpt-4o', input: [file] }, counter)));
    assert.ok(Number.isNaN(countResponsesInput({ model: 'gpt-4o', input: 'news?', tools: [{ type: 'web_search' }] }, counter)));
    const search = { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'news?' }], tools: [{ type: 'web_search_20250305', name: 'web_search' }] };
    assert.ok(Number.isNaN(countMessagesInput(search, counter)));
  });

  it('does not count earlier reasoning and thinking, which the model does not read again', () => {
    const input = [{ role: 'user', content: 'Hi' }];
    const reasoning = { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'long thoughts '.repeat(50) }] };
    assert.equal(countResponsesInput({ model: 'gpt-5', input: [...input, reasoning] }, counter), countResponsesInput({ model: 'gpt-5', input }, counter));
    const thinking = { role: 'assistant', content: [{ type: 'thinking', thinking: 'long thoughts '.repeat(50), signature: 'x' }, { type: 'text', text: 'Hello' }] };
    const plain = { role: 'assistant', content: [{ type: 'text', text: 'Hello' }] };
    assert.equal(countMessagesInput({ model: 'claude-sonnet-4-5', messages: [...input, thinking] }, counter), countMessagesInput({ model: 'claude-sonnet-4-5', messages: [...input, plain] }, counter));
  });

  it("adds Anthropic's tool-use system prompt when tools are given", () => {
    const messages = [{ role: 'user', content: 'Hi' }];
    const tools = [{ name: 't', description: 'd', input_schema: { type: 'object', properties: {} } }];
    const auto = countMessagesInput({ model: 'claude-sonnet-4-5', messages, tools }, counter);
    const forced = countMessagesInput({ model: 'claude-sonnet-4-5', messages, tools, tool_choice: { type: 'any' } }, counter);
    assert.equal(auto - forced, 346 - 313);
  });
});

describe('output framing', () => {
  it('adds the measured constants per tool call and per response', () => {
    assert.equal(chatOutputOverhead('gpt-4o', 0), 0);
    assert.equal(chatOutputOverhead('gpt-4o', 1), 7);
    assert.equal(chatOutputOverhead('gpt-4o', 2), 28);
    assert.equal(chatOutputOverhead('gpt-5-mini', 0), 9);
    assert.equal(responsesOutputOverhead('gpt-4o', 0), 1);
    assert.equal(responsesOutputOverhead('gpt-4o', 1), 8);
    assert.equal(claudeOutputOverhead(0), 3);
    assert.equal(claudeOutputOverhead(1), 46);
    assert.equal(claudeOutputOverhead(1, "tool"), 8);
  });
});

describe('recorded replays with the usage stripped', () => {
  const otel = startOtel();
  let emulator: ProviderEmulator;
  let openai: InstanceType<typeof otel.OpenAI>;
  let anthropic: InstanceType<typeof otel.Anthropic>;

  before(async () => {
    emulator = await startEmulator();
    registerFixtures(emulator);
    openai = new otel.OpenAI({ apiKey: 'test-key', baseURL: emulator.openaiBaseURL, maxRetries: 0 });
    anthropic = new otel.Anthropic({ apiKey: 'test-key', baseURL: emulator.anthropicBaseURL, maxRetries: 0 });
  });
  after(async () => {
    await emulator.stop();
    await otel.shutdown();
  });
  beforeEach(() => {
    otel.reset();
    estimateCalibration.reset();
  });

  type Create = (body: Record<string, unknown>, options: object) => Promise<unknown>;
  async function replayStripped(name: FixtureName): Promise<void> {
    const record = loadFixture(name);
    const target = record.provider === 'anthropic' ? anthropic.messages : record.api === 'responses' ? openai.responses : openai.chat.completions;
    const create = (target.create as unknown as Create).bind(target);
    const result = await create({ ...(record.request as object), stream: record.stream }, script({ replay: name, stripUsage: true }));
    if (record.stream) for await (const _ of result as AsyncIterable<unknown>) void _;
  }

  const cases: [FixtureName, number][] = [
    // [fixture, largest relative error allowed for the output estimate]
    ['openai-chat-stream-tool-calls', 0.1],
    ['openai-chat-stream-text', 0.05],
    ['openai-responses-stream-text', 0.05],
    ['anthropic-stream-tool-use', 0.5],
    ['anthropic-stream-text', 0.2],
  ];
  for (const [name, bound] of cases) {
    it(`${name}: output within ${bound * 100}% of the provider's count`, async () => {
      const record = loadFixture(name);
      await replayStripped(name);
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
      const output = attr(span, 'gen_ai.usage.output_tokens') as number;
      const actual = record.usage_summary.output;
      assert.ok(Math.abs(output - actual) <= actual * bound, `output estimate ${output} vs reported ${actual}`);
      assert.equal(typeof attr(span, 'llm_cost.estimate.calibration'), 'number');
    });
  }

  it('openai-responses-stream-reasoning: hidden reasoning is estimated, never 0', async () => {
    await replayStripped('openai-responses-stream-reasoning');
    const span = onlySpan(await otel.settle());
    const reasoning = attr(span, 'gen_ai.usage.reasoning.output_tokens') as number;
    assert.ok(reasoning > 0, `reasoning estimate ${reasoning}`);
    assert.ok((attr(span, 'gen_ai.usage.output_tokens') as number) > reasoning);
  });
});
