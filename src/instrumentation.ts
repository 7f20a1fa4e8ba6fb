/**
 * `LLMCostInstrumentation`: registers module hooks for `openai` and `@anthropic-ai/sdk`
 * and wraps their request methods with the shared hook in `core/instrument-call.ts`.
 */
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  isWrapped,
} from '@opentelemetry/instrumentation';
import { instrumentMethod, type SdkMethod } from './core/instrument-call.js';
import type { PatchTarget } from './core/patch-target.js';
import { logInfo, safely } from './core/safely.js';
import { CostTelemetry } from './core/telemetry.js';
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

  /** Resolves once every finished request has been written to its span, the metrics and `onCost`. */
  flush(): Promise<void> {
    return this.tracker.flush();
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
    this._telemetry ??= new CostTelemetry(() => this.getConfig().onCost);
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
        };
      },
    );
    return this._tracker;
  }

  private moduleDefinition(name: string, versions: string[], targets: (moduleExports: unknown) => PatchTarget[]) {
    return new InstrumentationNodeModuleDefinition(
      name,
      versions,
      (moduleExports: unknown, version?: string) => {
        safely(`patching ${name}`, undefined, () => this.patchTargets(name, version, targets(moduleExports)));
        return moduleExports;
      },
      (moduleExports: unknown) => {
        if (moduleExports === undefined) return;
        safely(`unpatching ${name}`, undefined, () => this.unpatchTargets(targets(moduleExports)));
      },
    );
  }

  private patchTargets(name: string, version: string | undefined, targets: PatchTarget[]): void {
    if (targets.length === 0) {
      logInfo(`${name}@${version ?? '?'}: no known request methods found; left untouched`);
      return;
    }
    for (const target of targets) {
      const owner = target.owner as Record<string, SdkMethod>;
      if (isWrapped(owner[target.method])) this._unwrap(owner, target.method);
      this._wrap(owner, target.method, (original: SdkMethod) => instrumentMethod(original, target.plan, this.tracker));
    }
  }

  private unpatchTargets(targets: PatchTarget[]): void {
    for (const target of targets) {
      const owner = target.owner as Record<string, SdkMethod>;
      if (isWrapped(owner[target.method])) this._unwrap(owner, target.method);
    }
  }
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
  return config;
}
