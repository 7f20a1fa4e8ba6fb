/**
 * The listener seam of the request lifecycle: something that follows a request from before
 * it is sent to its final cost (budgets do; see src/budget/watcher.ts). The core defines
 * these shapes and calls them; it knows nothing of what implements them. A request nobody
 * watches has no watch at all, so its per-chunk path costs one `undefined` check.
 */
import type { PlannedCall } from './adapter.js';
import type { BudgetSettlement, PricedCost } from './model.js';

/** What a watch may read of a stream in flight, after each chunk. */
export interface StreamProgress {
  /** Characters of generated text received so far. */
  readonly outputLength: number;
  /** Input tokens the provider has reported, once it has. */
  readonly reportedInput: number | undefined;
  /** True once the request's outcome is decided. */
  readonly ended: boolean;
  /** All the generated text so far (joins it: read rarely). */
  outputText(): string;
}

export interface Admission {
  /** The call to send: the planned one, or a rewrite (another model, a lower output limit). */
  readonly call: PlannedCall;
  readonly watch: RequestWatch;
  /** Set when the request must not be sent: the caller receives this error. */
  readonly refusal?: Error;
}

/** Decides, before each request is sent, whether and how to watch it. */
export interface RequestWatcher {
  /**
   * `replan` plans the call again for a rewritten body. Returns `undefined` when the request
   * is not watched. Must not throw; the core treats a throw as "not watched" and logs it.
   */
  admit(call: PlannedCall, userBody: unknown, replan: (body: unknown) => PlannedCall | undefined): Admission | undefined;
}

/** One watched request. */
export interface RequestWatch {
  /** After each chunk, until the provider's terminal event: the error to stop the request with. */
  onChunk(progress: StreamProgress): Error | undefined;
  /** Once, when the outcome is decided (costing follows asynchronously). */
  onEnded(): void;
  /** Once, with the final cost (`undefined` if costing failed): what goes on the span and to `onCost`. */
  settle(cost: PricedCost | undefined, responseModel: string | undefined): BudgetSettlement;
}
