/**
 * What the metrics were already charged for each Responses API response id, so that a
 * response read twice (a background stream interrupted, then resumed with
 * `retrieve(id, { stream: true })`, which replays the full usage) is counted once.
 *
 * The rule: per response id and per token type, the metrics hold the largest figure any
 * read of that response produced. A later read adds only what exceeds it; its span still
 * shows its own totals. An early estimate that came out higher than the final report
 * cannot be taken back (counters only grow), so it stands.
 *
 * The same figures are the context a continuation reads: a request with
 * `previous_response_id` is estimated from what its predecessor was charged
 * (count-responses-input.ts).
 *
 * Memory is bounded: the least recently settled ids are forgotten first (10,000 ids:
 * 2.4 MB measured with 55-character ids).
 */
import type { ChargeLedger } from '../../core/adapter.js';
import type { Charge } from '../../core/model.js';

export const RESUME_LEDGER_LIMIT = 10_000;

export class ResumeLedger implements ChargeLedger {
  private readonly charged = new Map<string, Charge>();

  constructor(private readonly limit = RESUME_LEDGER_LIMIT) {}

  settle(responseId: string, charge: Charge): Charge | undefined {
    const previous = this.charged.get(responseId);
    const merged = previous ? largestOf(previous, charge) : charge;
    // Re-inserting moves the id to the newest end of the map's insertion order.
    this.charged.delete(responseId);
    this.charged.set(responseId, merged);
    if (this.charged.size > this.limit) {
      const oldest = this.charged.keys().next();
      if (!oldest.done) this.charged.delete(oldest.value);
    }
    return previous;
  }

  /** What is accounted for a response so far, if this process saw it. */
  chargedFor(responseId: string): Charge | undefined {
    return this.charged.get(responseId);
  }

  get size(): number {
    return this.charged.size;
  }
}

function largestOf(a: Charge, b: Charge): Charge {
  return {
    inputTokens: Math.max(a.inputTokens, b.inputTokens),
    outputTokens: Math.max(a.outputTokens, b.outputTokens),
    inputUsd: Math.max(a.inputUsd, b.inputUsd),
    outputUsd: Math.max(a.outputUsd, b.outputUsd),
    ...(a.toolUsd !== undefined || b.toolUsd !== undefined ? { toolUsd: Math.max(a.toolUsd ?? 0, b.toolUsd ?? 0) } : {}),
  };
}
