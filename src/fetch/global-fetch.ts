/**
 * `instrumentGlobalFetch: true`: `globalThis.fetch` replaced by a recording wrapper around
 * the one found there, for apps that cannot pass a `fetch` to their client. Put back on
 * `disable()` when it is still ours; when something wrapped it since, ours stays in the
 * chain and passes requests through while it is off.
 */
import type { FetchFunction, FetchRecorder } from './recorder.js';

const INSTALLED_BY = Symbol.for('otel-llm-cost.global-fetch-owner');

type GlobalWithFetch = { fetch?: FetchFunction };
type Wrapper = FetchFunction & { [INSTALLED_BY]?: object };

export class GlobalFetch {
  private wrapper: Wrapper | undefined;
  private original: FetchFunction | undefined;
  private active = false;

  constructor(
    private readonly recorder: FetchRecorder,
    /** The instrumentation instance (marks the wrapper, so another instance or copy can tell it apart). */
    private readonly owner: object,
  ) {}

  /** Installs the wrapper, or turns it back on. */
  install(): void {
    this.active = true;
    const global = globalThis as GlobalWithFetch;
    if (this.wrapper && global.fetch === this.wrapper) return;
    const original = global.fetch;
    if (typeof original !== 'function') return;
    this.original = original;
    const recorder = this.recorder;
    const wrapper: Wrapper = (input, init) => {
      if (!this.active) return original(input, init);
      return recorder.fetch({ inner: original, ownRuntimeFetch: true, baseURLs: [] }, input, init);
    };
    Object.defineProperty(wrapper, INSTALLED_BY, { value: this.owner });
    Object.defineProperty(wrapper, 'name', { value: 'fetch' });
    this.wrapper = wrapper;
    global.fetch = wrapper;
  }

  /** Takes the wrapper out (or, when something wrapped it since, turns it into a pass-through). */
  uninstall(): void {
    this.active = false;
    const global = globalThis as GlobalWithFetch;
    if (this.wrapper && global.fetch === this.wrapper && this.original) global.fetch = this.original;
    if (global.fetch !== this.wrapper) this.wrapper = undefined;
  }
}
