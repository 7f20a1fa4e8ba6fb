/**
 * What one instrumentation instance runs requests with: its settings, its watcher, the
 * span each request starts, and the pipeline each ended request goes to. Owned by the
 * instance and dropped with it; nothing here is shared between instances.
 */
import { SpanKind, type Tracer } from '@opentelemetry/api';
import * as sc from '../semconv.js';
import type { PlannedCall, ProviderSettings } from './adapter.js';
import { ContentCapture, type ContentSettings } from './content.js';
import { RequestLifecycle, type EndedRequest, type RequestOwner } from './lifecycle.js';
import type { CostPipeline } from './pipeline.js';
import { logWarning, safely } from './safely.js';
import { ReportedUsageCheck } from './usage-sanity.js';
import type { Admission, RequestWatch, RequestWatcher } from './watch.js';

export interface RuntimeSettings {
  readonly providerSettings: ProviderSettings;
  /** A response nobody reads ends as `abandoned` after this long without activity. */
  readonly idleTimeoutMs: number;
  /** Set when message content is captured (opt-in). */
  readonly content: ContentSettings | undefined;
}

/** A request `begin` let through (with the call to send: a watch may have rewritten it), or the refusal to give the caller. */
export type Begun = { readonly request: RequestLifecycle; readonly call: PlannedCall; readonly refusal?: undefined } | { readonly refusal: Error };

export class RequestRuntime implements RequestOwner {
  /** Consulted before each request is sent (budgets); `undefined` when nothing watches requests. */
  watcher: RequestWatcher | undefined;
  private readonly waitingAfterAbort = new Set<RequestLifecycle>();
  /** Its warnings about impossible reported usage are said once per instrumentation. */
  readonly usageCheck = new ReportedUsageCheck(logWarning);

  constructor(
    private readonly tracer: () => Tracer,
    private readonly pipeline: CostPipeline,
    private settings: RuntimeSettings,
    /** Called when each request starts, before its span (the flush hooks look for the current tracer provider). */
    private readonly onStart: () => void = () => undefined,
  ) {}

  configure(settings: RuntimeSettings): void {
    this.settings = settings;
  }

  get providerSettings(): ProviderSettings {
    return this.settings.providerSettings;
  }

  get idleTimeoutMs(): number {
    return this.settings.idleTimeoutMs;
  }

  /**
   * Lets the watcher admit `call` (budgets may refuse it, or rewrite it through `replan`),
   * then starts it. A refused request's span ends at once, as `budget_exceeded` with nothing
   * sent. `undefined` when it cannot be recorded (its watch is then released): the caller
   * sends it unrecorded. Never throws.
   */
  begin(call: PlannedCall, userBody: unknown, replan: (body: unknown) => PlannedCall | undefined): Begun | undefined {
    let admission: Admission | undefined;
    const watcher = this.watcher;
    if (watcher) {
      admission = safely('checking budgets', undefined, () => watcher.admit(call, userBody, replan));
      if (admission) call = admission.call;
    }
    const started = call;
    const request = safely('starting a span', undefined, () => this.start(started, admission?.watch));
    if (admission?.refusal) {
      if (request) request.end('budget_exceeded', admission.refusal, false);
      else safely('releasing a budget', undefined, () => admission.watch.settle(undefined, undefined));
      return { refusal: admission.refusal };
    }
    if (!request) {
      if (admission) safely('releasing a budget', undefined, () => admission.watch.settle(undefined, undefined));
      return undefined;
    }
    return { request, call };
  }

  start(call: PlannedCall, watch: RequestWatch | undefined): RequestLifecycle {
    this.onStart();
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
    const contentSettings = this.settings.content;
    const reader = call.content;
    const content = contentSettings && reader ? safely('capturing message content', undefined, () => new ContentCapture(reader, contentSettings)) : undefined;
    return new RequestLifecycle(call, span, this, watch, content);
  }

  ended(request: EndedRequest): void {
    safely('ending a watched request', undefined, () => request.watch?.onEnded());
    this.pipeline.accept(request);
  }

  draining(request: RequestLifecycle, waiting: boolean): void {
    if (waiting) this.waitingAfterAbort.add(request);
    else this.waitingAfterAbort.delete(request);
  }

  /** Whether a drain has anything to wait for. */
  get busy(): boolean {
    return this.waitingAfterAbort.size > 0 || this.pipeline.pending > 0;
  }

  /** Requests exported so far. */
  get exported(): number {
    return this.pipeline.exported;
  }

  /**
   * Ends the requests still waiting after an abort (a shutdown does not wait for chunks
   * that may never be read), then waits for everything ended to be exported, at most
   * `timeoutMs`. Never rejects.
   */
  async drain(timeoutMs?: number): Promise<void> {
    for (const request of [...this.waitingAfterAbort]) safely('ending an aborted request', undefined, () => request.endDraining());
    try {
      await this.pipeline.drain(timeoutMs);
    } catch {
      // drain never rejects; nothing to add
    }
  }
}
