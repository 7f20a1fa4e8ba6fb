/** Puts costed requests on the token, duration, spend and budget metrics. */
import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import * as sc from '../semconv.js';
import { unchargedPart } from '../core/costing.js';
import type { EndedRequest } from '../core/lifecycle.js';
import type { CostRecord, UsageValue } from '../core/model.js';
import type { CostExporter } from '../core/pipeline.js';

interface Instruments {
  readonly tokenUsage: Histogram;
  readonly duration: Histogram;
  readonly timeToFirstChunk: Histogram;
  readonly spend: Counter;
  readonly unpricedTokens: Counter;
  readonly budgetExceeded: Counter;
}

export class MetricsExporter implements CostExporter {
  private instruments: Instruments | undefined;

  /** Creates the instruments on `meter` (the instrumentation's meter changes with its meter provider). */
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
        description:
          'USD cost of GenAI requests: tokens by token type (llm_cost.cost.kind=tokens) and server-side tool fees (kind=tool), by whether it rests on reported or estimated counts',
        unit: 'USD',
      }),
      unpricedTokens: meter.createCounter(sc.METRIC_LLM_COST_UNPRICED_TOKENS, {
        description: 'Tokens of requests that no price covers (cost unpriced): traffic missing from llm_cost.spend',
        unit: '{token}',
      }),
      budgetExceeded: meter.createCounter(sc.METRIC_LLM_COST_BUDGET_EXCEEDED, {
        description: 'Requests a budget refused before sending (preflight) or stopped mid-stream (midstream)',
        unit: '{request}',
      }),
    };
  }

  export(_ended: EndedRequest, record: CostRecord | undefined): void {
    const instruments = this.instruments;
    if (!instruments || !record) return;
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
    const { cost } = record;
    if (cost.source === 'unpriced') {
      if (charge.inputTokens > 0) instruments.unpricedTokens.add(charge.inputTokens, inputAttributes);
      if (charge.outputTokens > 0) instruments.unpricedTokens.add(charge.outputTokens, outputAttributes);
      return;
    }
    const tokens = { [sc.ATTR_LLM_COST_COST_KIND]: 'tokens' };
    if (charge.inputUsd > 0) instruments.spend.add(charge.inputUsd, { ...inputAttributes, ...tokens });
    if (charge.outputUsd > 0) instruments.spend.add(charge.outputUsd, { ...outputAttributes, ...tokens });
    // Tool fees: each tool's share of what is not yet charged (all of it, but for a resumed response).
    const share = cost.toolUsd > 0 ? (charge.toolUsd ?? 0) / cost.toolUsd : 0;
    for (const fee of cost.tools) {
      const usd = (fee.usd ?? 0) * share;
      if (usd <= 0) continue;
      instruments.spend.add(usd, {
        ...common,
        [sc.ATTR_LLM_COST_COST_KIND]: 'tool',
        [sc.ATTR_LLM_COST_TOOL_NAME]: fee.tool,
        [sc.ATTR_LLM_COST_SOURCE_METRIC]: record.usage.toolCalls?.[fee.tool]?.source ?? 'reported',
      });
    }
  }
}
