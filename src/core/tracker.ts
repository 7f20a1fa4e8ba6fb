/** Starts a record and its span for each planned call, and hands finished records to telemetry. */
import { SpanKind, type Tracer } from '@opentelemetry/api';
import * as sc from '../semconv.js';
import { activeBudgets, type ConfiguredBudgets } from '../budget/active.js';
import type { Budget } from '../budget/budget.js';
import type { AdapterOptions, PlannedCall } from './adapter.js';
import { ContentCapture, type ContentSettings } from './content.js';
import type { PriceOverrides } from './price.js';
import { RequestRecord } from './record.js';
import { logWarning, safely } from './safely.js';
import { ReportedUsageCheck } from './usage-sanity.js';
import type { CostTelemetry } from './telemetry.js';

export interface TrackerSettings {
  readonly enabled: boolean;
  readonly adapterOptions: AdapterOptions;
  readonly idleTimeoutMs: number;
  readonly budgets: ConfiguredBudgets;
  readonly priceOverrides: PriceOverrides | undefined;
  /** Set when message content is captured (opt-in). */
  readonly content?: ContentSettings;
}

export class RequestTracker {
  /** One per instrumentation: its warnings about impossible reported usage are said once. */
  private readonly usageCheck = new ReportedUsageCheck(logWarning);

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

  get priceOverrides(): PriceOverrides | undefined {
    return this.settings().priceOverrides;
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
    const record = new RequestRecord(call, span, (done) => this.telemetry.complete(done), this.usageCheck);
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
