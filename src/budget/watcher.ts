/**
 * Budgets as a listener on the request lifecycle: before each request is sent, find the
 * budgets it is charged to (the enclosing `withBudget` scopes, then the configured keyed and
 * default budgets) and admit it (admit.ts); the returned watch follows its stream and
 * settles its final cost (guard.ts). Everything here belongs to one instrumentation.
 */
import { context, propagation, type Context } from '@opentelemetry/api';
import type { PlannedCall } from '../core/adapter.js';
import { logInternalError, logWarning } from '../core/safely.js';
import type { Admission, RequestWatcher } from '../core/watch.js';
import type { PriceSources } from '../pricing/price-request.js';
import { admitRequest } from './admit.js';
import type { Budget, BudgetOptions } from './budget.js';
import type { BudgetContext } from './guard.js';
import { TokenRatios } from './output-meter.js';
import { BudgetRegistry } from './registry.js';
import { scopedBudgets, useBudgetRegistry } from './scope.js';
import { InMemoryBudgetStore, type BudgetStore } from './store.js';
import { guardStore } from './sync-store.js';

export interface KeyedBudgetOptions extends Omit<BudgetOptions, 'name'> {
  /** The baggage entry whose value is the key (for example `tenant.id`). */
  readonly baggageKey?: string;
  /** Or: reads the key from the active context; takes precedence over `baggageKey`. */
  readonly key?: (activeContext: Context) => string | undefined;
  /** Prepended to the key to name the budget. Default `''`. */
  readonly namePrefix?: string;
}

/** The budget settings of the instrumentation's configuration. */
export interface BudgetConfig {
  readonly defaultBudget?: BudgetOptions;
  readonly keyedBudget?: KeyedBudgetOptions;
  readonly budgetStore?: BudgetStore;
}

/** Models warned about once each (bounded: a misconfigured model is one problem). */
const UNPRICED_WARNINGS = 256;

export class BudgetWatcher implements RequestWatcher {
  private config: BudgetConfig = {};
  private registry: BudgetRegistry = new BudgetRegistry(new InMemoryBudgetStore());
  private defaultBudget: Budget | undefined;
  private readonly unpricedWarned = new Set<string>();
  private readonly context: BudgetContext;
  private enabled = false;

  constructor(config: BudgetConfig, pricing: () => PriceSources) {
    const ratios = new TokenRatios();
    this.context = {
      pricing,
      ratios,
      warnUnpriced: (model) => {
        if (this.unpricedWarned.has(model) || this.unpricedWarned.size >= UNPRICED_WARNINGS) return;
        this.unpricedWarned.add(model);
        logWarning(
          `budgets cannot price model ${JSON.stringify(model)}: its requests are counted but not limited (give it a price in priceOverrides to limit them)`,
        );
      },
    };
    this.configure(config);
  }

  /** Takes a new configuration; a changed store starts a new registry (the old accounts live in the old store). */
  configure(config: BudgetConfig): void {
    if (config.budgetStore !== this.config.budgetStore) {
      if (this.enabled) useBudgetRegistry(this.registry, false);
      this.registry = new BudgetRegistry(guardStore(config.budgetStore, 'budgetStore') ?? new InMemoryBudgetStore());
      if (this.enabled) useBudgetRegistry(this.registry, true);
    }
    this.config = config;
    this.defaultBudget = undefined;
  }

  /** `withBudget` and `getBudget` use this instrumentation's budgets while it is enabled. */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    useBudgetRegistry(this.registry, enabled);
  }

  admit(call: PlannedCall, userBody: unknown, replan: (body: unknown) => PlannedCall | undefined): Admission | undefined {
    const budgets = this.budgetsInForce();
    if (budgets.length === 0) return undefined;
    return admitRequest(call, budgets, userBody, replan, this.context);
  }

  /** Sends what the store has not sent yet (a shared store); logged, never thrown. */
  async flush(): Promise<void> {
    try {
      await this.registry.store.flush?.();
    } catch (error) {
      logInternalError('flushing the budget store', error);
    }
  }

  /** The budgets a request made now is charged to, innermost first, each once. */
  private budgetsInForce(): readonly Budget[] {
    const scoped = scopedBudgets();
    const { defaultBudget, keyedBudget } = this.config;
    if (!defaultBudget && !keyedBudget) return scoped;
    const budgets = [...scoped];
    const add = (budget: Budget | undefined) => {
      if (budget && !budgets.includes(budget)) budgets.push(budget);
    };
    if (keyedBudget) add(this.keyedBudgetFor(keyedBudget));
    if (defaultBudget) {
      this.defaultBudget ??= this.registry.budgetFor({ ...defaultBudget, name: defaultBudget.name ?? 'default' });
      add(this.defaultBudget);
    }
    return budgets;
  }

  private keyedBudgetFor(options: KeyedBudgetOptions): Budget | undefined {
    const active = context.active();
    const key = options.key ? options.key(active) : readBaggage(active, options.baggageKey);
    if (typeof key !== 'string' || key.length === 0) return undefined;
    const { baggageKey: _baggageKey, key: _key, namePrefix, ...budgetOptions } = options;
    return this.registry.budgetFor({ ...budgetOptions, name: `${namePrefix ?? ''}${key}` });
  }
}

function readBaggage(active: Context, entry: string | undefined): string | undefined {
  if (entry === undefined) return undefined;
  return propagation.getBaggage(active)?.getEntry(entry)?.value;
}
