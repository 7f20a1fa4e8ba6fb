/**
 * Writes a finished request to its span, the metrics and the user's `onCost` callback.
 * This is the only module that knows attribute and metric names (from `semconv.ts`).
 */
import { SpanStatusCode, type Attributes, type Counter, type Histogram, type Meter } from '@opentelemetry/api';
import * as sc from '../semconv.js';
import { summarizeError } from './error-summary.js';
import type { BudgetSettlement, Charge, CostRecord, PricedCost, ResolvedUsage, UsageValue } from './model.js';
import { priceUsage, type PriceOverrides } from './price.js';
import type { FinishedRequest } from './record.js';
import { logInternalError } from './safely.js';
import { resolveUsage } from './usage.js';

interface Instruments {
  tokenUsage: Histogram;
  duration: Histogram;
  timeToFirstChunk: Histogram;
  spend: Counter;
  budgetExceeded: Counter;
}

export type CostCallback = (record: CostRecord) => void;

export class CostTelemetry {
  private instruments: Instruments | undefined;
  private readonly writing = new Set<Promise<void>>();

  constructor(
    private readonly costCallback: () => CostCallback | undefined,
    private readonly priceOverrides: () => PriceOverrides | undefined = () => undefined,
  ) {}

  useMeter(meter: Meter): void {
    this.instruments = {
      tokenUsage: meter.createHistogram(sc.METRIC_GEN_AI_CLIENT_TOKEN_USAGE, {
        description: 'Tokens used per request, by token type and by whether the provider reported or we estimated them',
        unit: '{token}',
        advice: { explicitBucketBoundaries: sc.TOKEN_USAGE_BUCKETS },
      }),
      duration: meter.createHistogram(sc.METRIC_GEN_AI_CLIENT_OPERATION_DURATION, {
        description: 'Duration of GenAI requests, until the stream ended however it ended',
        unit: 's',
        advice: { explicitBucketBoundaries: sc.DURATION_BUCKETS },
      }),
      timeToFirstChunk: meter.createHistogram(sc.METRIC_GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK, {
        description: 'Time from the request to the first streamed chunk',
        unit: 's',
        advice: { explicitBucketBoundaries: sc.DURATION_BUCKETS },
      }),
      spend: meter.createCounter(sc.METRIC_LLM_COST_SPEND, {
        description: 'USD cost of GenAI requests, by token type and by whether it rests on reported or estimated tokens',
        unit: 'USD',
      }),
      budgetExceeded: meter.createCounter(sc.METRIC_LLM_COST_BUDGET_EXCEEDED, {
        description: 'Requests a budget refused before sending (preflight) or stopped mid-stream (midstream)',
        unit: '{request}',
      }),
    };
  }

  /** Writes the request out; the span ends exactly once, even if our own code fails. */
  complete(done: FinishedRequest): void {
    const writing: Promise<void> = this.write(done).finally(() => this.writing.delete(writing));
    this.writing.add(writing);
  }

  /** Resolves once every finished request has been written (estimates can be asynchronous). */
  async flush(): Promise<void> {
    while (this.writing.size > 0) await Promise.allSettled([...this.writing]);
  }

  private async write(done: FinishedRequest): Promise<void> {
    let record: CostRecord | undefined;
    let budget: BudgetSettlement | undefined;
    try {
      const usage = await resolveUsage(done);
      const { description } = done.call;
      const cost = priceUsage(description.provider, [done.responseModel, description.model], usage, this.priceOverrides());
      budget = done.budget?.settle(cost, done.responseModel);
      record = toCostRecord(done, usage, cost, budget);
      done.span.setAttributes(spanAttributes(record));
      if (done.content) done.span.setAttributes(done.content.attributes());
    } catch (error) {
      logInternalError('writing span attributes', error);
    } finally {
      // Settled exactly once, whatever failed above: a budget must not keep a reservation forever.
      if (done.budget && !budget) settleQuietly(done);
      endSpan(done);
    }
    if (!record) return;
    record = withAlreadyCharged(done, record);
    try {
      this.recordMetrics(record);
    } catch (error) {
      logInternalError('recording metrics', error);
    }
    const callback = this.costCallback();
    if (callback) {
      try {
        callback(record);
      } catch (error) {
        logInternalError('the onCost callback', error);
      }
    }
  }

  private recordMetrics(record: CostRecord): void {
    const instruments = this.instruments;
    if (!instruments) return;
    const common: Attributes = {
      [sc.ATTR_GEN_AI_OPERATION_NAME]: record.operation,
      [sc.ATTR_GEN_AI_PROVIDER_NAME]: record.provider,
      [sc.ATTR_LLM_COST_STREAM_OUTCOME]: record.outcome,
    };
    if (record.requestModel) common[sc.ATTR_GEN_AI_REQUEST_MODEL] = record.requestModel;
    if (record.responseModel) common[sc.ATTR_GEN_AI_RESPONSE_MODEL] = record.responseModel;

    if (record.outcome === 'budget_exceeded' && record.budget?.exceededReason) {
      instruments.budgetExceeded.add(1, {
        [sc.ATTR_LLM_COST_BUDGET_NAME]: record.budget.name,
        [sc.ATTR_LLM_COST_BUDGET_REASON]: record.budget.exceededReason,
      });
    }
    const durationAttributes = record.errorType ? { ...common, [sc.ATTR_ERROR_TYPE]: record.errorType } : common;
    instruments.duration.record(record.durationMs / 1000, durationAttributes);
    if (record.timeToFirstChunkMs !== undefined) {
      instruments.timeToFirstChunk.record(record.timeToFirstChunkMs / 1000, common);
    }

    const byType = (type: 'input' | 'output', usage: UsageValue): Attributes => ({
      ...common,
      [sc.ATTR_GEN_AI_TOKEN_TYPE]: type,
      [sc.ATTR_LLM_COST_SOURCE_METRIC]: usage.source,
    });
    const inputAttributes = byType('input', record.usage.input);
    const outputAttributes = byType('output', record.usage.output);
    const charge = unchargedPart(record);
    if (charge.inputTokens > 0) instruments.tokenUsage.record(charge.inputTokens, inputAttributes);
    if (charge.outputTokens > 0) instruments.tokenUsage.record(charge.outputTokens, outputAttributes);
    if (record.cost.source !== 'unpriced') {
      if (charge.inputUsd > 0) instruments.spend.add(charge.inputUsd, inputAttributes);
      if (charge.outputUsd > 0) instruments.spend.add(charge.outputUsd, outputAttributes);
    }
  }
}

function endSpan(done: FinishedRequest): void {
  const { span } = done;
  try {
    span.setAttribute(sc.ATTR_LLM_COST_STREAM_OUTCOME, done.outcome);
    if (done.outcome === 'error') writeError(span, done);
  } finally {
    span.end(done.endedAt);
  }
}

function settleQuietly(done: FinishedRequest): void {
  try {
    done.budget?.settle(undefined, done.responseModel);
  } catch (error) {
    logInternalError('settling a budget', error);
  }
}

function toCostRecord(
  done: FinishedRequest,
  usage: ResolvedUsage,
  cost: PricedCost,
  budget: BudgetSettlement | undefined,
): CostRecord {
  const { description } = done.call;
  const spanContext = done.span.spanContext();
  return {
    provider: description.provider,
    operation: description.operation,
    requestModel: description.model,
    responseModel: done.responseModel,
    responseId: done.responseId,
    stream: description.stream,
    outcome: done.outcome,
    errorType: done.outcome === 'error' ? errorType(done.error) : undefined,
    usage,
    cost,
    finishReasons: done.finishReasons,
    chunks: done.chunks,
    ...(done.attempts > 0 ? { attempts: done.attempts } : {}),
    durationMs: done.endedAt - done.startedAt,
    timeToFirstChunkMs: done.firstChunkAt === undefined ? undefined : done.firstChunkAt - done.startedAt,
    traceId: spanContext.traceId,
    spanId: spanContext.spanId,
    ...(budget ? { budget } : {}),
  };
}

function spanAttributes(record: CostRecord): Attributes {
  const attributes: Attributes = {
    [sc.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: record.usage.input.value,
    [sc.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: record.usage.output.value,
    [sc.ATTR_LLM_COST_INPUT_TOKENS_SOURCE]: record.usage.input.source,
    [sc.ATTR_LLM_COST_OUTPUT_TOKENS_SOURCE]: record.usage.output.source,
    [sc.ATTR_LLM_COST_SOURCE]: record.cost.source,
  };
  if (record.usage.cacheRead) attributes[sc.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = record.usage.cacheRead.value;
  if (record.usage.cacheCreation) {
    attributes[sc.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = record.usage.cacheCreation.value;
  }
  if (record.usage.reasoning) attributes[sc.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = record.usage.reasoning.value;
  if (record.usage.calibration !== undefined) attributes[sc.ATTR_LLM_COST_ESTIMATE_CALIBRATION] = record.usage.calibration;
  if (record.cost.source !== 'unpriced') {
    attributes[sc.ATTR_LLM_COST_USD] = record.cost.totalUsd;
    attributes[sc.ATTR_LLM_COST_INPUT_USD] = record.cost.inputUsd;
    attributes[sc.ATTR_LLM_COST_OUTPUT_USD] = record.cost.outputUsd;
    attributes[sc.ATTR_LLM_COST_PRICE_MODEL] = record.cost.priceModel;
    attributes[sc.ATTR_LLM_COST_PRICE_SOURCE] = record.cost.priceSource;
  }
  if (record.attempts !== undefined) attributes[sc.ATTR_LLM_COST_REQUEST_ATTEMPTS] = record.attempts;
  if (record.budget) Object.assign(attributes, budgetAttributes(record.budget));
  if (record.responseModel) attributes[sc.ATTR_GEN_AI_RESPONSE_MODEL] = record.responseModel;
  if (record.responseId) attributes[sc.ATTR_GEN_AI_RESPONSE_ID] = record.responseId;
  if (record.finishReasons.length > 0) attributes[sc.ATTR_GEN_AI_RESPONSE_FINISH_REASONS] = [...record.finishReasons];
  if (record.stream) {
    attributes[sc.ATTR_LLM_COST_STREAM_CHUNKS] = record.chunks;
    if (record.timeToFirstChunkMs !== undefined) {
      attributes[sc.ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = record.timeToFirstChunkMs / 1000;
    }
  }
  return attributes;
}

function budgetAttributes(budget: BudgetSettlement): Attributes {
  const attributes: Attributes = {
    [sc.ATTR_LLM_COST_BUDGET_NAME]: budget.name,
    [sc.ATTR_LLM_COST_BUDGET_LIMIT_USD]: budget.limitUsd,
    [sc.ATTR_LLM_COST_BUDGET_SPENT_USD]: budget.spentUsd,
    [sc.ATTR_LLM_COST_BUDGET_NAMES]: [...budget.names],
  };
  if (budget.exceededReason) attributes[sc.ATTR_LLM_COST_BUDGET_REASON] = budget.exceededReason;
  if (budget.requestedModel) attributes[sc.ATTR_LLM_COST_BUDGET_REQUESTED_MODEL] = budget.requestedModel;
  if (budget.clampedMaxTokens !== undefined) {
    attributes[sc.ATTR_LLM_COST_BUDGET_CLAMPED_MAX_TOKENS] = budget.clampedMaxTokens;
    attributes[sc.ATTR_GEN_AI_REQUEST_MAX_TOKENS] = budget.clampedMaxTokens;
  }
  return attributes;
}

function errorType(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const ctor = (error as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof ctor === 'string' && ctor !== 'Object' && ctor !== 'Error') return ctor;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name.length > 0) return name;
  }
  return '_OTHER';
}

/** Status, attributes and exception event of a failed request: a safe summary (`error-summary.ts`). */
function writeError(span: FinishedRequest['span'], done: FinishedRequest): void {
  span.setAttribute(sc.ATTR_ERROR_TYPE, errorType(done.error));
  const error = summarizeError(done.error, { request: done.call.body, verbatim: done.content !== undefined });
  if (error.status !== undefined) span.setAttribute(sc.ATTR_HTTP_RESPONSE_STATUS_CODE, error.status);
  if (error.providerType !== undefined) span.setAttribute(sc.ATTR_LLM_COST_ERROR_PROVIDER_TYPE, error.providerType);
  if (error.code !== undefined) span.setAttribute(sc.ATTR_LLM_COST_ERROR_CODE, error.code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  const event: Attributes = { [sc.ATTR_EXCEPTION_TYPE]: error.type, [sc.ATTR_EXCEPTION_MESSAGE]: error.message };
  if (error.stacktrace !== undefined) event[sc.ATTR_EXCEPTION_STACKTRACE] = error.stacktrace;
  span.addEvent(sc.EVENT_EXCEPTION, event, done.endedAt);
}

// --- Responses read more than once (resumed streams): charge the metrics only once. ---

function chargeOf(record: CostRecord): Charge {
  const priced = record.cost.source === 'unpriced' ? undefined : record.cost;
  return {
    inputTokens: record.usage.input.value,
    outputTokens: record.usage.output.value,
    inputUsd: priced?.inputUsd ?? 0,
    outputUsd: priced?.outputUsd ?? 0,
  };
}

/** Asks the call's ledger what earlier reads of this response already charged. */
function withAlreadyCharged(done: FinishedRequest, record: CostRecord): CostRecord {
  const ledger = done.call.chargeLedger;
  if (!ledger || record.responseId === undefined) return record;
  try {
    const previous = ledger.settle(record.responseId, chargeOf(record));
    return previous ? { ...record, alreadyCharged: previous } : record;
  } catch (error) {
    logInternalError('the charge ledger', error);
    return record;
  }
}

/** What this record adds to the metrics: everything, less what was already charged. */
function unchargedPart(record: CostRecord): Charge {
  const total = chargeOf(record);
  const before = record.alreadyCharged;
  if (!before) return total;
  return {
    inputTokens: Math.max(0, total.inputTokens - before.inputTokens),
    outputTokens: Math.max(0, total.outputTokens - before.outputTokens),
    inputUsd: Math.max(0, total.inputUsd - before.inputUsd),
    outputUsd: Math.max(0, total.outputUsd - before.outputUsd),
  };
}
