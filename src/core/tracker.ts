/** Starts a record and its span for each planned call, and hands finished records to telemetry. */
import { SpanKind, type Tracer } from '@opentelemetry/api';
import * as sc from '../semconv.js';
import type { AdapterOptions, PlannedCall } from './adapter.js';
import { RequestRecord } from './record.js';
import type { CostTelemetry } from './telemetry.js';

export interface TrackerSettings {
  readonly enabled: boolean;
  readonly adapterOptions: AdapterOptions;
  readonly idleTimeoutMs: number;
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
    return new RequestRecord(call, span, (done) => this.telemetry.complete(done));
  }

  flush(): Promise<void> {
    return this.telemetry.flush();
  }
}
