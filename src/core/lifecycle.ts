/**
 * One request from the moment it is planned to the moment its outcome is decided. This is
 * the only place an outcome is decided: `end` runs once and later calls are ignored, so
 * whichever exit fires first (the stream's end, `return()`, an error, an abort, the idle
 * timer, garbage collection) wins. The ended request is handed to its owner, which costs
 * and exports it (pipeline.ts).
 *
 * Providers see this object only as a `ResponseObserver`; watches (budgets) only as
 * `StreamProgress`. The counters the stream observer keeps (reads in flight, chunks) are
 * changed through methods, never by writing fields.
 */
import type { Span } from '@opentelemetry/api';
import type { CancellableRequest, PlannedCall, ResponseObserver } from './adapter.js';
import type { ContentCapture } from './content.js';
import type { DeferredSpan } from './deferred-span.js';
import type { ReportedUsage, ServerTool, ServerToolCalls, StreamOutcome } from './model.js';
import type { ReportedUsageCheck } from './usage-sanity.js';
import type { RequestWatch, StreamProgress } from './watch.js';

/** Received-text pieces are joined into one string this often (see `outputText`). */
const JOIN_EVERY = 64;

/**
 * After an abort, chunks the SDK had already decoded still reach the consumer's loop (a
 * fast stream delivers dozens of events per network read), and each was generated and
 * billed. The request therefore ends when the stream does, or once no chunk has arrived
 * for this long: buffered chunks come within microseconds of each other, and a read still
 * pending this long after an abort is stuck (seen with openai 6 on Node 20 when the body
 * spans several network reads). A shutdown does not wait for it (`RequestOwner.draining`).
 */
export const ABORT_GRACE_MS = 1000;

/** Read once: `performance.timeOrigin` is a getter with checks, and it never changes. */
const TIME_ORIGIN = performance.timeOrigin;

export const nowMs = (): number => TIME_ORIGIN + performance.now();

/** The request as it was when its outcome was decided. */
export interface EndedRequest {
  readonly call: PlannedCall;
  readonly span: Span;
  readonly startedAt: number;
  readonly firstChunkAt: number | undefined;
  readonly endedAt: number;
  readonly responseModel: string | undefined;
  readonly responseId: string | undefined;
  readonly finishReasons: readonly string[];
  readonly reported: Readonly<ReportedUsage>;
  /** The `service_tier` the response says it was served in, as written. */
  readonly servedServiceTier: string | undefined;
  readonly toolCalls: Readonly<ServerToolCalls>;
  readonly outputText: string;
  readonly chunks: number;
  readonly outcome: StreamOutcome;
  readonly error: unknown;
  /** False when the request was never sent (a budget refused it): nothing to bill. */
  readonly sent: boolean;
  readonly watch: RequestWatch | undefined;
  /** HTTP attempts seen (1 + the SDK's retries); 0 when none could be seen (`attempts.ts`). */
  readonly attempts: number;
  /** Set when message content is captured (opt-in). */
  readonly content: ContentCapture | undefined;
}

/** Who receives a request once it has ended, and keeps track of those ending after an abort. */
export interface RequestOwner {
  /** Drops reported values no provider can mean (`usage-sanity.ts`); one per instrumentation. */
  readonly usageCheck: ReportedUsageCheck;
  ended(request: EndedRequest): void;
  /** `true` while the request waits out `ABORT_GRACE_MS`, `false` once it stops waiting. */
  draining(request: RequestLifecycle, waiting: boolean): void;
}

export class RequestLifecycle implements ResponseObserver, CancellableRequest, StreamProgress {
  private firstChunkAt: number | undefined;
  private responseModel: string | undefined;
  private id: string | undefined;
  private readonly finishReasons: string[] = [];
  private readonly reported: ReportedUsage = {};
  private servedServiceTier: string | undefined;
  private readonly toolCalls: ServerToolCalls = {};
  /**
   * Received text, kept only to estimate output tokens if the provider never reports them.
   * Every `JOIN_EVERY` chunks the pieces are joined into one flat block: appending them one
   * by one would keep every chunk's own small string alive under a rope, several times the
   * text's size; joining only the new pieces keeps the cost linear in the text.
   */
  private outputPieces: string[] = [];
  private outputBlocks: string[] = [];
  private length = 0;
  private chunks = 0;
  private terminal = false;
  /** Bumped on every chunk; the idle watchdog compares it between its ticks. */
  private activity = 0;
  /** Reads in flight (a pending `next()` or HTTP response): not idle while above zero. */
  private pending = 0;
  private outcome: StreamOutcome | undefined;
  private failure: unknown;
  private unterminatedOutcome: StreamOutcome = 'truncated';
  private attempts = 0;
  private cleanups: (() => void)[] = [];
  private graceTimer: NodeJS.Timeout | undefined;
  /** Set when a watch stopped the request: what the consumer's next read receives. */
  private stoppedWith: Error | undefined;

  constructor(
    readonly call: PlannedCall,
    readonly span: DeferredSpan,
    private readonly owner: RequestOwner,
    readonly watch: RequestWatch | undefined,
    readonly content: ContentCapture | undefined,
    readonly startedAt: number = nowMs(),
  ) {}

  // --- ResponseObserver: what the provider's reader reports ---

  get responseId(): string | undefined {
    return this.id;
  }

  identify(id: unknown, model: unknown, finalModel = false): void {
    if (this.id === undefined && typeof id === 'string') this.id = id;
    if (typeof model === 'string' && (finalModel || this.responseModel === undefined)) this.responseModel = model;
  }

  reportUsage(usage: ReportedUsage): void {
    Object.assign(this.reported, this.owner.usageCheck.accept(this.call.description.provider, usage));
  }

  reportServiceTier(tier: unknown, final = false): void {
    if (typeof tier === 'string' && tier.length > 0 && (final || this.servedServiceTier === undefined)) this.servedServiceTier = tier;
  }

  noteToolCalls(tool: ServerTool, count: number): void {
    // Whole numbers only, and counts only grow: a smaller later figure is ignored.
    if (!Number.isSafeInteger(count) || count <= (this.toolCalls[tool] ?? 0)) return;
    this.toolCalls[tool] = count;
  }

  addOutput(text: unknown): void {
    if (typeof text !== 'string' || text.length === 0) return;
    this.outputPieces.push(text);
    this.length += text.length;
    if (this.outputPieces.length >= JOIN_EVERY) {
      this.outputBlocks.push(this.outputPieces.join(''));
      this.outputPieces = [];
    }
  }

  addFinishReason(reason: unknown): void {
    if (typeof reason === 'string' && reason.length > 0) this.finishReasons.push(reason);
  }

  markTerminal(): void {
    this.terminal = true;
  }

  reportFailure(error: unknown): void {
    this.failure ??= error;
  }

  endsUnterminatedAs(outcome: StreamOutcome): void {
    this.unterminatedOutcome = outcome;
  }

  // --- StreamProgress: what a watch reads ---

  get outputLength(): number {
    return this.length;
  }

  get reportedInput(): number | undefined {
    return this.reported.input;
  }

  get ended(): boolean {
    return this.outcome !== undefined;
  }

  /** All the received text, as one string. */
  outputText(): string {
    if (this.outputPieces.length > 0 || this.outputBlocks.length > 1) {
      // One join of everything: `a + b` would make a rope again.
      this.outputBlocks = [[...this.outputBlocks, ...this.outputPieces].join('')];
      this.outputPieces = [];
    }
    return this.outputBlocks[0] ?? '';
  }

  // --- The stream observer's bookkeeping ---

  /** The provider's terminal event has arrived. */
  get sawTerminal(): boolean {
    return this.terminal;
  }

  /** How a stream that ended cleanly is read. */
  get cleanEndOutcome(): StreamOutcome {
    return this.terminal ? 'completed' : this.unterminatedOutcome;
  }

  get readsInFlight(): number {
    return this.pending;
  }

  get activityCount(): number {
    return this.activity;
  }

  get stopError(): Error | undefined {
    return this.stoppedWith;
  }

  readStarted(): void {
    this.pending++;
  }

  readSettled(): void {
    this.pending--;
  }

  /** A chunk arrived; `visible` when the consumer receives it. */
  chunkArrived(visible: boolean): void {
    this.activity++;
    if (this.firstChunkAt === undefined) this.firstChunkAt = nowMs();
    if (visible) this.chunks++;
  }

  noteAttempt(): void {
    if (this.outcome === undefined) this.attempts++;
  }

  /** A watch stopped the request: it ends now, and the consumer's next read gets `error`. */
  stop(error: Error): void {
    this.stoppedWith = error;
    this.end('budget_exceeded', error);
  }

  /** Treats `signal`'s abort as this request's (`aborted()`), and lets go of it when the request ends. */
  followAbort(signal: AbortSignal): void {
    if (signal.aborted) {
      this.aborted();
      return;
    }
    const onAbort = (): void => this.aborted();
    signal.addEventListener('abort', onAbort, { once: true });
    this.onEnd(() => signal.removeEventListener('abort', onAbort));
  }

  /**
   * The request was aborted. It ends when its stream does (a read in flight decides: the SDK
   * aborts its own controller while unwinding from a network error too, and the read then
   * rejects with the real cause), or after `ABORT_GRACE_MS` without a chunk; chunks the SDK
   * had already decoded are counted as the consumer receives them.
   */
  aborted(): void {
    if (this.outcome !== undefined || this.graceTimer) return;
    let seen = this.activity;
    const timer = setTimeout(() => {
      if (this.activity === seen) this.end('cancelled');
      else {
        seen = this.activity;
        timer.refresh();
      }
    }, ABORT_GRACE_MS);
    timer.unref();
    this.graceTimer = timer;
    this.owner.draining(this, true);
  }

  /** Ends a request still waiting after an abort, now (a shutdown is flushing). */
  endDraining(): void {
    if (this.graceTimer) this.end('cancelled');
  }

  cancel(): void {
    this.end('cancelled');
  }

  onEnd(cleanup: () => void): void {
    if (this.outcome !== undefined) cleanup();
    else this.cleanups.push(cleanup);
  }

  end(outcome: StreamOutcome, error?: unknown, sent = true): void {
    if (this.outcome !== undefined) return;
    if (this.failure !== undefined) {
      outcome = 'error';
      error = this.failure;
    }
    this.outcome = outcome;
    const endedAt = nowMs();
    if (this.graceTimer) {
      clearTimeout(this.graceTimer);
      this.graceTimer = undefined;
      this.owner.draining(this, false);
    }
    const cleanups = this.cleanups;
    this.cleanups = [];
    for (const cleanup of cleanups) {
      try {
        cleanup();
      } catch {
        // cleanup is best effort; the outcome stands
      }
    }
    this.owner.ended({
      call: this.call,
      span: this.span,
      startedAt: this.startedAt,
      firstChunkAt: this.firstChunkAt,
      endedAt,
      responseModel: this.responseModel,
      responseId: this.id,
      finishReasons: this.finishReasons,
      reported: { ...this.reported },
      servedServiceTier: this.servedServiceTier,
      toolCalls: { ...this.toolCalls },
      outputText: this.outputText(),
      chunks: this.chunks,
      outcome,
      error,
      sent,
      watch: this.watch,
      attempts: this.attempts,
      content: this.content,
    });
  }
}
