/**
 * `priceOverrides`: the user's own prices come before the bundled price data, price models
 * the data does not know, show on the span that they were used, and reach the spend metric
 * and `onCost`; a bad override fails when the instrumentation is built, naming the entry.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { LLMCostInstrumentation, type CostRecord, type LLMCostInstrumentationConfig } from '../src/index.js';
import { sumPoints } from './helpers/otel.js';
import { useHarness } from './helpers/harness.js';
import { attr, onlySpan, script } from './helpers/spans.js';

const costs: CostRecord[] = [];
const harness = useHarness({
  onCost: (record) => costs.push(record),
  priceOverrides: {
    'acme-private-1': { inputPerMTok: 2, outputPerMTok: 8 },
    'gpt-4o-mini': { inputPerMTok: 1, outputPerMTok: 4, cacheReadPerMTok: 0.5 },
    // Restricted to another provider: Anthropic requests for this model keep the data's price.
    'claude-haiku-4-5': { inputPerMTok: 1000, outputPerMTok: 1000, provider: 'openai' },
  },
});
const { otel } = harness;

beforeEach(() => {
  costs.length = 0;
});

const messages = [{ role: 'user' as const, content: 'Price this, please.' }];

/** USD figures are sums of floating-point products: equal up to rounding. */
function assertClose(actual: unknown, expected: number): void {
  assert.equal(typeof actual, 'number');
  assert.ok(Math.abs((actual as number) - expected) < 1e-15, `${String(actual)} ≈ ${expected}`);
}

async function chat(model: string, extra: Record<string, unknown> = {}) {
  const client = harness.openai();
  await client.chat.completions.create({ model, messages }, script({ outputTokens: 10, ...extra }));
  return onlySpan(await otel.settle());
}

describe('price overrides', () => {
  it('price a model the price data does not know, marked as an override', async () => {
    const span = await chat('acme-private-1');
    const input = attr(span, 'gen_ai.usage.input_tokens') as number;
    const output = attr(span, 'gen_ai.usage.output_tokens') as number;
    assert.ok(input > 0 && output === 10);
    assert.equal(attr(span, 'llm_cost.cost.source'), 'reported');
    assert.equal(attr(span, 'llm_cost.cost.price_source'), 'override');
    assert.equal(attr(span, 'llm_cost.cost.price_model'), 'acme-private-1');
    assertClose(attr(span, 'llm_cost.cost.input_usd'), (input * 2) / 1e6);
    assertClose(attr(span, 'llm_cost.cost.output_usd'), (output * 8) / 1e6);
    assertClose(attr(span, 'llm_cost.cost.usd'), (input * 2 + output * 8) / 1e6);
    const [record] = costs;
    assert.ok(record && record.cost.source !== 'unpriced');
    assert.equal(record.cost.priceSource, 'override');
    const spend = sumPoints(await otel.metricPoints('llm_cost.spend'), { 'gen_ai.request.model': 'acme-private-1' });
    assert.ok(Math.abs(spend - (input * 2 + output * 8) / 1e6) < 1e-15, 'the spend metric uses the override');
  });

  it('a model with neither an override nor price data stays unpriced: no USD figure at all', async () => {
    const span = await chat('acme-unlisted-2');
    assert.equal(attr(span, 'llm_cost.cost.source'), 'unpriced');
    assert.equal(attr(span, 'llm_cost.cost.usd'), undefined);
    assert.equal(attr(span, 'llm_cost.cost.price_source'), undefined);
  });

  it('an override wins over the price data, and prices cache reads at their own rate', async () => {
    const span = await chat('gpt-4o-mini', { cacheReadTokens: 100 });
    const input = attr(span, 'gen_ai.usage.input_tokens') as number;
    const cacheRead = attr(span, 'gen_ai.usage.cache_read.input_tokens') as number;
    assert.equal(cacheRead, 100);
    assert.equal(attr(span, 'llm_cost.cost.price_source'), 'override');
    assertClose(attr(span, 'llm_cost.cost.input_usd'), ((input - cacheRead) * 1 + cacheRead * 0.5) / 1e6);
    assertClose(attr(span, 'llm_cost.cost.output_usd'), (10 * 4) / 1e6);
  });

  it('an override for another provider leaves the price data in charge', async () => {
    const client = harness.anthropic();
    await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 50, messages }, script({ outputTokens: 10 }));
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.cost.price_source'), 'genai-prices');
    assert.ok((attr(span, 'llm_cost.cost.usd') as number) < 0.001);
  });

  it('models priced from the data are marked as such', async () => {
    const span = await chat('gpt-4o');
    assert.equal(attr(span, 'llm_cost.cost.price_source'), 'genai-prices');
    assert.equal(attr(span, 'llm_cost.cost.price_model'), 'gpt-4o');
  });
});

describe('invalid price overrides fail at construction, naming the option', () => {
  const cases: [string, unknown, RegExp][] = [
    ['a negative price', { m: { inputPerMTok: -1, outputPerMTok: 1 } }, /priceOverrides\["m"\]\.inputPerMTok .*got -1/],
    ['NaN', { m: { inputPerMTok: 1, outputPerMTok: Number.NaN } }, /priceOverrides\["m"\]\.outputPerMTok .*got NaN/],
    ['Infinity', { m: { inputPerMTok: 1, outputPerMTok: 1, cacheReadPerMTok: Infinity } }, /priceOverrides\["m"\]\.cacheReadPerMTok/],
    ['a string price', { m: { inputPerMTok: '0.3', outputPerMTok: 1 } }, /priceOverrides\["m"\]\.inputPerMTok .*got "0\.3"/],
    ['a missing output price', { m: { inputPerMTok: 1 } }, /priceOverrides\["m"\]\.outputPerMTok .*got undefined/],
    ['a misspelt field', { m: { inputPerMtok: 1, outputPerMTok: 1 } }, /priceOverrides\["m"\]\.inputPerMtok is not a price override field/],
    ['a number instead of an object', { m: 3 }, /priceOverrides\["m"\] must be an object/],
    ['an array', [{ inputPerMTok: 1, outputPerMTok: 1 }], /priceOverrides must be an object keyed by model id, got an array/],
    ['a bad provider', { m: { inputPerMTok: 1, outputPerMTok: 1, provider: 7 } }, /priceOverrides\["m"\]\.provider/],
  ];
  for (const [label, priceOverrides, message] of cases) {
    it(label, () => {
      const config = { enabled: false, priceOverrides } as unknown as LLMCostInstrumentationConfig;
      assert.throws(() => new LLMCostInstrumentation(config), message);
    });
  }

  it('setConfig checks them too, and a valid set is accepted', () => {
    const instrumentation = new LLMCostInstrumentation({ enabled: false, priceOverrides: { m: { inputPerMTok: 0, outputPerMTok: 0 } } });
    const bad = { enabled: false, priceOverrides: { m: { inputPerMTok: -2, outputPerMTok: 1 } } };
    assert.throws(() => instrumentation.setConfig(bad), /otel-llm-cost: priceOverrides\["m"\]\.inputPerMTok/);
  });
});
