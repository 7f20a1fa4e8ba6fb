/**
 * Budget scopes: `withBudget` runs a function with a budget in force for every
 * instrumented request it makes, however deep in its async call tree.
 *
 * `withBudget` and `getBudget` are free functions, so they need to find an instrumentation:
 * they use the most recently enabled `LLMCostInstrumentation` (a service has one). That
 * list is the only module state of the budgets, bounded by the number of instances.
 */
import { logWarning } from '../core/safely.js';
import { validateWithBudgetArguments } from '../options/validate.js';
import { Budget, type BudgetOptions } from './budget.js';
import type { BudgetRegistry } from './registry.js';
import { InMemoryBudgetStore } from './store.js';
import { keepingProcessAlive } from '../core/keep-alive.js';
import { ScopedValue } from '../core/scoped-value.js';

/** Carried in the OpenTelemetry context (see scoped-value.ts for why not a storage of its own). */
const scopes = new ScopedValue<readonly Budget[]>(Symbol('otel-llm-cost: the budgets in force'));

/** The registries of enabled instrumentations, the most recently enabled last. */
const enabledRegistries: BudgetRegistry[] = [];

/** Names already warned about running without an instrumentation (bounded: a misconfiguration is one problem). */
const warnedNames = new Set<string>();

/** The budgets of the enclosing `withBudget` scopes, innermost first. */
export function scopedBudgets(): readonly Budget[] {
  return scopes.get() ?? [];
}

/** @internal An instrumentation was enabled (true) or disabled (false). */
export function useBudgetRegistry(registry: BudgetRegistry, enabled: boolean): void {
  const index = enabledRegistries.indexOf(registry);
  if (index >= 0) enabledRegistries.splice(index, 1);
  if (enabled) enabledRegistries.push(registry);
}

function currentRegistry(): BudgetRegistry | undefined {
  return enabledRegistries.at(-1);
}

/**
 * Runs `fn` with the budget in force: every instrumented request inside, streaming or not,
 * in either SDK, is charged to it and to every enclosing budget. Resolves with `fn`'s
 * result once the requests that ended inside it are priced and charged, so
 * `budget.spentUsd` is final when it resolves.
 */
export async function withBudget<T>(options: BudgetOptions | Budget, fn: (budget: Budget) => T | Promise<T>): Promise<T> {
  validateWithBudgetArguments(options, fn, { optionsIsBudget: options instanceof Budget });
  const budget = options instanceof Budget ? options : budgetFor(options);
  const enclosing = scopedBudgets();
  // The same named budget entered twice (nested scopes) is one account, charged once.
  const inForce = [budget, ...enclosing.filter((other) => other !== budget)];
  try {
    return await scopes.run(inForce, () => fn(budget));
  } finally {
    while (budget.settling.size > 0) await keepingProcessAlive(Promise.allSettled([...budget.settling]));
  }
}

function budgetFor(options: BudgetOptions): Budget {
  const registry = currentRegistry();
  if (registry) return registry.budgetFor(options);
  const name = options.name ?? '(unnamed)';
  if (!warnedNames.has(name) && warnedNames.size < 64) {
    warnedNames.add(name);
    logWarning(
      `withBudget: budget ${JSON.stringify(name)} is not enforced: no LLMCostInstrumentation is enabled, so no request is ` +
        'recorded or limited. Create and enable the instrumentation (for example in NodeSDK) before using budgets.',
    );
  }
  return new Budget(options.name ?? 'unenforced', options, new InMemoryBudgetStore());
}

/** The named budget, if one was declared through the enabled instrumentation (see registry.ts for its bound). */
export function getBudget(name: string): Budget | undefined {
  return currentRegistry()?.get(name);
}
