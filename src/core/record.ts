/**
 * One record per request: everything observed about it, and the single place where its
 * outcome is decided. `finish` runs once; later calls are ignored, so whichever exit
 * path fires first (done, return, error, abort event, idle timer, GC) wins.
 */
import type { Span } from '@opentelemetry/api';
import type { PlannedCall } from './adapter.js';
import type { ContentCapture } from './content.js';
import type { BudgetSettlement, PricedCost, ReportedUsage, StreamOutcome } from './model.js';
import type { ReportedUsageCheck } from './usage-sanity.js';

/** The budgets a request is charged to (`src/budget/guard.ts`); the core only consults it. */
export interface RequestBudget {
  /** After each chunk: the error to stop the request with, once it is over a limit. */
  check(record: RequestRecord): Error | undefined;
  /** Once, when the request is priced (`undefined` if pricing failed): charges its final cost. */
  settle(cost: PricedCost | undefined, responseModel: string | undefined): BudgetSettlement;
}

/** Received-text pieces are joined into one string this often (see `outputText`). */
const JOIN_EVERY = 64;

export const nowMs = (): number => performance.timeOrigin + performance.now();

/** The record frozen at the moment its outcome was decided. */
export interface FinishedRequest {
  readonly call: PlannedCall;
  readonly span: Span;
  readonly startedAt: number;
  readonly firstChunkAt: number | undefined;
  readonly endedAt: number;
  readonly responseModel: string | undefined;
  readonly responseId: string | undefined;
  readonly finishReasons: readonly string[];
  readonly reported: Readonly<ReportedUsage>;
  readonly outputText: string;
  readonly chunks: number;
  readonly outcome: StreamOutcome;
  readonly error: unknown;
  /** False when the request was never sent (a budget refused it): nothing to bill. */
  readonly sent: boolean;
  readonly budget: RequestBudget | undefined;
  /** HTTP attempts seen (1 + the SDK's retries); 0 when none could be seen (`attempts.ts`). */
  readonly attempts: number;
  /** Set when message content is captured (opt-in). */
  readonly content: ContentCapture | undefined;
}

export class RequestRecord {
  readonly startedAt = nowMs();
  firstChunkAt: number | undefined;
  responseModel: string | undefined;
  responseId: string | undefined;
  readonly finishReasons: string[] = [];
  readonly reported: ReportedUsage = {};
  /**
   * Received text (content, tool arguments, reasoning), kept only to estimate output
   * tokens if the provider never reports them. Every `JOIN_EVERY` chunks the pieces are
   * joined into one flat block: appending them one by one would keep every chunk's own
   * small string alive under a rope, several times the text's size; joining only the new
   * pieces keeps the cost linear in the text.
   */
  private outputPieces: string[] = [];
  private outputBlocks: string[] = [];
  /** Characters of received text so far (cheap, for the per-chunk budget check). */
  outputLength = 0;
  /** Chunks handed to the consumer. */
  chunks = 0;
  /** The provider's terminal event (finish reason, message_stop, response.completed) arrived. */
  sawTerminal = false;
  /** Bumped on every chunk; the idle watchdog compares it between its ticks. */
  activity = 0;
  /** Reads in flight (a pending `next()` or HTTP response): not idle while above zero. */
  pending = 0;
  outcome: StreamOutcome | undefined;
  /**
   * An error the provider reported inside an otherwise well-formed stream (an `error`
   * event some SDK versions yield as an item, a `response.failed`): however the stream
   * then ends, its outcome is `error`.
   */
  failure: unknown;
  /**
   * How a stream that ends cleanly without its terminal event is read. Usually the
   * provider cut it short (`truncated`); the adapter may know better (an OpenAI
   * background response ends that way only when it was cancelled).
   */
  unterminatedOutcome: StreamOutcome = 'truncated';
  budget: RequestBudget | undefined;
  /** Set when a budget stopped the request: what the consumer's next read receives. */
  stoppedBy: Error | undefined;
  sent = true;
  /** HTTP attempts sent for this request, counted by `attempts.ts`. */
  attempts = 0;
  /** Set when message content is captured (opt-in). */
  content: ContentCapture | undefined;
  private cleanups: (() => void)[] = [];

  constructor(
    readonly call: PlannedCall,
    readonly span: Span,
    private readonly onFinished: (done: FinishedRequest) => void,
    /** Drops reported values no provider can mean (`usage-sanity.ts`). */
    private readonly usageCheck: ReportedUsageCheck,
  ) {}

  get finished(): boolean {
    return this.outcome !== undefined;
  }

  /** Registers work to undo when the request ends (listeners, timers). */
  onFinish(cleanup: () => void): void {
    if (this.finished) cleanup();
    else this.cleanups.push(cleanup);
  }

  reportUsage(usage: ReportedUsage): void {
    Object.assign(this.reported, this.usageCheck.accept(this.call.description.provider, usage));
  }

  addOutput(text: unknown): void {
    if (typeof text !== 'string' || text.length === 0) return;
    this.outputPieces.push(text);
    this.outputLength += text.length;
    if (this.outputPieces.length >= JOIN_EVERY) {
      this.outputBlocks.push(this.outputPieces.join(''));
      this.outputPieces = [];
    }
  }

  /** All the received text, as one string (read rarely: at the end, or near a budget's limit). */
  get outputText(): string {
    if (this.outputPieces.length > 0 || this.outputBlocks.length > 1) {
      // One join of everything: `a + b` would make a rope again.
      this.outputBlocks = [[...this.outputBlocks, ...this.outputPieces].join('')];
      this.outputPieces = [];
    }
    return this.outputBlocks[0] ?? '';
  }

  addFinishReason(reason: unknown): void {
    if (typeof reason === 'string' && reason.length > 0) this.finishReasons.push(reason);
  }

  finish(outcome: StreamOutcome, error?: unknown): void {
    if (this.outcome !== undefined) return;
    if (this.failure !== undefined) {
      outcome = 'error';
      error = this.failure;
    }
    this.outcome = outcome;
    const endedAt = nowMs();
    const cleanups = this.cleanups;
    this.cleanups = [];
    for (const cleanup of cleanups) {
      try {
        cleanup();
      } catch {
        // cleanup is best effort; the outcome stands
      }
    }
    this.onFinished({
      call: this.call,
      span: this.span,
      startedAt: this.startedAt,
      firstChunkAt: this.firstChunkAt,
      endedAt,
      responseModel: this.responseModel,
      responseId: this.responseId,
      finishReasons: [...this.finishReasons],
      reported: { ...this.reported },
      outputText: this.outputText,
      chunks: this.chunks,
      outcome,
      error,
      sent: this.sent,
      budget: this.budget,
      attempts: this.attempts,
      content: this.content,
    });
  }
}
