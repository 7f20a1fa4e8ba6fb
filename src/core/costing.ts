/**
 * The costing step: an ended request becomes a `CostRecord`. Usage is resolved value by
 * value (reported, else estimated), priced, and checked against what earlier reads of the
 * same response already charged (a resumed stream). Budgets and exporters only ever see
 * the record this produces.
 */
import type { EndedRequest } from './lifecycle.js';
import type { Charge, CostRecord, PricedCost, PricingInput } from './model.js';
import { errorClass } from './error-summary.js';
import { logInternalError } from './safely.js';
import { resolveUsage, type EstimateContext } from './usage.js';
export interface CostingContext extends EstimateContext {
  /** Prices resolved usage (src/pricing/price-request.ts, with the instrumentation's price data and overrides). */
  readonly price: (input: PricingInput) => PricedCost;
}

export async function costRequest(ended: EndedRequest, context: CostingContext): Promise<CostRecord> {
  const usage = await resolveUsage(ended, context);
  const { description } = ended.call;
  const cost = context.price({
    provider: description.provider,
    models: [ended.responseModel, description.model],
    usage,
    requestedServiceTier: description.serviceTier,
    servedServiceTier: ended.servedServiceTier,
    at: new Date(ended.startedAt),
  });
  const spanContext = ended.span.spanContext();
  const record: CostRecord = {
    provider: description.provider,
    operation: description.operation,
    requestModel: description.model,
    responseModel: ended.responseModel,
    responseId: ended.responseId,
    stream: description.stream,
    outcome: ended.outcome,
    errorType: ended.outcome === 'error' ? errorClass(ended.error) : undefined,
    usage,
    cost,
    ...(description.serviceTier !== undefined ? { requestedServiceTier: description.serviceTier } : {}),
    ...(ended.servedServiceTier !== undefined ? { servedServiceTier: ended.servedServiceTier } : {}),
    finishReasons: ended.finishReasons,
    chunks: ended.chunks,
    ...(ended.attempts > 0 ? { attempts: ended.attempts } : {}),
    durationMs: ended.endedAt - ended.startedAt,
    timeToFirstChunkMs: ended.firstChunkAt === undefined ? undefined : ended.firstChunkAt - ended.startedAt,
    traceId: spanContext.traceId,
    spanId: spanContext.spanId,
  };
  return withAlreadyCharged(ended, record);
}

/** What a record puts on the token and spend metrics, per token type. */
export function chargeOf(record: CostRecord): Charge {
  const priced = record.cost.source === 'unpriced' ? undefined : record.cost;
  return {
    inputTokens: record.usage.input.value,
    outputTokens: record.usage.output.value,
    inputUsd: priced?.inputUsd ?? 0,
    outputUsd: priced?.outputUsd ?? 0,
    toolUsd: priced?.toolUsd ?? 0,
  };
}

/** What this record adds to the metrics: everything, less what earlier reads of the response charged. */
export function unchargedPart(record: CostRecord): Charge {
  const total = chargeOf(record);
  const before = record.alreadyCharged;
  if (!before) return total;
  return {
    inputTokens: Math.max(0, total.inputTokens - before.inputTokens),
    outputTokens: Math.max(0, total.outputTokens - before.outputTokens),
    inputUsd: Math.max(0, total.inputUsd - before.inputUsd),
    outputUsd: Math.max(0, total.outputUsd - before.outputUsd),
    toolUsd: Math.max(0, (total.toolUsd ?? 0) - (before.toolUsd ?? 0)),
  };
}

/** Asks the call's ledger what earlier reads of this response already charged. */
function withAlreadyCharged(ended: EndedRequest, record: CostRecord): CostRecord {
  const ledger = ended.call.chargeLedger;
  if (!ledger || record.responseId === undefined) return record;
  try {
    const previous = ledger.settle(record.responseId, chargeOf(record));
    return previous ? { ...record, alreadyCharged: previous } : record;
  } catch (error) {
    logInternalError('the charge ledger', error);
    return record;
  }
}
