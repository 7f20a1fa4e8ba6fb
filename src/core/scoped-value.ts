/**
 * A value that follows the code it was set for through every asynchronous step (a request
 * being recorded, the budgets in force), carried in the OpenTelemetry context whenever a
 * context manager is registered, and in an `AsyncLocalStorage` of its own only when none is.
 *
 * Why not always an `AsyncLocalStorage`: on Node 20 each storage that has ever been entered
 * adds its own propagation step to the creation of every promise in the process, the
 * application's included. With our two storages beside the context manager's, a streamed
 * OpenAI chunk cost 1.06–1.12× the context manager alone; through the context, 0.99–1.07
 * (four pairs each, run side by side: bench/child.ts). The context adds nothing per
 * promise. Node 22 and later propagate storages without promise hooks.
 */
import { context, type Context } from '@opentelemetry/api';
import { AsyncLocalStorage } from 'node:async_hooks';

export class ScopedValue<T> {
  private fallback: AsyncLocalStorage<T> | undefined;

  /**
   * `key` names the value in the context; a `Symbol.for` key and `sharedFallback` (a
   * `Symbol.for` too) let two copies of this package read each other's values.
   */
  constructor(
    private readonly key: symbol,
    private readonly sharedFallback?: symbol,
  ) {}

  /** Runs `fn` with `value` set for it and for everything it starts, in `base` (the active context by default). */
  run<R>(value: T, fn: () => R, base: Context = context.active()): R {
    const marked = base.setValue(this.key, value);
    return context.with(marked, () => (context.active() === marked ? fn() : this.storage().run(value, fn)));
  }

  /** The value set by the innermost enclosing `run`, if any. */
  get(): T | undefined {
    const carried = context.active().getValue(this.key) as T | undefined;
    return carried !== undefined ? carried : this.fallbackStorage()?.getStore();
  }

  /** The storage used without a context manager; created the first time one is missing. */
  private storage(): AsyncLocalStorage<T> {
    const existing = this.fallbackStorage();
    if (existing) return existing;
    const created = new AsyncLocalStorage<T>();
    if (this.sharedFallback) (globalThis as Record<symbol, unknown>)[this.sharedFallback] = created;
    else this.fallback = created;
    return created;
  }

  private fallbackStorage(): AsyncLocalStorage<T> | undefined {
    if (this.sharedFallback) return (globalThis as Record<symbol, AsyncLocalStorage<T> | undefined>)[this.sharedFallback];
    return this.fallback;
  }
}
