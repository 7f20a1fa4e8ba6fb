/**
 * `LLMCostInstrumentation`: registers module hooks for `openai` and `@anthropic-ai/sdk`,
 * wraps their request methods with the hook in `core/hook.ts`, and owns everything its
 * requests need: the request runtime and its cost pipeline, the budgets, what estimates have
 * learned, and the providers' memory of responses. Two instances share none of it.
 */
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { EstimateCalibration } from './core/calibration.js';
import { contentSettings } from './core/content.js';
import type { CostingContext } from './core/costing.js';
import { instrumentMethod, type SdkMethod } from './core/hook.js';
import { outermostOnly, unwrapMethod, wrapMethod, type PatchTarget } from './core/patch-target.js';
import { CostPipeline } from './core/pipeline.js';
import { RequestRuntime, type RuntimeSettings } from './core/runtime.js';
import { logInfo, safely } from './core/safely.js';
import { isSupportedVersion, type VersionRange } from './core/version-range.js';
import { BudgetWatcher, type BudgetConfig } from './budget/watcher.js';
import { useFetchRecorder } from './fetch/cost-fetch.js';
import { GlobalFetch } from './fetch/global-fetch.js';
import { FetchRecorder } from './fetch/recorder.js';
import { validateInstrumentationConfig } from './options/validate.js';
import { PriceCatalog } from './pricing/catalog.js';
import { priceRequest, type PriceSources } from './pricing/price-request.js';
import { PriceUpdates, type PriceUpdateOptions } from './pricing/price-updates.js';
import { targetsOfClient, targetsOfModule, type SdkTargets } from './manual-targets.js';
import { DEFAULT_PROVIDER_COUNT_LIMITS, ProviderCountScheduler } from './core/provider-count.js';
import { loadedCopies, loadedEarlyMessage } from './already-loaded.js';
import { keepingProcessAlive } from './core/keep-alive.js';
import { warmTokenizer } from './core/tokenizer.js';
import { anthropicHttpEndpoints } from './providers/anthropic/http-endpoints.js';
import { ANTHROPIC_MODULE, ANTHROPIC_VERSIONS, anthropicTargets } from './providers/anthropic/targets.js';
import { openaiHttpEndpoints } from './providers/openai/http-endpoints.js';
import { createOpenAIState, OPENAI_MODULE, OPENAI_VERSIONS, openaiTargets, type OpenAIState } from './providers/openai/targets.js';
import { CallbackExporter } from './telemetry/callback.js';
import { ProviderFlushHooks } from './telemetry/flush-hooks.js';
import { MetricsExporter } from './telemetry/metrics.js';
import { spanExporter } from './telemetry/span.js';
import { DEFAULT_ABANDONED_TIMEOUT_MS, type LLMCostInstrumentationConfig } from './types.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

/** Everything one instance owns; made on first use (the base constructor runs before field initialisers). */
interface Owned {
  readonly runtime: RequestRuntime;
  readonly pipeline: CostPipeline;
  readonly metrics: MetricsExporter;
  readonly budgets: BudgetWatcher;
  readonly calibration: EstimateCalibration;
  readonly openai: OpenAIState;
  readonly flushHooks: ProviderFlushHooks;
  readonly catalog: PriceCatalog;
  /** Set while `priceUpdates` fetches fresh price data. */
  priceUpdates: PriceUpdates | undefined;
  /** Whether SDKs loaded before the first `enable()` were looked for. */
  checkedLoadedEarly: boolean;
  /** Set with `exactCounting: 'provider'`, for the limits it was made with. */
  providerCounts: { readonly scheduler: ProviderCountScheduler; readonly limits: unknown } | undefined;
  readonly sdks: SdkTargets;
  readonly warned: Set<string>;
  /** Requests made with plain `fetch` (`costFetch`, the instrumented global `fetch`). */
  readonly fetchRecorder: FetchRecorder;
  readonly globalFetch: GlobalFetch;
}

export class LLMCostInstrumentation extends InstrumentationBase<LLMCostInstrumentationConfig> {
  // `declare`: the base constructor calls setConfig(), init() and _updateMetricInstruments()
  // before subclass fields would be initialised, so the owned state is created lazily instead.
  declare private _owned: Owned | undefined;

  constructor(config: LLMCostInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, validateInstrumentationConfig(config));
  }

  override setConfig(config: LLMCostInstrumentationConfig = {}): void {
    super.setConfig(validateInstrumentationConfig(config));
    const owned = this._owned;
    if (owned) {
      owned.runtime.configure(runtimeSettings(this.getConfig()));
      owned.budgets.configure(budgetConfig(this.getConfig()));
      // A changed `priceUpdates` takes effect now (the constructor's call comes before enable()).
      if (this.isEnabled()) safely('price updates', undefined, () => this.syncPriceUpdates(owned));
      if (this.isEnabled()) safely('instrumenting the global fetch', undefined, () => this.syncGlobalFetch(owned));
    }
  }

  override enable(): void {
    super.enable();
    // The first cut stream of a fresh process must not wait seconds for the encoder build.
    warmTokenizer();
    const owned = this.owned;
    // Only the first time: SDKs loaded after it are hooked, even across disable() and enable().
    if (!owned.checkedLoadedEarly) {
      owned.checkedLoadedEarly = true;
      safely('instrumenting SDKs loaded before the instrumentation', undefined, () => this.instrumentLoadedEarly());
    }
    owned.budgets.setEnabled(true);
    owned.flushHooks.listenForExit();
    safely('price updates', undefined, () => this.syncPriceUpdates(owned));
    useFetchRecorder(owned.fetchRecorder, true);
    safely('instrumenting the global fetch', undefined, () => this.syncGlobalFetch(owned));
  }

  override disable(): void {
    super.disable();
    const owned = this._owned;
    if (!owned) return;
    owned.budgets.setEnabled(false);
    owned.flushHooks.unhook();
    owned.priceUpdates?.stop();
    owned.priceUpdates = undefined;
    useFetchRecorder(owned.fetchRecorder, false);
    safely('restoring the global fetch', undefined, () => owned.globalFetch.uninstall());
  }

  /**
   * Which price data prices requests now: `genai-prices@<version>` (bundled) or
   * `fetched <ISO date-time>` (with `priceUpdates`), as on `llm_cost.cost.price_data`.
   */
  get priceData(): string {
    return this.owned.catalog.dataLabel;
  }

  override setTracerProvider(tracerProvider: TracerProvider): void {
    super.setTracerProvider(tracerProvider);
    this.owned.flushHooks.hook(tracerProvider);
  }

  override setMeterProvider(meterProvider: MeterProvider): void {
    super.setMeterProvider(meterProvider);
    this.owned.flushHooks.hook(meterProvider);
  }

  /**
   * Resolves once every ended request has been written to its span, the metrics and
   * `onCost`, and the budget store has sent what it holds. `sdk.shutdown()` and the
   * providers' `forceFlush()` already wait for the requests (at most 2 s); this waits as
   * long as it takes.
   */
  async flush(): Promise<void> {
    const owned = this._owned;
    if (!owned) return;
    await keepingProcessAlive(owned.runtime.drain());
    await owned.budgets.flush();
  }

  /**
   * Instruments an `openai` or `@anthropic-ai/sdk` module object the module hooks never saw,
   * such as the copy inlined by a bundler: `instrumentation.patch(require('openai'))` or
   * `import * as openai from 'openai'; instrumentation.patch(openai)`. Every client of that
   * copy is then recorded. Returns whether the module was recognised.
   */
  patch(moduleExports: unknown): boolean {
    return safely('patching a module', false, () => this.patchTargets('module', undefined, targetsOfModule(moduleExports, this.owned.sdks)));
  }

  /** Undoes `patch()` for that module object. */
  unpatch(moduleExports: unknown): void {
    safely('unpatching a module', undefined, () => this.unpatchTargets(targetsOfModule(moduleExports, this.owned.sdks)));
  }

  /**
   * Instruments the SDK that `client` (an `OpenAI`, `AzureOpenAI` or `Anthropic` instance)
   * comes from, for apps whose SDK the module hooks cannot see (a single-file bundle).
   * The request methods live on the SDK's shared prototypes, so every client of that SDK
   * copy is recorded from now on. Returns `client` itself, unchanged.
   */
  instrumentClient<T>(client: T): T {
    safely('instrumenting a client', false, () => this.patchTargets('client', undefined, targetsOfClient(client, this.owned.sdks)));
    return client;
  }

  protected init() {
    const sdks = this.owned.sdks;
    return [this.moduleDefinition(OPENAI_MODULE, OPENAI_VERSIONS, sdks.openai), this.moduleDefinition(ANTHROPIC_MODULE, ANTHROPIC_VERSIONS, sdks.anthropic)];
  }

  protected override _updateMetricInstruments(): void {
    this.owned.metrics.useMeter(this.meter);
  }

  private get owned(): Owned {
    this._owned ??= this.createOwned();
    return this._owned;
  }

  private createOwned(): Owned {
    const config = () => this.getConfig();
    const calibration = new EstimateCalibration();
    const metrics = new MetricsExporter();
    const catalog = new PriceCatalog();
    const pricing = (): PriceSources => ({ catalog, overrides: config().priceOverrides });
    const costing = (): Omit<CostingContext, 'hurry'> => {
      const sources = pricing();
      const providerCounts = this.providerCounts();
      return { calibration, providerCounts, price: (input) => priceRequest(input, sources) };
    };
    const pipeline = new CostPipeline(costing, [spanExporter, metrics, new CallbackExporter(() => config().onCost)]);
    let flushHooks: ProviderFlushHooks | undefined;
    const runtime = new RequestRuntime(
      () => this.tracer,
      pipeline,
      runtimeSettings(config()),
      () => flushHooks?.hookGlobalTracerProvider(),
    );
    flushHooks = new ProviderFlushHooks(
      // Counting holds no handle of its own: the wait keeps the process alive, within its bound.
      (timeoutMs) => keepingProcessAlive(runtime.drain(timeoutMs), timeoutMs),
      () => runtime.busy,
      () => runtime.exported,
    );
    const budgets = new BudgetWatcher(budgetConfig(config()), pricing);
    runtime.watcher = budgets;
    const openai = createOpenAIState();
    const nativeSpans = () => (this.isEnabled() ? (config().anthropicNativeSpans ?? 'suppress') : 'keep');
    const sdks: SdkTargets = {
      openai: (moduleExports) => openaiTargets(moduleExports, openai),
      anthropic: (moduleExports) => anthropicTargets(moduleExports, nativeSpans),
    };
    const fetchRecorder = new FetchRecorder(runtime, [...openaiHttpEndpoints(openai), ...anthropicHttpEndpoints()], () => config().fetchBaseURLs ?? []);
    return {
      runtime,
      pipeline,
      metrics,
      budgets,
      calibration,
      openai,
      flushHooks,
      catalog,
      priceUpdates: undefined,
      providerCounts: undefined,
      checkedLoadedEarly: false,
      sdks,
      warned: new Set(),
      fetchRecorder,
      globalFetch: new GlobalFetch(fetchRecorder, this),
    };
  }

  /** SDKs already in the module cache (loaded before us): patched now, and said once (`already-loaded.ts`). */
  private instrumentLoadedEarly(): void {
    const sdks = this.owned.sdks;
    const candidates = [
      [OPENAI_MODULE, OPENAI_VERSIONS, sdks.openai],
      [ANTHROPIC_MODULE, ANTHROPIC_VERSIONS, sdks.anthropic],
    ] as const;
    for (const [name, range, targets] of candidates) {
      for (const copy of loadedCopies(name)) {
        if (!isSupportedVersion(copy.version, range)) this.warnOnce(outsideRangeMessage(name, copy.version, range));
        else this.warnOnce(loadedEarlyMessage(name, copy, this.patchTargets(name, copy.version, targets(copy.exports))));
      }
    }
  }

  /**
   * With `exactCounting: 'provider'`, the scheduler of provider counts: a new one when
   * `setConfig()` brought new limits (counts in flight finish under the old ones).
   */
  private providerCounts(): ProviderCountScheduler | undefined {
    const config = this.getConfig();
    const owned = this.owned;
    if (config.exactCounting !== 'provider') return undefined;
    let counts = owned.providerCounts;
    if (counts === undefined || counts.limits !== config.providerCountLimits) {
      const scheduler = new ProviderCountScheduler({ ...DEFAULT_PROVIDER_COUNT_LIMITS, ...config.providerCountLimits });
      counts = { scheduler, limits: config.providerCountLimits };
      owned.providerCounts = counts;
    }
    return counts.scheduler;
  }

  /** Puts the recording wrapper on `globalThis.fetch`, or takes it off, to match the config. */
  private syncGlobalFetch(owned: Owned): void {
    if (this.getConfig().instrumentGlobalFetch === true) owned.globalFetch.install();
    else owned.globalFetch.uninstall();
  }

  /** Starts, restarts (options changed) or stops the price data updates to match the config. */
  private syncPriceUpdates(owned: Owned): void {
    const options = this.getConfig().priceUpdates;
    const running = owned.priceUpdates;
    if (running && options && samePriceUpdates(running.options, options)) return;
    running?.stop();
    owned.priceUpdates = undefined;
    if (!options) {
      // Turned off: back to the bundled data, as without the option.
      owned.catalog.reset();
      return;
    }
    owned.priceUpdates = new PriceUpdates(owned.catalog, { ...options });
    owned.priceUpdates.start();
  }

  private moduleDefinition(name: string, range: VersionRange, targets: (moduleExports: unknown) => PatchTarget[]) {
    // Every version is hooked, so that one outside `range` is reported instead of skipped silently.
    return new InstrumentationNodeModuleDefinition(
      name,
      ['*'],
      (moduleExports: unknown, version?: string) => {
        safely(`patching ${name}`, undefined, () => {
          if (isSupportedVersion(version, range)) this.patchTargets(name, version, targets(moduleExports));
          else {
            this.warnOnce(outsideRangeMessage(name, version, range));
          }
        });
        return moduleExports;
      },
      (moduleExports: unknown) => {
        if (moduleExports === undefined) return;
        safely(`unpatching ${name}`, undefined, () => this.unpatchTargets(targets(moduleExports)));
      },
    );
  }

  private patchTargets(name: string, version: string | undefined, targets: PatchTarget[]): boolean {
    if (targets.length === 0) {
      logInfo(`${name}@${version ?? '?'}: no known request methods found; left untouched`);
      return false;
    }
    for (const target of targets) {
      // Only our own wrapper is replaced: another instrumentation's (or another copy of this
      // package's) stays, and `outermostOnly` keeps the request from being recorded twice.
      unwrapMethod(target.owner, target.method, this);
      wrapMethod(target.owner, target.method, (original) => this.wrapMethod(original, target), this);
    }
    return true;
  }

  private wrapMethod(original: SdkMethod, target: PatchTarget): SdkMethod {
    const recorded = target.plan ? outermostOnly(instrumentMethod(original, target.plan, this.owned.runtime), original, () => this.isEnabled()) : original;
    const prepare = target.prepare;
    if (!prepare) return recorded;
    return function prepared(this: unknown, ...args: unknown[]): unknown {
      safely('preparing a client', undefined, () => prepare(this));
      return recorded.apply(this, args);
    };
  }

  private unpatchTargets(targets: PatchTarget[]): void {
    for (const target of targets) unwrapMethod(target.owner, target.method, this);
  }

  /** Each message once per instrumentation: a module loaded from CJS and ESM is one problem. */
  private warnOnce(message: string): void {
    const warned = this.owned.warned;
    if (warned.has(message)) return;
    warned.add(message);
    this._diag.warn(message);
  }
}

function runtimeSettings(config: LLMCostInstrumentationConfig): RuntimeSettings {
  return {
    providerSettings: { injectStreamUsage: config.injectStreamUsage ?? true, estimatorConstants: config.estimatorConstants },
    idleTimeoutMs: config.abandonedTimeoutMs ?? DEFAULT_ABANDONED_TIMEOUT_MS,
    content: contentSettings(config),
  };
}

function samePriceUpdates(a: PriceUpdateOptions, b: PriceUpdateOptions): boolean {
  return a.url === b.url && a.intervalHours === b.intervalHours && a.cacheFile === b.cacheFile;
}

function budgetConfig(config: LLMCostInstrumentationConfig): BudgetConfig {
  return {
    defaultBudget: config.defaultBudget,
    keyedBudget: config.keyedBudget,
    budgetStore: config.budgetStore,
  };
}

function outsideRangeMessage(name: string, version: string | undefined, range: VersionRange): string {
  return `${name}@${version ?? '?'} is outside the supported range ${range.text}; it is left untouched and its requests are not recorded`;
}
