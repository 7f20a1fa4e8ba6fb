/**
 * Every options object the package accepts refuses unknown keys and wrong types when it is
 * given, naming the option's path (and the nearest known key for a typo), through the real
 * entry points: `new LLMCostInstrumentation`, `setConfig`, `withBudget`, `new RedisBudgetStore`.
 * A store whose methods return promises is caught at first use against the real SDK and
 * emulator. The configurations the README, docs and examples show still pass, and the
 * option tables in the docs list exactly the keys the checks know.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import {
  Budget,
  BudgetStoreUnavailableError,
  InMemoryBudgetStore,
  LLMCostInstrumentation,
  RedisBudgetStore,
  withBudget,
  type BudgetKey,
  type BudgetStore,
  type LLMCostInstrumentationConfig,
  type Reservation,
} from '../src/index.js';
import * as schemas from '../src/options/schemas.js';
import { validateRedisBudgetStoreOptions } from '../src/options/validate.js';
import { useHarness } from './helpers/harness.js';
import { attr, onlySpan, script } from './helpers/spans.js';

const diagErrors: string[] = [];
const collect = (...args: unknown[]) => diagErrors.push(args.map(String).join(' '));
const ignore = () => {};
const logger: DiagLogger = { error: collect, warn: ignore, info: ignore, debug: ignore, verbose: ignore };
diag.setLogger(logger, { logLevel: DiagLogLevel.ERROR, suppressOverrideMessage: true });

const harness = useHarness();
const { otel } = harness;
let openai: InstanceType<typeof otel.OpenAI>;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

harness.setup(() => {
  process.on('unhandledRejection', onUnhandled);
  openai = harness.openai();
});
after(() => {
  process.off('unhandledRejection', onUnhandled);
});
beforeEach(() => {
  diagErrors.length = 0;
});

/** A correct synchronous store, for cases that need one. */
const syncStore = (): BudgetStore => new InMemoryBudgetStore();

class AsyncStore {
  async reserve(): Promise<Reservation> {
    return 'reserved';
  }
  add(): void {}
  total(): number {
    return 0;
  }
  reset(): void {}
}

class AsyncAddStore extends InMemoryBudgetStore {
  override async add(key: BudgetKey, amountUsd: number): Promise<void> {
    super.add(key, amountUsd);
  }
}

class PriceTable {
  'my-model' = { inputPerMTok: 1, outputPerMTok: 2 };
}

/** The message must start with the package's name and match `message` (which names the option). */
function assertNamed(error: unknown, message: RegExp): true {
  assert.ok(error instanceof TypeError || error instanceof RangeError, `got ${String(error)}`);
  assert.match(error.message, /^otel-llm-cost: /);
  assert.match(error.message, message);
  return true;
}

describe('the instrumentation configuration refuses typos and wrong types, naming the option', () => {
  const cases: [string, unknown, RegExp][] = [
    // The cases of the issue.
    [
      'a misspelt budget key',
      { defaultBudget: { maxUsd: 1, windw: 'day' } },
      /^otel-llm-cost: defaultBudget\.windw is not an option \(did you mean "window"\?\)$/,
    ],
    [
      'a misspelt top-level key (swapped letters)',
      { injectStreamUsgae: false },
      /^otel-llm-cost: injectStreamUsgae is not an option \(did you mean "injectStreamUsage"\?\)$/,
    ],
    [
      'a string for a boolean, quoted',
      { defaultBudget: { maxUsd: 1, clampMaxTokens: 'yes' } },
      /^otel-llm-cost: defaultBudget\.clampMaxTokens must be a boolean, got "yes"$/,
    ],
    [
      'a number as a fallback model',
      { defaultBudget: { maxUsd: 1, fallback: { atShare: 0.5, model: 'gpt-4o-mini', from: 42 } } },
      /^otel-llm-cost: defaultBudget\.fallback\.from must be a model name or an array of model names, got 42$/,
    ],
    [
      'priceOverrides as a Map (with a negative price inside)',
      { priceOverrides: new Map([['m', { inputPerMTok: -1, outputPerMTok: 1 }]]) },
      /^otel-llm-cost: priceOverrides must be an object keyed by model id, got a Map \(use a plain object, e\.g\. Object\.fromEntries\(map\)\)$/,
    ],
    [
      'a negative price',
      { priceOverrides: { m: { inputPerMTok: -1, outputPerMTok: 1 } } },
      /^otel-llm-cost: priceOverrides\["m"\]\.inputPerMTok must be a finite number of USD per million tokens, 0 or more, got -1$/,
    ],
    [
      'a budgetStore with async methods',
      { budgetStore: new AsyncStore() },
      /^otel-llm-cost: budgetStore\.reserve must be a synchronous function, got an async function: /,
    ],
    // Around them.
    ['priceOverrides as a class instance', { priceOverrides: new PriceTable() }, /priceOverrides must be an object keyed by model id, got a PriceTable$/],
    [
      'a misspelt price field',
      { priceOverrides: { m: { inputPerMtok: 1, outputPerMTok: 1 } } },
      /priceOverrides\["m"\]\.inputPerMtok is not a price override field \(did you mean "inputPerMTok"\?\)/,
    ],
    [
      'a budgetStore missing a method',
      { budgetStore: { reserve: () => 'reserved', add() {}, reset() {} } },
      /budgetStore\.total must be a synchronous function, got undefined/,
    ],
    ['a budgetStore that is a string', { budgetStore: 'redis://localhost' }, /budgetStore must be a BudgetStore .*, got "redis:\/\/localhost"/],
    [
      'a budgetStore with a flush that is not a function',
      { budgetStore: Object.assign(new InMemoryBudgetStore(), { flush: true }) },
      /budgetStore\.flush must be a function, got true/,
    ],
    [
      'a keyed budget store with an async method',
      { keyedBudget: { baggageKey: 'tenant.id', maxUsd: 1, store: new AsyncAddStore() } },
      /keyedBudget\.store\.add must be a synchronous function, got an async function/,
    ],
    [
      'a default budget store with an async method',
      { defaultBudget: { maxUsd: 1, store: new AsyncStore() } },
      /defaultBudget\.store\.reserve must be a synchronous function/,
    ],
    [
      'a name on a keyed budget (names come from the key)',
      { keyedBudget: { baggageKey: 'tenant.id', maxUsd: 1, name: 'x' } },
      /keyedBudget\.name is not an option \(known: maxUsd, store, window, clampMaxTokens, fallback, baggageKey, key, namePrefix\)/,
    ],
    [
      'a keyed budget without a key',
      { keyedBudget: { maxUsd: 1 } },
      /^otel-llm-cost: keyedBudget needs a baggageKey \(a baggage entry name\) or a key function$/,
    ],
    [
      'a baggage key that is not a string',
      { keyedBudget: { maxUsd: 1, baggageKey: 5 } },
      /keyedBudget\.baggageKey must be a baggage entry name \(a non-empty string\), got 5/,
    ],
    [
      'a key that is not a function',
      { keyedBudget: { maxUsd: 1, key: 'tenant.id' } },
      /keyedBudget\.key must be a function of the active context, got "tenant\.id"/,
    ],
    [
      'a misspelt keyed budget key',
      { keyedBudget: { baggagekey: 'tenant.id', maxUsd: 1 } },
      /keyedBudget\.baggagekey is not an option \(did you mean "baggageKey"\?\)/,
    ],
    [
      'an unknown window',
      { defaultBudget: { maxUsd: 1, window: 'week' } },
      /defaultBudget\.window must be "total", "day", "month" or \{ rollingMs \}, got "week"/,
    ],
    [
      'a misspelt rolling window',
      { defaultBudget: { maxUsd: 1, window: { rollingMS: 60000 } } },
      /defaultBudget\.window\.rollingMS is not an option \(did you mean "rollingMs"\?\)/,
    ],
    [
      'a rolling window of 0',
      { defaultBudget: { maxUsd: 1, window: { rollingMs: 0 } } },
      /defaultBudget\.window\.rollingMs must be a positive number of milliseconds, got 0/,
    ],
    ['a missing limit', { defaultBudget: { name: 'service' } }, /defaultBudget\.maxUsd must be a finite number of USD >= 0, got undefined/],
    ['a limit given as a string', { defaultBudget: { maxUsd: '5' } }, /defaultBudget\.maxUsd must be a finite number of USD >= 0, got "5"/],
    [
      'a fallback share above 1',
      { defaultBudget: { maxUsd: 1, fallback: { atShare: 2, model: 'x' } } },
      /defaultBudget\.fallback\.atShare must be a number in \(0, 1\], got 2/,
    ],
    [
      'a misspelt fallback key',
      { defaultBudget: { maxUsd: 1, fallback: { atshare: 0.8, model: 'x' } } },
      /defaultBudget\.fallback\.atshare is not an option \(did you mean "atShare"\?\)/,
    ],
    [
      'a bad item in a fallback list',
      { defaultBudget: { maxUsd: 1, fallback: { atShare: 0.8, model: 'x', from: ['gpt-4o', 3] } } },
      /defaultBudget\.fallback\.from\[1\] must be a model name \(a non-empty string\), got 3/,
    ],
    ['a budget given as a Map', { defaultBudget: new Map([['maxUsd', 1]]) }, /defaultBudget must be an object, got a Map/],
    ['enabled as a string', { enabled: 'false' }, /^otel-llm-cost: enabled must be a boolean, got "false"$/],
    ['anthropicNativeSpans out of its values', { anthropicNativeSpans: 'drop' }, /anthropicNativeSpans must be "suppress" or "keep", got "drop"/],
    ['onCost not a function', { onCost: 'yes' }, /onCost must be a function, got "yes"/],
    ['a timeout given as a string', { abandonedTimeoutMs: '100' }, /abandonedTimeoutMs must be a positive number of milliseconds up to 2147483647, got "100"/],
    ['a key far from every option', { tracing: true }, /^otel-llm-cost: tracing is not an option \(known: enabled, injectStreamUsage, /],
    ['a budget option at the top level', { maxUsd: 1 }, /^otel-llm-cost: maxUsd is not an option/],
    ['the configuration as a Map', new Map(), /^otel-llm-cost: the configuration must be an object, got a Map/],
  ];
  for (const [label, config, message] of cases) {
    it(label, () => {
      assert.throws(
        () => new LLMCostInstrumentation(config as LLMCostInstrumentationConfig),
        (error) => assertNamed(error, message),
      );
    });
  }

  it('setConfig checks the same, and keeps the previous configuration when it throws', () => {
    const instrumentation = new LLMCostInstrumentation({ enabled: false, injectStreamUsage: false });
    const bad = { enabled: false, defaultBudget: { maxUsd: 1, windw: 'day' } } as unknown as LLMCostInstrumentationConfig;
    assert.throws(
      () => instrumentation.setConfig(bad),
      (error) => assertNamed(error, /defaultBudget\.windw/),
    );
    assert.equal(instrumentation.getConfig().injectStreamUsage, false);
  });

  it('a configuration read back with getConfig() (the base class adds `enabled`) is accepted again', () => {
    const instrumentation = new LLMCostInstrumentation({ injectStreamUsage: false });
    instrumentation.disable();
    assert.equal(instrumentation.getConfig().enabled, true);
    assert.doesNotThrow(() => instrumentation.setConfig({ ...instrumentation.getConfig(), abandonedTimeoutMs: 1000 }));
  });

  it('a key whose value is undefined counts as unset', () => {
    assert.doesNotThrow(() => new LLMCostInstrumentation({ enabled: false, defaultBudget: undefined, onCost: undefined }));
  });
});

describe('withBudget checks its arguments before running anything', () => {
  const cases: [string, unknown, unknown, RegExp][] = [
    ['no function', { maxUsd: 1 }, undefined, /^otel-llm-cost: withBudget\(options, fn\): fn must be a function, got undefined$/],
    ['a promise instead of a function', { maxUsd: 1 }, Promise.resolve(1), /withBudget\(options, fn\): fn must be a function, got a Promise/],
    [
      'a misspelt option',
      { maxUsd: 1, windw: 'day' },
      () => 1,
      /^otel-llm-cost: withBudget\(options, fn\): options\.windw is not an option \(did you mean "window"\?\)$/,
    ],
    [
      'a string for a boolean',
      { maxUsd: 1, clampMaxTokens: 'yes' },
      () => 1,
      /withBudget\(options, fn\): options\.clampMaxTokens must be a boolean, got "yes"/,
    ],
    ['a limit given as a string', { maxUsd: '1' }, () => 1, /withBudget\(options, fn\): options\.maxUsd must be a finite number of USD >= 0, got "1"/],
    ['NaN as the limit', { maxUsd: Number.NaN }, () => 1, /options\.maxUsd must be a finite number of USD >= 0, got NaN/],
    ['an empty name', { maxUsd: 1, name: '' }, () => 1, /options\.name must be a non-empty string, got ""/],
    [
      'a store with async methods',
      { maxUsd: 1, store: new AsyncStore() },
      () => 1,
      /withBudget\(options, fn\): options\.store\.reserve must be a synchronous function, got an async function/,
    ],
    ['no options', undefined, () => 1, /withBudget\(options, fn\): options must be an object, got undefined/],
    ['the arguments swapped', () => 1, { maxUsd: 1 }, /withBudget\(options, fn\): options must be an object, got a function/],
  ];
  for (const [label, options, fn, message] of cases) {
    it(label, async () => {
      let ran = false;
      const tracked =
        typeof fn === 'function'
          ? () => {
              ran = true;
              return (fn as () => unknown)();
            }
          : fn;
      await assert.rejects(withBudget(options as never, tracked as never), (error) => assertNamed(error, message));
      assert.equal(ran, false);
    });
  }

  it('a Budget (already checked) is accepted as the options', async () => {
    const budget = await withBudget({ name: `options-test-${process.pid}`, maxUsd: 1 }, (b) => b);
    assert.ok(budget instanceof Budget);
    assert.equal(await withBudget(budget, () => 'ran'), 'ran');
  });
});

describe('new RedisBudgetStore(options) checks its options the same way', () => {
  const cases: [string, unknown, RegExp][] = [
    [
      'a misspelt option',
      { url: 'redis://127.0.0.1:1', failmode: 'closed' },
      /^otel-llm-cost: new RedisBudgetStore\(options\): options\.failmode is not an option \(did you mean "failMode"\?\)$/,
    ],
    ['an unknown failMode, quoted', { url: 'redis://127.0.0.1:1', failMode: 'maybe' }, /options\.failMode must be "open" or "closed", got "maybe"/],
    [
      'a timeout Node would fire at once',
      { url: 'redis://127.0.0.1:1', timeoutMs: 1e12 },
      /options\.timeoutMs must be a positive number of milliseconds up to 2147483647, got 1000000000000/,
    ],
    ['a zero sync interval', { url: 'redis://127.0.0.1:1', syncIntervalMs: 0 }, /options\.syncIntervalMs must be a positive number of milliseconds/],
    ['a negative near-limit share', { url: 'redis://127.0.0.1:1', nearLimitShare: -0.1 }, /options\.nearLimitShare must be a positive number, got -0\.1/],
    ['a URL given as the client', { client: 'redis://127.0.0.1:1' }, /options\.client must be a Redis client .*, got "redis:\/\/127\.0\.0\.1:1"/],
    ['a client without sendCommand', { client: {} }, /options\.client\.sendCommand must be a function, got undefined/],
    ['a URL that is not a string', { url: 6379 }, /options\.url must be a Redis URL \(a non-empty string\), got 6379/],
    ['a key prefix that is not a string', { url: 'redis://127.0.0.1:1', keyPrefix: 1 }, /options\.keyPrefix must be a string, got 1/],
    ['neither client nor url', {}, /^otel-llm-cost: new RedisBudgetStore\(options\): options needs exactly one of `client` or `url`$/],
    ['both client and url', { url: 'redis://127.0.0.1:1', client: { sendCommand: async () => 'OK' } }, /needs exactly one of `client` or `url`/],
    ['no options', undefined, /new RedisBudgetStore\(options\): options must be an object: \{ client \} or \{ url \}, got undefined/],
  ];
  for (const [label, options, message] of cases) {
    it(label, () => {
      assert.throws(
        () => new RedisBudgetStore(options as never),
        (error) => assertNamed(error, message),
      );
    });
  }

  it('a RedisBudgetStore is a valid budgetStore (its flush is async by contract, the rest is not)', async () => {
    const store = new RedisBudgetStore({ client: { sendCommand: async () => 'OK' } });
    try {
      assert.doesNotThrow(() => new LLMCostInstrumentation({ enabled: false, budgetStore: store }));
    } finally {
      new LLMCostInstrumentation({ enabled: false });
      await store.close();
    }
  });
});

/** A store that is not declared async but hands back promises from `methods`; it counts calls. */
function promisingStore(methods: readonly (keyof BudgetStore)[], settle: 'resolve' | 'reject') {
  const inner = new InMemoryBudgetStore();
  const calls: string[] = [];
  const answer = <T>(method: keyof BudgetStore, value: T): T | Promise<T> => {
    calls.push(method);
    if (!methods.includes(method)) return value;
    return settle === 'resolve' ? Promise.resolve(value) : Promise.reject(new Error(`store ${method} failed`));
  };
  const store = {
    reserve: (key: BudgetKey, usd: number, limit: number) => answer('reserve', inner.reserve(key, usd, limit)),
    add: (key: BudgetKey, usd: number) => answer('add', inner.add(key, usd)),
    total: (key: BudgetKey) => answer('total', inner.total(key)),
    reset: (key: BudgetKey) => answer('reset', inner.reset(key)),
  };
  return { store: store as unknown as BudgetStore, calls };
}

const stream = async (turn: number) => {
  const chunks = await openai.chat.completions.create(
    { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Story ${turn}, please.` }], stream: true },
    script({ outputTokens: 40 }),
  );
  let count = 0;
  for await (const _chunk of chunks) count++;
  return count;
};

describe('a store whose methods return promises is caught at first use, and treated as unavailable', () => {
  it('reserve() returns a rejecting promise: refused before sending, one diag error, no unhandled rejection, never called again', async () => {
    const { store, calls } = promisingStore(['reserve'], 'reject');
    const name = `promising-reserve-${process.pid}`;
    await assert.rejects(
      withBudget({ name, maxUsd: 1, store }, () => stream(1)),
      BudgetStoreUnavailableError,
    );
    await assert.rejects(
      withBudget({ name, maxUsd: 1, store }, () => stream(2)),
      BudgetStoreUnavailableError,
    );
    assert.equal(harness.emulator.requests.length, 0, 'nothing was sent');
    assert.deepEqual(calls, ['reserve'], 'the store is not called after the first promise');
    assert.equal(diagErrors.length, 1, diagErrors.join('\n'));
    assert.match(
      diagErrors[0]!,
      /^otel-llm-cost the store of budget "promising-reserve-\d+"\.reserve\(\) returned a promise; BudgetStore methods must be synchronous .*BudgetStoreUnavailableError/,
    );
    const spans = await otel.settle(2);
    assert.deepEqual(
      spans.map((span) => attr(span, 'llm_cost.stream.outcome')),
      ['budget_exceeded', 'budget_exceeded'],
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(unhandled, []);
  });

  it('add() returns promises (the configured budgetStore): the running stream is delivered whole, the next request is refused', async () => {
    const { store, calls } = promisingStore(['add'], 'reject');
    otel.instrumentation.setConfig({ budgetStore: store, defaultBudget: { name: `promising-add-${process.pid}`, maxUsd: 1 } });
    try {
      const chunks = await stream(1);
      const sent = harness.emulator.requests.length;
      assert.ok(chunks > 10, `${chunks} chunks`);
      assert.equal(onlySpan(await otel.settle()).attributes['llm_cost.stream.outcome'], 'completed');
      assert.equal(diagErrors.length, 1, diagErrors.join('\n'));
      assert.match(diagErrors[0]!, /^otel-llm-cost budgetStore\.add\(\) returned a promise/);
      const addsSeen = calls.filter((call) => call === 'add').length;
      assert.equal(addsSeen, 1, 'add is not called after its first promise');
      await assert.rejects(stream(2), BudgetStoreUnavailableError);
      assert.equal(harness.emulator.requests.length, sent, 'the refused request was not sent');
      assert.equal(diagErrors.length, 1);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      otel.instrumentation.setConfig({});
    }
  });

  it('total() returns a promise: the limit cannot be read, so the store is unavailable from then on', async () => {
    const { store } = promisingStore(['total'], 'resolve');
    const name = `promising-total-${process.pid}`;
    // Clamping reads the remaining amount (total) before reserving.
    await assert.rejects(
      withBudget({ name, maxUsd: 1, store, clampMaxTokens: true }, () => stream(1)),
      BudgetStoreUnavailableError,
    );
    assert.equal(harness.emulator.requests.length, 0);
    assert.equal(diagErrors.length, 1);
    assert.match(diagErrors[0]!, /store of budget "promising-total-\d+"\.total\(\) returned a promise/);
  });

  it('a synchronous store given the same way is called as before', async () => {
    const store = syncStore();
    const name = `sync-store-${process.pid}`;
    const chunks = await withBudget({ name, maxUsd: 1, store }, () => stream(1));
    assert.ok(chunks > 10);
    assert.ok(store.total({ name, window: 'total' }) > 0, 'the request was charged to the store');
    assert.deepEqual(diagErrors, []);
  });
});

describe('the configurations shown in the README, docs and examples pass', () => {
  const client = {
    sendCommand: async () => 'OK',
    get isReady() {
      return true;
    },
  };
  const configs: [string, LLMCostInstrumentationConfig][] = [
    ['README: no options', {}],
    ['examples/bill-your-users.cjs, demo.cjs, prometheus-app.cjs: onCost', { onCost: () => {} }],
    ['test/matrix/packaging/types.mts', { anthropicNativeSpans: 'keep', onCost: () => {} }],
    ['test/abandoned.test.ts', { abandonedTimeoutMs: 60000 }],
    ['README: injectStreamUsage off for a server that rejects stream_options', { injectStreamUsage: false }],
    [
      'docs/budgets.md: budgets without code around each call',
      {
        defaultBudget: { name: 'service', maxUsd: 200, window: 'day' },
        keyedBudget: { baggageKey: 'tenant.id', namePrefix: 'tenant:', maxUsd: 5, window: 'day' },
      },
    ],
    ['examples/budget-caps.cjs', { keyedBudget: { baggageKey: 'tenant.id', namePrefix: 'tenant:', maxUsd: 0.00005, window: 'day' } }],
    ['README: keyedBudget with a key function', { keyedBudget: { key: () => 'tenant-1', maxUsd: 1 } }],
    [
      'docs/budgets.md: clamp and fallback',
      {
        defaultBudget: { maxUsd: 10, clampMaxTokens: true, fallback: { atShare: 0.8, model: 'gpt-4o-mini', from: 'gpt-4o' } },
      },
    ],
    [
      'README: fallback from a list, rolling window',
      {
        defaultBudget: { maxUsd: 10, window: { rollingMs: 3_600_000 }, fallback: { atShare: 0.5, model: 'gpt-4o-mini', from: ['gpt-4o', 'o3'] } },
      },
    ],
    [
      'docs/configuration.md: price overrides',
      {
        priceOverrides: {
          'ft:gpt-4o-mini-2024-07-18:acme::9abcDEF': { inputPerMTok: 0.3, outputPerMTok: 1.2, cacheReadPerMTok: 0.15 },
          'gpt-4o': { inputPerMTok: 2.0, outputPerMTok: 8.0, provider: 'azure.ai.openai' },
        },
      },
    ],
    ['docs/configuration.md: message content', { captureMessageContent: true, messageContentMaxLength: 4096 }],
    ['a prototype-less options object', Object.assign(Object.create(null) as object, { injectStreamUsage: true })],
  ];
  for (const [source, config] of configs) {
    it(source, () => {
      assert.doesNotThrow(() => new LLMCostInstrumentation({ ...config, enabled: false }));
    });
  }

  it('README, docs/budgets-redis.md, examples/fleet-budget-redis.cjs: a RedisBudgetStore from a URL, a client or an adapter', async () => {
    // A store from a URL would connect: its options are checked on their own.
    assert.doesNotThrow(() => validateRedisBudgetStoreOptions({ url: 'redis://127.0.0.1:6379', failMode: 'open' }));
    const stores = [
      new RedisBudgetStore({ client }),
      new RedisBudgetStore({ client, keyPrefix: 'app:', failMode: 'closed', syncIntervalMs: 50, timeoutMs: 1000, nearLimitShare: 0.2 }),
    ];
    try {
      for (const budgetStore of stores) {
        assert.doesNotThrow(() => new LLMCostInstrumentation({ enabled: false, budgetStore }));
      }
      assert.equal(await withBudget({ name: `fleet-doc-${process.pid}`, maxUsd: 1, store: stores[0]! }, () => 'ran'), 'ran');
    } finally {
      // The last instrumentation built sets the process-wide store: put the default back.
      new LLMCostInstrumentation({ enabled: false });
      await Promise.allSettled(stores.map((store) => store.close()));
    }
  });

  it('README and docs/budgets.md: withBudget with a session budget', async () => {
    assert.equal(await withBudget({ name: 'session-42', maxUsd: 0.5 }, () => 'ran'), 'ran');
    assert.equal(await withBudget({ maxUsd: 0.5, window: 'month', clampMaxTokens: false }, async () => 'ran'), 'ran');
  });
});

describe('the option tables in the docs list exactly the keys the checks know', () => {
  const root = join(__dirname, '..');
  /** The first-column `code` names of the first table after `heading` in a Markdown file. */
  function tableKeys(file: string, heading: string): string[] {
    const text = readFileSync(join(root, file), 'utf8');
    const start = text.indexOf(`\n${heading}\n`);
    assert.ok(start >= 0, `${file}: heading ${heading}`);
    const lines = text.slice(start).split('\n');
    const first = lines.findIndex((line) => line.startsWith('|'));
    const keys: string[] = [];
    for (const line of lines.slice(first + 2)) {
      if (!line.startsWith('|')) break;
      const key = /^\| `([A-Za-z]+)` \|/.exec(line)?.[1];
      if (key) keys.push(key);
    }
    return keys.sort();
  }

  it('README: the instrumentation configuration (plus `enabled`, from InstrumentationConfig)', () => {
    assert.deepEqual(['enabled', ...tableKeys('README.md', '### Configuration')].sort(), [...schemas.instrumentationConfig.keys].sort());
  });
  it('docs/budgets.md: budget options', () => {
    assert.deepEqual(tableKeys('docs/budgets.md', '## Options'), [...schemas.budgetOptions.keys].sort());
  });
  it('docs/budgets-redis.md: RedisBudgetStore options', () => {
    assert.deepEqual(tableKeys('docs/budgets-redis.md', '## Options'), [...schemas.redisBudgetStoreOptions.keys].sort());
  });
  it('README: the keyed budget row names its own options', () => {
    const row = readFileSync(join(root, 'README.md'), 'utf8')
      .split('\n')
      .find((line) => line.startsWith('| `keyedBudget` |'));
    for (const key of ['baggageKey', 'key', 'namePrefix']) assert.match(row ?? '', new RegExp(`\\b${key}\\b`));
  });
});
