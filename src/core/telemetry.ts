/**
 * Writes a finished request to its span, the metrics and the user's `onCost` callback.
 * This is the only module that knows attribute and metric names (from `semconv.ts`).
 */
import { SpanStatusCode, type Attributes, type Counter, type Histogram, type Meter } from '@opentelemetry/api';
import * as sc from '../semconv.js';
import type { Charge, CostRecord, PricedCost, ResolvedUsage, UsageValue } from './model.js';
import { priceUsage } from './price.js';
import type { FinishedRequest } from './record.js';
import { logInternalError } from './safely.js';
import { resolveUsage } from './usage.js';

interface Instruments {
  tokenUsage: Histogram;
  duration: Histogram;
  timeToFirstChunk: Histogram;
  spend: Counter;
}

export type CostCallback = (record: CostRecord) => void;

export class CostTelemetry {
  private instruments: Instruments | undefined;
  private readonly writing = new Set<Promise<void>>();

  constructor(private readonly costCallback: () => CostCallback | undefined) {}

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
    try {
      const usage = await resolveUsage(done);
      const { description } = done.call;
      const cost = priceUsage(description.provider, [done.responseModel, description.model], usage);
      record = toCostRecord(done, usage, cost);
      done.span.setAttributes(spanAttributes(record));
    } catch (error) {
      logInternalError('writing span attributes', error);
    } finally {
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
    if (done.outcome === 'error') {
      span.setAttribute(sc.ATTR_ERROR_TYPE, errorType(done.error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(done.error) });
      if (done.error instanceof Error) span.recordException(done.error, done.endedAt);
    }
  } finally {
    span.end(done.endedAt);
  }
}

function toCostRecord(done: FinishedRequest, usage: ResolvedUsage, cost: PricedCost): CostRecord {
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
    durationMs: done.endedAt - done.startedAt,
    timeToFirstChunkMs: done.firstChunkAt === undefined ? undefined : done.firstChunkAt - done.startedAt,
    traceId: spanContext.traceId,
    spanId: spanContext.spanId,
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
  if (record.cost.source !== 'unpriced') {
    attributes[sc.ATTR_LLM_COST_USD] = record.cost.totalUsd;
    attributes[sc.ATTR_LLM_COST_INPUT_USD] = record.cost.inputUsd;
    attributes[sc.ATTR_LLM_COST_OUTPUT_USD] = record.cost.outputUsd;
    attributes[sc.ATTR_LLM_COST_PRICE_MODEL] = record.cost.priceModel;
  }
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

function errorType(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const ctor = (error as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof ctor === 'string' && ctor !== 'Object' && ctor !== 'Error') return ctor;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name.length > 0) return name;
  }
  return '_OTHER';
}

function errorMessage(error: unknown): string | undefined {
  return error instanceof Error ? error.message : undefined;
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
