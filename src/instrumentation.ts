/**
 * `LLMCostInstrumentation`: registers module hooks for `openai` and `@anthropic-ai/sdk`
 * and wraps their request methods with the shared hook in `core/instrument-call.ts`.
 */
import { InstrumentationBase, InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { loadedCopies, loadedEarlyMessage } from './already-loaded.js';
import { instrumentMethod, type SdkMethod } from './core/instrument-call.js';
import { outermostOnly, unwrapMethod, wrapMethod, type PatchSettings, type PatchTarget } from './core/patch-target.js';
import { isSupportedVersion, type VersionRange } from './core/version-range.js';
import { targetsOfClient, targetsOfModule } from './manual-targets.js';
import { applyBudgetConfig, flushBudgetStore } from './budget/config.js';
import { contentSettings } from './core/content.js';
import { keepingProcessAlive } from './core/keep-alive.js';
import { validatePriceOverrides } from './core/price.js';
import { logInfo, safely } from './core/safely.js';
import { CostTelemetry } from './core/telemetry.js';
import { warmTokenizer } from './core/tokenizer.js';
import { RequestTracker } from './core/tracker.js';
import { ANTHROPIC_MODULE, ANTHROPIC_VERSIONS, anthropicTargets } from './providers/anthropic/targets.js';
import { OPENAI_MODULE, OPENAI_VERSIONS, openaiTargets } from './providers/openai/targets.js';
import { DEFAULT_ABANDONED_TIMEOUT_MS, type LLMCostInstrumentationConfig } from './types.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

export class LLMCostInstrumentation extends InstrumentationBase<LLMCostInstrumentationConfig> {
  // `declare`: the base constructor calls init() and _updateMetricInstruments() before
  // subclass fields would be initialised, so these are created lazily instead.
  declare private _telemetry: CostTelemetry | undefined;
  declare private _tracker: RequestTracker | undefined;

  constructor(config: LLMCostInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, validateConfig(config));
  }

  override setConfig(config: LLMCostInstrumentationConfig = {}): void {
    super.setConfig(validateConfig(config));
  }

  override enable(): void {
    super.enable();
    // The first cut stream of a fresh process must not wait seconds for the encoder build.
    warmTokenizer();
    // Only the first time: SDKs loaded after it are hooked, even across disable() and enable().
    if (!this._checkedLoadedEarly) {
      this._checkedLoadedEarly = true;
      safely('instrumenting SDKs loaded before the instrumentation', undefined, () => this.instrumentLoadedEarly());
    }
  }

  declare private _checkedLoadedEarly: boolean | undefined;

  /** SDKs already in the module cache (loaded before us): patched now, and said once (`already-loaded.ts`). */
  private instrumentLoadedEarly(): void {
    const sdks = [
      [OPENAI_MODULE, OPENAI_VERSIONS, openaiTargets],
      [ANTHROPIC_MODULE, ANTHROPIC_VERSIONS, anthropicTargets],
    ] as const;
    for (const [name, range, targets] of sdks) {
      for (const copy of loadedCopies(name)) {
        if (!isSupportedVersion(copy.version, range)) this.warnOnce(outsideRangeMessage(name, copy.version, range));
        else this.warnOnce(loadedEarlyMessage(name, copy, this.patchTargets(name, copy.version, targets(copy.exports))));
      }
    }
  }

  /** Resolves once every finished request has been written to its span, the metrics and `onCost`. */
  async flush(): Promise<void> {
    await keepingProcessAlive(this.tracker.flush());
    // Then what the settled requests added to a shared budget store (its own batches).
    await flushBudgetStore();
  }

  /**
   * Instruments an `openai` or `@anthropic-ai/sdk` module object the module hooks never saw,
   * such as the copy inlined by a bundler: `instrumentation.patch(require('openai'))` or
   * `import * as openai from 'openai'; instrumentation.patch(openai)`. Every client of that
   * copy is then recorded. Returns whether the module was recognised.
   */
  patch(moduleExports: unknown): boolean {
    return safely('patching a module', false, () => this.patchTargets('module', undefined, targetsOfModule(moduleExports)));
  }

  /** Undoes `patch()` for that module object. */
  unpatch(moduleExports: unknown): void {
    safely('unpatching a module', undefined, () => this.unpatchTargets(targetsOfModule(moduleExports)));
  }

  /**
   * Instruments the SDK that `client` (an `OpenAI`, `AzureOpenAI` or `Anthropic` instance)
   * comes from, for apps whose SDK the module hooks cannot see (a single-file bundle).
   * The request methods live on the SDK's shared prototypes, so every client of that SDK
   * copy is recorded from now on. Returns `client` itself, unchanged.
   */
  instrumentClient<T>(client: T): T {
    safely('instrumenting a client', false, () => this.patchTargets('client', undefined, targetsOfClient(client)));
    return client;
  }

  protected init() {
    return [
      this.moduleDefinition(OPENAI_MODULE, OPENAI_VERSIONS, openaiTargets),
      this.moduleDefinition(ANTHROPIC_MODULE, ANTHROPIC_VERSIONS, anthropicTargets),
    ];
  }

  protected override _updateMetricInstruments(): void {
    this.telemetry.useMeter(this.meter);
  }

  private get telemetry(): CostTelemetry {
    this._telemetry ??= new CostTelemetry(
      () => this.getConfig().onCost,
      () => this.getConfig().priceOverrides,
    );
    return this._telemetry;
  }

  private get tracker(): RequestTracker {
    this._tracker ??= new RequestTracker(
      () => this.tracer,
      this.telemetry,
      () => {
        const config = this.getConfig();
        return {
          enabled: this.isEnabled(),
          adapterOptions: { injectStreamUsage: config.injectStreamUsage ?? true },
          idleTimeoutMs: config.abandonedTimeoutMs ?? DEFAULT_ABANDONED_TIMEOUT_MS,
          budgets: config,
          priceOverrides: config.priceOverrides,
          content: contentSettings(config),
        };
      },
    );
    return this._tracker;
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
    const recorded = target.plan
      ? outermostOnly(instrumentMethod(original, target.plan, this.tracker), original, () => this.isEnabled())
      : original;
    const prepare = target.prepare;
    if (!prepare) return recorded;
    const settings = () => this.patchSettings();
    return function prepared(this: unknown, ...args: unknown[]): unknown {
      const resource = this;
      safely('preparing a client', undefined, () => prepare(resource, settings));
      return recorded.apply(this, args);
    };
  }

  private patchSettings(): PatchSettings {
    // A disabled instrumentation records nothing, so the SDK's own spans are the only record.
    const mode = this.isEnabled() ? (this.getConfig().anthropicNativeSpans ?? 'suppress') : 'keep';
    return { anthropicNativeSpans: mode };
  }

  private unpatchTargets(targets: PatchTarget[]): void {
    for (const target of targets) unwrapMethod(target.owner, target.method, this);
  }

  declare private _warned: Set<string> | undefined;

  /** Each message once per instrumentation: a module loaded from CJS and ESM is one problem. */
  private warnOnce(message: string): void {
    this._warned ??= new Set();
    if (this._warned.has(message)) return;
    this._warned.add(message);
    this._diag.warn(message);
  }
}

function outsideRangeMessage(name: string, version: string | undefined, range: VersionRange): string {
  return `${name}@${version ?? '?'} is outside the supported range ${range.text}; it is left untouched and its requests are not recorded`;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

function validateConfig(config: LLMCostInstrumentationConfig): LLMCostInstrumentationConfig {
  if (typeof config !== 'object' || config === null) {
    throw new TypeError(`otel-llm-cost: the configuration must be an object, got ${String(config)}`);
  }
  const timeout = config.abandonedTimeoutMs;
  // Above 2^31-1 ms Node's setTimeout fires after 1 ms: every request would end as abandoned.
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout > 0 && timeout <= MAX_TIMER_MS)) {
    throw new RangeError(
      `otel-llm-cost: abandonedTimeoutMs must be a positive number of milliseconds up to ${MAX_TIMER_MS}, got ${String(timeout)}`,
    );
  }
  if (config.injectStreamUsage !== undefined && typeof config.injectStreamUsage !== 'boolean') {
    throw new TypeError(`otel-llm-cost: injectStreamUsage must be a boolean, got ${String(config.injectStreamUsage)}`);
  }
  if (config.onCost !== undefined && typeof config.onCost !== 'function') {
    throw new TypeError('otel-llm-cost: onCost must be a function');
  }
  const nativeSpans = config.anthropicNativeSpans;
  if (nativeSpans !== undefined && nativeSpans !== 'suppress' && nativeSpans !== 'keep') {
    throw new TypeError(`otel-llm-cost: anthropicNativeSpans must be 'suppress' or 'keep', got ${String(nativeSpans)}`);
  }
  validatePriceOverrides(config.priceOverrides);
  if (config.captureMessageContent !== undefined && typeof config.captureMessageContent !== 'boolean') {
    throw new TypeError(`otel-llm-cost: captureMessageContent must be a boolean, got ${String(config.captureMessageContent)}`);
  }
  const contentLength = config.messageContentMaxLength;
  if (contentLength !== undefined && !(Number.isInteger(contentLength) && contentLength > 0)) {
    throw new RangeError(
      `otel-llm-cost: messageContentMaxLength must be a positive whole number of characters, got ${String(contentLength)}`,
    );
  }
  applyBudgetConfig(config);
  return config;
}
