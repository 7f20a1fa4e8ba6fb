/** The errors a budget raises in the user's code, on purpose: they are the budget's answer. */

/** Where a budget stopped a request: before it was sent, or while its stream was arriving. */
export type BudgetExceededReason = 'preflight' | 'midstream';

/** The request a budget stopped, as the span names it. */
export interface StoppedRequest {
  readonly provider: string;
  readonly operation: string;
  readonly model: string | undefined;
}

const usd = (amount: number): string => `$${Number(amount.toPrecision(6))}`;

export class BudgetExceededError extends Error {
  override readonly name = 'BudgetExceededError';
  /** What the budget had spent when it stopped the request, this request's cost so far (or up front) included. */
  readonly spentUsd: number;

  constructor(
    readonly budgetName: string,
    readonly limitUsd: number,
    /** Spent before this request (pre-flight), or in all with it (mid-stream). */
    spentBefore: number,
    /** What the request needed up front (pre-flight); 0 mid-stream. */
    requestUsd: number,
    readonly reason: BudgetExceededReason,
    readonly request: StoppedRequest,
  ) {
    const what = `${request.operation}${request.model ? ` ${request.model}` : ''}`;
    let message: string;
    if (reason === 'midstream') {
      message = `Budget "${budgetName}" stopped a stream mid-way: ${usd(spentBefore)} of ${usd(limitUsd)} spent (${what})`;
    } else if (spentBefore >= limitUsd) {
      message = `Budget "${budgetName}" is exhausted: ${usd(spentBefore)} of ${usd(limitUsd)} spent; request refused before sending (${what})`;
    } else {
      message =
        `Budget "${budgetName}" cannot pay for this request: it needs ${usd(requestUsd)} up front and ` +
        `${usd(limitUsd - spentBefore)} of ${usd(limitUsd)} is left; refused before sending (${what})`;
    }
    super(message);
    this.spentUsd = spentBefore + requestUsd;
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
