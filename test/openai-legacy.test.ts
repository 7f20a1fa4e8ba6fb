/**
 * Legacy Completions (`text_completion`) and Embeddings (`embeddings`, cost only) through
 * the real `openai` SDK against the emulator: the spend metric covers every OpenAI call.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sumPoints } from './helpers/otel.js';
import { useHarness } from './helpers/harness.js';
import { assertCost, attr, onlySpan, script } from './helpers/spans.js';

const harness = useHarness({ abandonedTimeoutMs: 200 });
const { otel } = harness;
let client: InstanceType<typeof otel.OpenAI>;
const model = 'gpt-3.5-turbo-instruct';
const prompt = 'Write a tagline for an ice cream shop.';

harness.setup(() => {
  client = harness.openai();
});

const num = (span: Parameters<typeof attr>[0], name: string): number => attr(span, name) as number;

describe('completions.create (legacy)', () => {
  it('non-streaming: text_completion with reported usage', async () => {
    const result = await client.completions.create({ model, prompt, max_tokens: 50, temperature: 0 }, script({ outputTokens: 12 }));
    const span = onlySpan(await otel.settle());
    assertCost(span, { outcome: 'completed', input: 'reported', output: 'reported' });
    assert.equal(attr(span, 'gen_ai.operation.name'), 'text_completion');
    assert.equal(num(span, 'gen_ai.usage.input_tokens'), result.usage?.prompt_tokens);
    assert.equal(num(span, 'gen_ai.usage.output_tokens'), 12);
    assert.equal(num(span, 'gen_ai.request.max_tokens'), 50);
    assert.deepEqual(attr(span, 'gen_ai.response.finish_reasons'), ['stop']);
    assert.equal(span.name, `text_completion ${model}`);
  });

  it('streaming: usage asked for and its chunk hidden from a caller who did not ask', async () => {
    const stream = await client.completions.create({ model, prompt, stream: true }, script({ outputTokens: 20 }));
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.ok(
      chunks.every((chunk) => chunk.choices.length > 0 && !('usage' in chunk)),
      'no usage chunk or field appears',
    );
    const span = onlySpan(await otel.settle());
    assertCost(span, { outcome: 'completed', input: 'reported', output: 'reported' });
    assert.equal(num(span, 'gen_ai.usage.output_tokens'), 20);
    assert.equal(num(span, 'llm_cost.stream.chunks'), chunks.length);
    const sent = harness.emulator.requests.at(-1)!.body as { stream_options?: { include_usage?: boolean } };
    assert.equal(sent.stream_options?.include_usage, true);
  });

  it('streaming, broken: estimated input and output', async () => {
    const stream = await client.completions.create({ model, prompt, stream: true }, script({ outputTokens: 200, chunkDelayMs: 1 }));
    let seen = 0;
    for await (const _chunk of stream) if (++seen === 4) break;
    const span = onlySpan(await otel.settle());
    assertCost(span, { outcome: 'broken', input: 'estimated', output: 'estimated' });
    assert.equal(attr(span, 'gen_ai.operation.name'), 'text_completion');
  });
});

describe('embeddings.create', () => {
  it('cost only: input tokens reported, output 0, and the spend counter grows', async () => {
    const spendBefore = sumPoints(await otel.metricPoints('llm_cost.spend'), { 'gen_ai.operation.name': 'embeddings' });
    const result = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['first text', 'a second, longer text'] });
    assert.equal(result.data.length, 2);
    assert.ok(Array.isArray(result.data[0]!.embedding), "the SDK's base64 decoding still works");
    const span = onlySpan(await otel.settle());
    assertCost(span, { outcome: 'completed', input: 'reported', output: 'reported' });
    assert.equal(attr(span, 'gen_ai.operation.name'), 'embeddings');
    assert.equal(num(span, 'gen_ai.usage.input_tokens'), result.usage.prompt_tokens);
    assert.equal(num(span, 'gen_ai.usage.output_tokens'), 0);
    assert.equal(num(span, 'llm_cost.cost.output_usd'), 0);
    assert.equal(attr(span, 'gen_ai.request.stream'), false);
    const spendAfter = sumPoints(await otel.metricPoints('llm_cost.spend'), { 'gen_ai.operation.name': 'embeddings' });
    assert.ok(Math.abs(spendAfter - spendBefore - num(span, 'llm_cost.cost.usd')) < 1e-15);
  });

  it('an HTTP error is an error span with nothing billed', async () => {
    await assert.rejects(client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' }, script({ status: 400 })));
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'error');
    assert.equal(num(span, 'gen_ai.usage.input_tokens'), 0);
  });
});
