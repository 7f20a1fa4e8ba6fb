/**
 * Makes the OpenTelemetry providers wait for requests still being costed. A stream cut just
 * before `await sdk.shutdown()` (a CLI, a serverless handler, a worker on SIGTERM) has
 * ended, but its span ends only once its estimate is counted: without this, the span and
 * its spend would miss the last export. Users call `sdk.shutdown()` or
 * `provider.forceFlush()`, never a package-specific flush, so those are what wait:
 * `forceFlush` and `shutdown` of the tracer and meter providers this instrumentation
 * writes to are wrapped on the provider objects themselves (the SDK's code is untouched),
 * and wait for the drain, at most `DRAIN_BOUND_MS`, before doing their own work.
 *
 * A process that simply runs out of work gets the same at `beforeExit`: pending requests
 * are drained and the providers flushed once.
 */
import { trace, type MeterProvider, type TracerProvider } from '@opentelemetry/api';
import { logInternalError } from '../core/safely.js';

/** A shutdown is never delayed by more than this. */
export const DRAIN_BOUND_MS = 2000;

type Flushable = Record<'forceFlush' | 'shutdown', ((...args: unknown[]) => unknown) | undefined>;

const HOOKED = Symbol('otel-llm-cost.flush-hook');

type HookedMethod = ((...args: unknown[]) => unknown) & { [HOOKED]?: { readonly owner: object; readonly original: (...args: unknown[]) => unknown } };

export class ProviderFlushHooks {
  private readonly hooked = new Set<Flushable>();
  private lastGlobalTracerProvider: unknown;
  private beforeExit: (() => void) | undefined;

  /** `exported()` when the providers were last flushed at `beforeExit`. */
  private flushedAt = 0;

  constructor(
    /** Waits for pending requests, at most `timeoutMs`; never rejects. */
    private readonly drain: (timeoutMs: number) => Promise<void>,
    /** Whether anything is waiting to be drained. */
    private readonly busy: () => boolean,
    /** How many requests have been exported so far. */
    private readonly exported: () => number,
  ) {}

  /** Hooks the provider behind the global tracer (`NodeSDK` registers it after the instrumentations). */
  hookGlobalTracerProvider(): void {
    const global = trace.getTracerProvider() as TracerProvider & { getDelegate?: () => TracerProvider };
    if (global === this.lastGlobalTracerProvider) return;
    const delegate = typeof global.getDelegate === 'function' ? global.getDelegate() : global;
    if (delegate === this.lastGlobalTracerProvider) return;
    this.lastGlobalTracerProvider = delegate;
    this.hook(delegate);
  }

  hook(provider: TracerProvider | MeterProvider | undefined): void {
    if (typeof provider !== 'object' || provider === null) return;
    const target = provider as unknown as Flushable;
    if (this.hooked.has(target)) return;
    let hookedAny = false;
    for (const method of ['forceFlush', 'shutdown'] as const) {
      const original = target[method];
      if (typeof original !== 'function') continue;
      const drain = this.drain;
      const waiting: HookedMethod = function (this: unknown, ...args: unknown[]) {
        return drain(DRAIN_BOUND_MS).then(() => original.apply(this, args));
      };
      Object.defineProperty(waiting, HOOKED, { value: { owner: this, original } });
      try {
        target[method] = waiting;
        hookedAny = true;
      } catch (error) {
        logInternalError(`waiting for costs in ${method}()`, error);
      }
    }
    if (hookedAny) this.hooked.add(target);
  }

  /**
   * Once the process has nothing else to do (a script that never calls shutdown): drains,
   * then flushes the providers if requests were exported since the last time, so a batching
   * processor does not take their spans down with the process. `beforeExit` fires again
   * after that work; with nothing new, it does nothing and the process exits.
   */
  listenForExit(): void {
    if (this.beforeExit) return;
    this.beforeExit = () => {
      if (!this.busy() && this.exported() === this.flushedAt) return;
      void this.drain(DRAIN_BOUND_MS).then(() => {
        this.flushedAt = this.exported();
        return Promise.allSettled([...this.hooked].map((provider) => provider.forceFlush?.call(provider)));
      });
    };
    process.on('beforeExit', this.beforeExit);
  }

  /** Takes the hooks off again (the instrumentation is disabled). A hook someone wrapped since stays, inert. */
  unhook(): void {
    if (this.beforeExit) process.off('beforeExit', this.beforeExit);
    this.beforeExit = undefined;
    for (const target of this.hooked) {
      for (const method of ['forceFlush', 'shutdown'] as const) {
        const current = target[method] as HookedMethod | undefined;
        const hook = current?.[HOOKED];
        if (hook?.owner === this) target[method] = hook.original;
      }
    }
    this.hooked.clear();
    this.lastGlobalTracerProvider = undefined;
  }
}
