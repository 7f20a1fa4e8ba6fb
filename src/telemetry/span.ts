/**
 * Writes a costed request onto its span and ends the span, exactly once, even when costing
 * failed (the outcome and error are still written).
 */
import { SpanStatusCode, type Attributes } from '@opentelemetry/api';
import * as sc from '../semconv.js';
import type { EndedRequest } from '../core/lifecycle.js';
import type { BudgetSettlement, CostRecord } from '../core/model.js';
import type { CostExporter } from '../core/pipeline.js';
import { errorClass, summarizeError } from '../core/error-summary.js';
import { logInternalError } from '../core/safely.js';
import { costAttributes } from '../pricing/attributes.js';

export const spanExporter: CostExporter = {
  export(ended: EndedRequest, record: CostRecord | undefined): void {
    const { span } = ended;
    try {
      if (record) span.setAttributes(spanAttributes(record));
      if (ended.content) span.setAttributes(ended.content.attributes());
    } catch (error) {
      logInternalError('writing span attributes', error);
    }
    try {
      span.setAttribute(sc.ATTR_LLM_COST_STREAM_OUTCOME, ended.outcome);
      if (ended.outcome === 'error') writeError(ended);
    } finally {
      span.end(ended.endedAt);
    }
  },
};

/**
 * Status, attributes and exception event of a failed request: a safe summary, never the
 * provider's raw text, which can echo the API key or the prompt (`core/error-summary.ts`).
 */
function writeError(ended: EndedRequest): void {
  const { span } = ended;
  span.setAttribute(sc.ATTR_ERROR_TYPE, errorClass(ended.error));
  const error = summarizeError(ended.error, { request: ended.call.body, verbatim: ended.content !== undefined });
  if (error.status !== undefined) span.setAttribute(sc.ATTR_HTTP_RESPONSE_STATUS_CODE, error.status);
  if (error.providerType !== undefined) span.setAttribute(sc.ATTR_LLM_COST_ERROR_PROVIDER_TYPE, error.providerType);
  if (error.code !== undefined) span.setAttribute(sc.ATTR_LLM_COST_ERROR_CODE, error.code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  const event: Attributes = { [sc.ATTR_EXCEPTION_TYPE]: error.type, [sc.ATTR_EXCEPTION_MESSAGE]: error.message };
  if (error.stacktrace !== undefined) event[sc.ATTR_EXCEPTION_STACKTRACE] = error.stacktrace;
  span.addEvent(sc.EVENT_EXCEPTION, event, ended.endedAt);
}

export function spanAttributes(record: CostRecord): Attributes {
  const attributes: Attributes = {
    [sc.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: record.usage.input.value,
    [sc.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: record.usage.output.value,
    [sc.ATTR_LLM_COST_INPUT_TOKENS_SOURCE]: record.usage.input.source,
    [sc.ATTR_LLM_COST_OUTPUT_TOKENS_SOURCE]: record.usage.output.source,
    ...costAttributes(record),
  };
  if (record.usage.cacheRead) attributes[sc.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = record.usage.cacheRead.value;
  if (record.usage.cacheCreation) {
    attributes[sc.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = record.usage.cacheCreation.value;
  }
  if (record.usage.reasoning) attributes[sc.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = record.usage.reasoning.value;
  if (record.usage.calibration !== undefined) attributes[sc.ATTR_LLM_COST_ESTIMATE_CALIBRATION] = record.usage.calibration;
  if (record.usage.estimateMethod !== undefined) attributes[sc.ATTR_LLM_COST_ESTIMATE_METHOD] = record.usage.estimateMethod;
  if (record.usage.inputBound !== undefined) attributes[sc.ATTR_LLM_COST_INPUT_TOKENS_BOUND] = record.usage.inputBound;
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
