/** Starts a record and its span for each planned call, and hands finished records to telemetry. */
import { SpanKind, type Tracer } from '@opentelemetry/api';
import * as sc from '../semconv.js';
import { activeBudgets, type ConfiguredBudgets } from '../budget/active.js';
import type { Budget } from '../budget/budget.js';
import type { AdapterOptions, PlannedCall } from './adapter.js';
import { ContentCapture, type ContentSettings } from './content.js';
import type { PriceSources } from '../pricing/price-request.js';
import { RequestRecord } from './record.js';
import { safely } from './safely.js';
import type { CostTelemetry } from './telemetry.js';

export interface TrackerSettings {
  readonly enabled: boolean;
  readonly adapterOptions: AdapterOptions;
  readonly idleTimeoutMs: number;
  readonly budgets: ConfiguredBudgets;
  /** The instrumentation's price catalog and the `priceOverrides` option. */
  readonly pricing: PriceSources;
  /** Set when message content is captured (opt-in). */
  readonly content?: ContentSettings;
}

export class RequestTracker {
  constructor(
    private readonly tracer: () => Tracer,
    private readonly telemetry: CostTelemetry,
    private readonly settings: () => TrackerSettings,
  ) {}

  get enabled(): boolean {
    return this.settings().enabled;
  }

  get adapterOptions(): AdapterOptions {
    return this.settings().adapterOptions;
  }

  get idleTimeoutMs(): number {
    return this.settings().idleTimeoutMs;
  }

  /** The budgets a request made now is charged to, innermost first. */
  budgets(): readonly Budget[] {
    return activeBudgets(this.settings().budgets);
  }

  get pricing(): PriceSources {
    return this.settings().pricing;
  }

  start(call: PlannedCall): RequestRecord {
    const { description } = call;
    const name = description.model ? `${description.operation} ${description.model}` : description.operation;
    const span = this.tracer().startSpan(name, {
      kind: SpanKind.CLIENT,
      attributes: {
        [sc.ATTR_GEN_AI_OPERATION_NAME]: description.operation,
        [sc.ATTR_GEN_AI_PROVIDER_NAME]: description.provider,
        ...(description.model ? { [sc.ATTR_GEN_AI_REQUEST_MODEL]: description.model } : {}),
        [sc.ATTR_GEN_AI_REQUEST_STREAM]: description.stream,
        ...description.attributes,
      },
    });
    const record = new RequestRecord(call, span, (done) => this.telemetry.complete(done));
    const content = this.settings().content;
    if (content && call.content) {
      const reader = call.content;
      record.content = safely('capturing message content', undefined, () => new ContentCapture(reader, content));
    }
    return record;
  }

  flush(): Promise<void> {
    return this.telemetry.flush();
  }
}
