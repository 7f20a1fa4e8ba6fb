/**
 * The pricing step on its own (no SDK needed): the catalog's bounded look-up cache, dated
 * prices, per-tier overrides without token prices, hostile usage figures, a catalog that
 * throws, and the validation of the new options.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LLMCostInstrumentation, type LLMCostInstrumentationConfig } from '../src/index.js';
import type { PricedCost, ResolvedUsage } from '../src/core/model.js';
import { BUNDLED_PRICE_DATA, MAX_CACHED_MODELS, PriceCatalog, type PriceLookup } from '../src/pricing/catalog.js';
import { priceRequest, type PricingInput } from '../src/pricing/price-request.js';
import { GENAI_PRICES_VERSION } from '../src/version.js';

const M = 1_000_000;
const reported = (value: number) => ({ value, source: 'reported' as const });
const usage = (input: number, output: number, extra: Partial<ResolvedUsage> = {}): ResolvedUsage => ({
  input: reported(input),
  output: reported(output),
  ...extra,
});

function price(input: Omit<PricingInput, 'models'> & { model: string }, catalog: PriceLookup = new PriceCatalog(), overrides = {}): PricedCost {
  return priceRequest({ ...input, models: [input.model] }, { catalog, overrides });
}

function total(cost: PricedCost): number {
  assert.ok(cost.source !== 'unpriced', 'priced');
  return cost.totalUsd;
}

describe('price catalog', () => {
  it('the bundled label names the installed genai-prices version', () => {
    const installed = JSON.parse(readFileSync(join(__dirname, '..', 'node_modules', '@pydantic', 'genai-prices', 'package.json'), 'utf8')) as {
      version: string;
    };
    assert.equal(GENAI_PRICES_VERSION, installed.version);
    const pinned = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    assert.equal(pinned.dependencies['@pydantic/genai-prices'], GENAI_PRICES_VERSION, 'pinned exactly');
    assert.equal(new PriceCatalog().dataLabel, `genai-prices@${installed.version}`);
    assert.equal(BUNDLED_PRICE_DATA, `genai-prices@${installed.version}`);
  });

  it('caches a look-up per (provider, model), unpriced names included, and stays bounded', () => {
    const catalog = new PriceCatalog();
    const first = catalog.find('openai', 'gpt-4o-2024-08-06');
    assert.equal(first?.id, 'gpt-4o');
    assert.equal(catalog.find('openai', 'gpt-4o-2024-08-06'), first, 'the same entry, not a new look-up');
    assert.equal(catalog.find('openai', 'no-such-model'), undefined);
    assert.equal(catalog.cachedModels, 2);
    // A flood of invented names (a hostile or buggy client) cannot grow it past its bound.
    for (let i = 0; i < MAX_CACHED_MODELS + 100; i++) catalog.find('openai', `invented-${i}`);
    assert.equal(catalog.cachedModels, MAX_CACHED_MODELS);
  });

  it('prices the same through the cache as genai-prices does directly, for every usage shape', () => {
    const catalog = new PriceCatalog();
    const shapes: Partial<ResolvedUsage>[] = [
      {},
      { cacheRead: reported(1000) },
      { cacheCreation: reported(2000) },
      { cacheRead: reported(1000), cacheCreation: reported(2000), cacheCreation1h: reported(500) },
    ];
    for (const shape of shapes) {
      const cost = price({ provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', usage: usage(10_000, 300, shape) }, catalog);
      const read = shape.cacheRead?.value ?? 0;
      const write = shape.cacheCreation?.value ?? 0;
      const write1h = shape.cacheCreation1h?.value ?? 0;
      const expected = ((10_000 - read - write) * 3 + read * 0.3 + (write - write1h) * 3.75 + write1h * 6 + 300 * 15) / M;
      assert.ok(Math.abs(total(cost) - expected) < 1e-12, `${JSON.stringify(shape)}: ${total(cost)} vs ${expected}`);
    }
  });

  it('uses the price in force when the request was made (dated prices)', () => {
    // claude-sonnet-4-6 had long-context prices until 2026-03-13 (genai-prices' dated entries).
    const big = usage(300_000, 1000);
    const before = price({ provider: 'anthropic', model: 'claude-sonnet-4-6', usage: big, at: new Date('2026-03-01T00:00:00Z') });
    const after = price({ provider: 'anthropic', model: 'claude-sonnet-4-6', usage: big, at: new Date('2026-04-01T00:00:00Z') });
    assert.ok(Math.abs(total(before) - (300_000 * 6 + 1000 * 22.5) / M) < 1e-12);
    assert.ok(Math.abs(total(after) - (300_000 * 3 + 1000 * 15) / M) < 1e-12);
  });
});

describe('priceRequest', () => {
  it('a tier-only override prices a model the data lacks in that tier, and only there', () => {
    const overrides = { 'acme-1': { tiers: { priority: { inputPerMTok: 4, outputPerMTok: 8 } } } };
    const priority = price({ provider: 'openai', model: 'acme-1', usage: usage(1000, 100), servedServiceTier: 'priority' }, undefined, overrides);
    assert.ok(priority.source !== 'unpriced');
    assert.equal(priority.priceBasis, 'tier_override');
    assert.ok(Math.abs(priority.totalUsd - (1000 * 4 + 100 * 8) / M) < 1e-15);
    const standard = price({ provider: 'openai', model: 'acme-1', usage: usage(1000, 100) }, undefined, overrides);
    assert.equal(standard.source, 'unpriced', 'standard traffic of an unknown model stays unpriced');
  });

  it('an unknown tier word is kept and priced at standard, estimated', () => {
    const cost = price({ provider: 'openai', model: 'gpt-4o', usage: usage(1000, 100), servedServiceTier: 'Hyperspeed' });
    assert.ok(cost.source === 'estimated');
    assert.equal(cost.serviceTier, 'hyperspeed');
    assert.equal(cost.priceBasis, 'standard_tier');
  });

  it('hostile figures: 1-hour writes above the writes are capped; cache reads above the input leave it unpriced, without throwing', () => {
    const capped = price({
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
      usage: usage(10_000, 0, { cacheCreation: reported(1000), cacheCreation1h: reported(50_000) }),
    });
    assert.ok(Math.abs(total(capped) - (9000 * 1 + 1000 * 2) / M) < 1e-12);
    const impossible = price({ provider: 'openai', model: 'gpt-4o', usage: usage(100, 10, { cacheRead: reported(5000) }) });
    assert.equal(impossible.source, 'unpriced');
  });

  it('a catalog that throws leaves the request unpriced, never an error', () => {
    const broken: PriceLookup = {
      dataLabel: 'broken',
      find() {
        throw new Error('boom');
      },
    };
    assert.equal(price({ provider: 'openai', model: 'gpt-4o', usage: usage(10, 10) }, broken).source, 'unpriced');
  });

  it('unknown token counts are never priced', () => {
    const cost = priceRequest(
      { provider: 'openai', models: ['gpt-4o'], usage: { input: { value: 0, source: 'unknown' }, output: reported(5) } },
      { catalog: new PriceCatalog() },
    );
    assert.equal(cost.source, 'unpriced');
  });
});

describe('invalid tier, tool and update options fail at construction, naming the option', () => {
  const cases: [string, Partial<LLMCostInstrumentationConfig> | Record<string, unknown>, RegExp][] = [
    [
      'an unknown tier',
      { priceOverrides: { m: { tiers: { turbo: { inputPerMTok: 1, outputPerMTok: 1 } } } } },
      /priceOverrides\["m"\]\.tiers\.turbo is not a service tier/,
    ],
    [
      'a tier without output price',
      { priceOverrides: { m: { tiers: { priority: { inputPerMTok: 1 } } } } },
      /priceOverrides\["m"\]\.tiers\.priority\.outputPerMTok/,
    ],
    [
      'a misspelt tier field',
      { priceOverrides: { m: { tiers: { flex: { inputPerMTok: 1, outputPerMTok: 1, cachedPerMTok: 1 } } } } },
      /priceOverrides\["m"\]\.tiers\.flex\.cachedPerMTok is not a token price field/,
    ],
    ['tiers as an array', { priceOverrides: { m: { tiers: [] } } }, /priceOverrides\["m"\]\.tiers must be an object/],
    [
      'an unknown tool',
      { priceOverrides: { m: { toolCallUsd: { image_generation: 0.04 } } } },
      /priceOverrides\["m"\]\.toolCallUsd\.image_generation is not a server-side tool/,
    ],
    ['a negative tool fee', { priceOverrides: { m: { toolCallUsd: { web_search: -1 } } } }, /priceOverrides\["m"\]\.toolCallUsd\.web_search must be .*got -1/],
    ['half a token price next to tiers', { priceOverrides: { m: { inputPerMTok: 1, tiers: {} } } }, /priceOverrides\["m"\]\.outputPerMTok/],
    ['priceUpdates not an object', { priceUpdates: true }, /priceUpdates must be an object/],
    ['a priceUpdates typo', { priceUpdates: { intervalHour: 1 } }, /priceUpdates\.intervalHour is not a price update option/],
    ['a file URL', { priceUpdates: { url: 'file:///etc/passwd' } }, /priceUpdates\.url must be an http\(s\) URL/],
    ['a zero interval', { priceUpdates: { intervalHours: 0 } }, /priceUpdates\.intervalHours must be/],
    ['an interval setTimeout cannot hold', { priceUpdates: { intervalHours: 1000 } }, /priceUpdates\.intervalHours must be .*at most 596/],
    ['an empty cache file', { priceUpdates: { cacheFile: '' } }, /priceUpdates\.cacheFile/],
  ];
  for (const [label, config, message] of cases) {
    it(label, () => {
      assert.throws(() => new LLMCostInstrumentation({ enabled: false, ...config } as LLMCostInstrumentationConfig), message);
    });
  }

  it('valid ones are accepted', () => {
    const instrumentation = new LLMCostInstrumentation({
      enabled: false,
      priceOverrides: {
        'gpt-5': { tiers: { priority: { inputPerMTok: 2.5, outputPerMTok: 20 } }, toolCallUsd: { code_interpreter: 0.03 } },
        'my-model': { inputPerMTok: 1, outputPerMTok: 2, cacheWrite1hPerMTok: 2 },
      },
      priceUpdates: { url: 'https://example.com/data.json', intervalHours: 0.5, cacheFile: '/tmp/prices.json' },
    });
    assert.equal(instrumentation.priceData, BUNDLED_PRICE_DATA, 'disabled: nothing fetched');
  });
});
