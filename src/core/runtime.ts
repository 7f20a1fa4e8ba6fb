/**
 * What one instrumentation instance runs requests with: its settings, its watcher, the
 * span each request starts, and the pipeline each ended request goes to. Owned by the
 * instance and dropped with it; nothing here is shared between instances.
 */
import { context, type Context, type Tracer } from '@opentelemetry/api';
import type { PlannedCall, ProviderSettings } from './adapter.js';
import { ContentCapture, type ContentReader, type ContentSettings } from './content.js';
import { DeferredSpan, type SpanSource } from './deferred-span.js';
import { nowMs, RequestLifecycle, type EndedRequest, type RequestOwner } from './lifecycle.js';
import type { CostPipeline } from './pipeline.js';
import { logInternalError, logWarning, safely } from './safely.js';
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

export class RequestRuntime implements RequestOwner, SpanSource {
  /** Consulted before each request is sent (budgets); `undefined` when nothing watches requests. */
  watcher: RequestWatcher | undefined;
  private readonly waitingAfterAbort = new Set<RequestLifecycle>();
  /** Its warnings about impossible reported usage are said once per instrumentation. */
  readonly usageCheck = new ReportedUsageCheck(logWarning);

  constructor(
    private readonly tracer: () => Tracer,
    private readonly pipeline: CostPipeline,
    private settings: RuntimeSettings,
    /** Called when each request's span starts (the flush hooks look for the current tracer provider). */
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
  begin(call: PlannedCall, userBody: unknown, replan: (body: unknown) => PlannedCall | undefined, parent: Context = context.active()): Begun | undefined {
    let admission: Admission | undefined;
    const watcher = this.watcher;
    if (watcher) {
      try {
        admission = watcher.admit(call, userBody, replan);
      } catch (error) {
        logInternalError('checking budgets', error);
      }
      if (admission) call = admission.call;
    }
    let request: RequestLifecycle | undefined;
    try {
      request = this.start(call, admission?.watch, parent);
    } catch (error) {
      logInternalError('starting a request', error);
    }
    if (admission?.refusal) {
      if (request) request.end('budget_exceeded', admission.refusal, false);
      else this.release(admission);
      return { refusal: admission.refusal };
    }
    if (!request) {
      if (admission) this.release(admission);
      return undefined;
    }
    return { request, call };
  }

  /**
   * The request's record and span. The span starts once something needs it, after the SDK
   * call has returned at the latest when the response arrives (`DeferredSpan`), under
   * `parent` (the context active at the call).
   */
  start(call: PlannedCall, watch: RequestWatch | undefined, parent: Context): RequestLifecycle {
    const startedAt = nowMs();
    const span = new DeferredSpan(this, call.description, startedAt, parent);
    const contentSettings = this.settings.content;
    const content = contentSettings && call.content ? this.captureContent(call.content, contentSettings) : undefined;
    return new RequestLifecycle(call, span, this, watch, content, startedAt);
  }

  /** The tracer a request's span starts with, when it starts. */
  spanTracer(): Tracer {
    this.onStart();
    return this.tracer();
  }

  private captureContent(reader: () => ContentReader, settings: ContentSettings): ContentCapture | undefined {
    return safely('capturing message content', undefined, () => new ContentCapture(reader(), settings));
  }

  private release(admission: Admission): void {
    safely('releasing a budget', undefined, () => admission.watch.settle(undefined, undefined));
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
