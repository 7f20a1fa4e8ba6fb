/**
 * Which budgets a request is charged to: the enclosing `withBudget` scopes, plus the
 * budgets the instrumentation's configuration declares without any code around the call
 * (one default budget, and one budget per key read from the active context or baggage).
 */
import { context, propagation, type Context } from '@opentelemetry/api';
import { Budget, budgetFor, type BudgetOptions } from './budget.js';
import { scopedBudgets } from './scope.js';

export interface KeyedBudgetOptions extends Omit<BudgetOptions, 'name'> {
  /** The baggage entry whose value is the key (for example `tenant.id`). */
  readonly baggageKey?: string;
  /** Or: reads the key from the active context; takes precedence over `baggageKey`. */
  readonly key?: (activeContext: Context) => string | undefined;
  /** Prepended to the key to name the budget. Default `''`. */
  readonly namePrefix?: string;
}

export interface ConfiguredBudgets {
  readonly defaultBudget?: BudgetOptions;
  readonly keyedBudget?: KeyedBudgetOptions;
}

const defaultBudgets = new WeakMap<BudgetOptions, Budget>();

export function activeBudgets(config: ConfiguredBudgets): readonly Budget[] {
  const scoped = scopedBudgets();
  const { defaultBudget, keyedBudget } = config;
  if (!defaultBudget && !keyedBudget) return scoped;
  const budgets = [...scoped];
  const add = (budget: Budget | undefined) => {
    if (budget && !budgets.includes(budget)) budgets.push(budget);
  };
  if (keyedBudget) add(keyedBudgetFor(keyedBudget));
  if (defaultBudget) {
    let budget = defaultBudgets.get(defaultBudget);
    if (!budget) {
      budget = budgetFor({ ...defaultBudget, name: defaultBudget.name ?? 'default' });
      defaultBudgets.set(defaultBudget, budget);
    }
    add(budget);
  }
  return budgets;
}

function keyedBudgetFor(options: KeyedBudgetOptions): Budget | undefined {
  const active = context.active();
  const key = options.key ? options.key(active) : readBaggage(active, options.baggageKey);
  if (key === undefined || key.length === 0) return undefined;
  const { baggageKey: _baggageKey, key: _key, namePrefix, ...budgetOptions } = options;
  return budgetFor({ ...budgetOptions, name: `${namePrefix ?? ''}${key}` });
}

function readBaggage(active: Context, entry: string | undefined): string | undefined {
  if (entry === undefined) return undefined;
  return propagation.getBaggage(active)?.getEntry(entry)?.value;
}
