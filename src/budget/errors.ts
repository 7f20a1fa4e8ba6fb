/** The errors a budget raises in the user's code, on purpose: they are the budget's answer. */

/** Where a budget stopped a request: before it was sent, or while its stream was arriving. */
export type BudgetExceededReason = 'preflight' | 'midstream';

/** The request a budget stopped, as the span names it. */
export interface StoppedRequest {
  readonly provider: string;
  readonly operation: string;
  readonly model: string | undefined;
}

export class BudgetExceededError extends Error {
  override readonly name = 'BudgetExceededError';

  constructor(
    readonly budgetName: string,
    readonly limitUsd: number,
    /** What the budget had spent when it stopped the request (this request's running cost included). */
    readonly spentUsd: number,
    readonly reason: BudgetExceededReason,
    readonly request: StoppedRequest,
  ) {
    const what = `${request.operation}${request.model ? ` ${request.model}` : ''}`;
    const verdict =
      reason === 'preflight' ? 'refused before sending: its input alone does not fit' : 'stopped mid-stream: over the limit';
    super(
      `Budget "${budgetName}" (limit $${limitUsd}) ${verdict} (${what}, $${spentUsd.toFixed(6)} spent or reserved)`,
    );
  }
}

/** A shared budget store could not vouch for the total and is set to fail closed. */
export class BudgetStoreUnavailableError extends Error {
  override readonly name = 'BudgetStoreUnavailableError';

  constructor(
    readonly budgetName: string,
    readonly request: StoppedRequest,
  ) {
    super(`Budget "${budgetName}": its store is unavailable and set to fail closed; request refused (${request.operation})`);
  }
}
