/**
 * Checks every options object the package accepts, when it is given (construction,
 * `setConfig`, `withBudget`), so that a typo or a wrong type throws naming the option
 * instead of being ignored. Each function returns its argument unchanged, typed.
 */
import type { BudgetOptions } from '../budget/budget.js';
import type { RedisBudgetStoreOptions } from '../budget/redis-store.js';
import type { BudgetStore } from '../budget/store.js';
import type { PriceOverrides } from '../pricing/overrides.js';
import type { LLMCostInstrumentationConfig } from '../types.js';
import * as schemas from './schemas.js';
import { func, OptionPath, type Spec } from './spec.js';

/** `new LLMCostInstrumentation(config)` and `setConfig(config)`: options named bare (`defaultBudget.window`). */
export function validateInstrumentationConfig(config: unknown): LLMCostInstrumentationConfig {
  return check(schemas.instrumentationConfig, config, OptionPath.root('', { wholeName: 'the configuration' }));
}

/** Budget options found under `path` (`defaultBudget`, or `budget` for a `Budget` built directly). */
export function validateBudgetOptions<T extends BudgetOptions>(options: T, path: string): T {
  return check(schemas.budgetOptions, options, OptionPath.root(path));
}

/**
 * `withBudget(options, fn)`: `fn` must be a function, and `options` valid budget options
 * unless it is a `Budget` (checked when it was made). Called before anything runs.
 */
export function validateWithBudgetArguments(options: unknown, fn: unknown, { optionsIsBudget }: { optionsIsBudget: boolean }): void {
  const call = 'withBudget(options, fn)';
  if (!optionsIsBudget) check(schemas.budgetOptions, options, OptionPath.root('options', { call }));
  func.check(fn, OptionPath.root('fn', { call }));
}

/** `costFetch(fetch?, options?)`: `fetch` a function when given, `options` valid. Called when the wrapper is made. */
export function validateCostFetchArguments(fetch: unknown, options: unknown): void {
  const call = 'costFetch(fetch, options)';
  if (fetch !== undefined) func.check(fetch, OptionPath.root('fetch', { call }));
  if (options !== undefined) check(schemas.costFetchOptions, options, OptionPath.root('options', { call }));
}

/** The `priceOverrides` option, also usable on its own (for price data loaded at run time). */
export function validatePriceOverrides(value: unknown, path = 'priceOverrides'): PriceOverrides | undefined {
  if (value === undefined) return undefined;
  return check(schemas.priceOverrides, value, OptionPath.root(path));
}

/** `new RedisBudgetStore(options)`. */
export function validateRedisBudgetStoreOptions(options: unknown): RedisBudgetStoreOptions {
  return check(schemas.redisBudgetStoreOptions, options, OptionPath.root('options', { call: 'new RedisBudgetStore(options)' }));
}

/** A `BudgetStore` given under `path`: its four methods present and not `async`. */
export function validateBudgetStore(store: unknown, path: string): BudgetStore {
  return check(schemas.budgetStore, store, OptionPath.root(path));
}

function check<T>(spec: Spec, value: unknown, path: OptionPath): T {
  spec.check(value, path);
  return value as T;
}
