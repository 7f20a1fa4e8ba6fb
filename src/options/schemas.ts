/**
 * The specs of every options object the package accepts. Each object spec lists every key
 * of its TypeScript interface (`Fields<T>` makes a missing one a compile error), so an
 * option added to an interface must be given a check here.
 */
import type { KeyedBudgetOptions } from '../budget/watcher.js';
import type { BudgetFallback, BudgetOptions } from '../budget/budget.js';
import type { RedisBudgetStoreOptions } from '../budget/redis-store.js';
import { SERVER_TOOLS, type ServerTool } from '../core/model.js';
import type { PriceOverride, TokenPrices } from '../pricing/overrides.js';
import { MAX_INTERVAL_HOURS, type PriceUpdateOptions } from '../pricing/price-updates.js';
import { OVERRIDE_TIERS, type OverrideTier } from '../pricing/service-tiers.js';
import type { CostFetchOptions } from '../fetch/cost-fetch.js';
import type { LLMCostInstrumentationConfig } from '../types.js';
import type { ProviderCountLimits } from '../core/provider-count.js';
import {
  arrayOf,
  boolean,
  byType,
  func,
  is,
  isAsyncFunction,
  literal,
  mismatch,
  nonEmptyString,
  number,
  object,
  record,
  required,
  string,
  type Fields,
  type ObjectSpec,
  type Spec,
} from './spec.js';

/** Node's timers fire after 1 ms for any delay above 2^31-1 ms: a longer timeout would act at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const wholeNumberUpTo = (max: number): Spec => number(`a whole number from 1 to ${max}`, (value) => Number.isInteger(value) && value > 0 && value <= max);

const timerMs = number(`a positive number of milliseconds up to ${MAX_TIMER_MS}`, (value) => value > 0 && value <= MAX_TIMER_MS);

// ---- budgets ----------------------------------------------------------------------------

const STORE_METHODS = ['reserve', 'add', 'total', 'reset'] as const;

const storeMethod: Spec = {
  expected: 'a synchronous function',
  check(value, path) {
    if (typeof value !== 'function') mismatch(storeMethod, value, path);
    if (isAsyncFunction(value)) {
      // An async method returns a promise whatever it does; the budget checks run before the
      // SDK call returns and on every chunk, so they cannot wait for one.
      path.fail(
        'must be a synchronous function, got an async function: budgets call the store before the SDK call returns and on every chunk, and cannot wait for a promise (see docs/budgets.md#stores)',
      );
    }
  },
};

/**
 * A `BudgetStore`: any object (a class instance is the usual case) whose four methods are
 * synchronous functions; `flush` may be async. Other members are the store's own business.
 * A method that is not declared `async` but returns a promise is caught at first use
 * (`budget/sync-store.ts`).
 */
export const budgetStore: Spec = {
  expected: 'a BudgetStore (an object with reserve, add, total and reset methods)',
  check(value, path) {
    if ((typeof value !== 'object' && typeof value !== 'function') || value === null) mismatch(budgetStore, value, path);
    const store = value as Record<string, unknown>;
    for (const method of STORE_METHODS) storeMethod.check(store[method], path.key(method));
    if (store.flush !== undefined) func.check(store.flush, path.key('flush'));
  },
};

const modelName = nonEmptyString('a model name (a non-empty string)');

const fallback = object<BudgetFallback>({
  atShare: required(number('a number in (0, 1]', (value) => value > 0 && value <= 1)),
  model: required(modelName),
  from: byType('a model name or an array of model names', {
    string: modelName,
    object: arrayOf(modelName, 'a model name or an array of model names'),
  }),
});

const budgetWindow = byType('"total", "day", "month" or { rollingMs }', {
  string: literal('total', 'day', 'month'),
  object: object<{ rollingMs: number }>({
    rollingMs: required(number('a positive number of milliseconds', (value) => Number.isFinite(value) && value > 0)),
  }),
});

/** The fields every budget has, `withBudget`'s, `defaultBudget`'s and `keyedBudget`'s alike. */
const budgetFields = {
  maxUsd: required(number('a finite number of USD >= 0', (value) => Number.isFinite(value) && value >= 0)),
  store: budgetStore,
  window: budgetWindow,
  clampMaxTokens: boolean,
  fallback,
} as const;

export const budgetOptions: ObjectSpec = object<BudgetOptions>({
  ...budgetFields,
  name: nonEmptyString(),
});

export const keyedBudgetOptions: ObjectSpec = object<KeyedBudgetOptions>(
  {
    ...budgetFields,
    baggageKey: nonEmptyString('a baggage entry name (a non-empty string)'),
    key: is('a function of the active context', (value) => typeof value === 'function'),
    namePrefix: string,
  },
  {
    refine(value, path) {
      if (value.key === undefined && value.baggageKey === undefined) {
        path.fail('needs a baggageKey (a baggage entry name) or a key function');
      }
    },
  },
);

// ---- prices -----------------------------------------------------------------------------

const usdPerMTok = number('a finite number of USD per million tokens, 0 or more', (value) => Number.isFinite(value) && value >= 0);

const tokenPriceFields = {
  inputPerMTok: usdPerMTok,
  outputPerMTok: usdPerMTok,
  cacheReadPerMTok: usdPerMTok,
  cacheWritePerMTok: usdPerMTok,
  cacheWrite1hPerMTok: usdPerMTok,
} as const;

const tokenPrices: ObjectSpec = object<TokenPrices>(
  { ...tokenPriceFields, inputPerMTok: required(usdPerMTok), outputPerMTok: required(usdPerMTok) },
  { expected: 'an object with inputPerMTok and outputPerMTok', unknownKey: 'a token price field' },
);

const usdPerCall = number('a finite number of USD per call, 0 or more', (value) => Number.isFinite(value) && value >= 0);

export const priceOverride: ObjectSpec = object<PriceOverride>(
  {
    ...tokenPriceFields,
    provider: nonEmptyString(),
    // Fixed vocabularies, so checked as objects: a misspelt tier or tool gets a "did you mean".
    tiers: object<Record<OverrideTier, TokenPrices>>(
      Object.fromEntries(OVERRIDE_TIERS.map((tier) => [tier, tokenPrices])) as unknown as Fields<Record<OverrideTier, TokenPrices>>,
      { expected: 'an object keyed by service tier', unknownKey: 'a service tier with its own prices' },
    ),
    toolCallUsd: object<Record<ServerTool, number>>(
      Object.fromEntries(SERVER_TOOLS.map((tool) => [tool, usdPerCall])) as unknown as Fields<Record<ServerTool, number>>,
      { expected: 'an object keyed by server-side tool', unknownKey: 'a server-side tool' },
    ),
  },
  {
    expected: 'an object with inputPerMTok and outputPerMTok, tiers or toolCallUsd',
    unknownKey: 'a price override field',
    refine(value, path) {
      // Token prices come as a pair; an override of only tiers or tool fees needs none.
      const tokenPricesGiven = Object.keys(tokenPriceFields).some((field) => value[field] !== undefined);
      if (!tokenPricesGiven && (value.tiers !== undefined || value.toolCallUsd !== undefined)) return;
      for (const field of ['inputPerMTok', 'outputPerMTok']) {
        if (value[field] === undefined) mismatch(usdPerMTok, undefined, path.key(field));
      }
    },
  },
);

export const priceUpdates: ObjectSpec = object<PriceUpdateOptions>(
  {
    url: is('an http(s) URL', (value) => {
      try {
        return typeof value === 'string' && ['http:', 'https:'].includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }),
    intervalHours: number(
      `a number of hours above 0 and at most ${MAX_INTERVAL_HOURS}`,
      (value) => Number.isFinite(value) && value > 0 && value <= MAX_INTERVAL_HOURS,
    ),
    cacheFile: nonEmptyString('a non-empty file path'),
  },
  { expected: 'an object ({ url?, intervalHours?, cacheFile? })', unknownKey: 'a price update option' },
);

export const priceOverrides: Spec = record('an object keyed by model id', priceOverride, (model, path) => {
  if (model.length === 0) path.fail('has an empty model id');
});

// ---- fetch -------------------------------------------------------------------------------

const baseURL = is('an http(s) base URL', (value) => {
  try {
    return typeof value === 'string' && ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
});

const baseURLs = arrayOf(baseURL, 'an array of http(s) base URLs');

export const costFetchOptions: ObjectSpec = object<CostFetchOptions>({ baseURLs }, { expected: 'an object ({ baseURLs? })', unknownKey: 'a costFetch option' });

// ---- the instrumentation ----------------------------------------------------------------

export const instrumentationConfig: ObjectSpec = object<LLMCostInstrumentationConfig>(
  {
    // From `InstrumentationConfig` (@opentelemetry/instrumentation 0.200 to 0.30x: `enabled` only).
    enabled: boolean,
    injectStreamUsage: boolean,
    abandonedTimeoutMs: timerMs,
    onCost: func,
    defaultBudget: budgetOptions,
    keyedBudget: keyedBudgetOptions,
    budgetStore,
    anthropicNativeSpans: literal('suppress', 'keep'),
    priceOverrides,
    priceUpdates,
    exactCounting: literal('provider', 'off'),
    providerCountLimits: object<Partial<ProviderCountLimits>>(
      {
        timeoutMs: wholeNumberUpTo(MAX_TIMER_MS),
        maxConcurrent: wholeNumberUpTo(1_000),
        maxPerMinute: wholeNumberUpTo(100_000),
      },
      { expected: 'an object ({ timeoutMs?, maxConcurrent?, maxPerMinute? })' },
    ),
    estimatorConstants: record('an object of numbers keyed by constant name (docs/accuracy.md)', number('a finite number', Number.isFinite)),
    captureMessageContent: boolean,
    messageContentMaxLength: number('a positive whole number of characters', (value) => Number.isInteger(value) && value > 0),
    instrumentGlobalFetch: boolean,
    fetchBaseURLs: baseURLs,
  },
  { expected: 'an object' },
);

// ---- the Redis store --------------------------------------------------------------------

const redisClient: Spec = {
  expected: 'a Redis client (an object with sendCommand(args), such as a node-redis 4 or 5 client)',
  check(value, path) {
    if (typeof value !== 'object' || value === null) mismatch(redisClient, value, path);
    func.check((value as Record<string, unknown>).sendCommand, path.key('sendCommand'));
  },
};

export const redisBudgetStoreOptions: ObjectSpec = object<RedisBudgetStoreOptions>(
  {
    client: redisClient,
    url: nonEmptyString('a Redis URL (a non-empty string)'),
    keyPrefix: string,
    failMode: literal('open', 'closed'),
    syncIntervalMs: timerMs,
    refreshMs: timerMs,
    timeoutMs: timerMs,
    nearLimitShare: number('a positive number', (value) => Number.isFinite(value) && value > 0),
    batchSize: number('a whole number of scripts, 1 or more', (value) => Number.isInteger(value) && value >= 1),
    evictIdleMs: timerMs,
  },
  {
    expected: 'an object: { client } or { url }',
    refine(value, path) {
      if ((value.client === undefined) === (value.url === undefined)) path.fail('needs exactly one of `client` or `url`');
    },
  },
);
