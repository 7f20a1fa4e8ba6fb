/**
 * OpenAI Chat Completions: what a request asks for, and what each chunk says. Usage for
 * streams is asked for and its traces hidden in `stream-usage.ts`.
 */
import * as sc from '../../semconv.js';
import type { PlanCall, ResponseReader } from '../../core/adapter.js';
import type { ReportedUsage } from '../../core/model.js';
import type { RequestRecord } from '../../core/record.js';
import { numericParameters, serverAttributes, stopSequences } from '../../core/request-attributes.js';
import { asArray, asDict, asNumber, asString, isDict, type Dict } from '../../core/values.js';
import { chatContent } from './chat-content.js';
import { countChatInput } from './count-chat-input.js';
import { openaiEncoding } from './encoding.js';
import { chatOutputOverhead } from './output-overhead.js';
import { openaiProviderName } from './provider-name.js';
import { isVisibleChunk, requestStreamUsage } from './stream-usage.js';
import { chatRewrite } from './rewrite.js';

const REQUEST_PARAMETERS = {
  temperature: sc.ATTR_GEN_AI_REQUEST_TEMPERATURE,
  top_p: sc.ATTR_GEN_AI_REQUEST_TOP_P,
  frequency_penalty: sc.ATTR_GEN_AI_REQUEST_FREQUENCY_PENALTY,
  presence_penalty: sc.ATTR_GEN_AI_REQUEST_PRESENCE_PENALTY,
  seed: sc.ATTR_GEN_AI_REQUEST_SEED,
  n: sc.ATTR_GEN_AI_REQUEST_CHOICE_COUNT,
};

export const planChatCompletion: PlanCall = (body, resource, options) => {
  if (!isDict(body)) return undefined;
  const stream = body.stream === true;
  const model = asString(body.model);
  const usageRequest = requestStreamUsage(body, options, resource);
  const maxTokens = asNumber(body.max_completion_tokens) ?? asNumber(body.max_tokens);
  const reader = new ChatReader(usageRequest.injected);
  return {
    description: {
      provider: openaiProviderName(resource),
      operation: 'chat',
      model,
      stream,
      attributes: {
        ...serverAttributes(resource),
        ...numericParameters(body, REQUEST_PARAMETERS),
        ...stopSequences(body.stop),
        ...(maxTokens !== undefined ? { [sc.ATTR_GEN_AI_REQUEST_MAX_TOKENS]: maxTokens } : {}),
      },
    },
    body: usageRequest.body,
    rewrite: chatRewrite,
    content: chatContent(body),
    reader,
    estimator: {
      encoding: openaiEncoding(model),
      estimateInput: (counter) => countChatInput(body, counter),
      outputFactor: 1,
      outputOverhead: () => chatOutputOverhead(model, reader.toolCallIds.size),
    },
  };
};

class ChatReader implements ResponseReader {
  /** Tool calls received (their ids), for the framing tokens they cost. */
  readonly toolCallIds = new Set<string>();

  constructor(private readonly usageInjected: boolean) {}

  readChunk(chunk: unknown, record: RequestRecord): boolean {
    if (!isDict(chunk)) return true;
    if (record.responseId === undefined) record.responseId = asString(chunk.id);
    if (record.responseModel === undefined) record.responseModel = asString(chunk.model);
    const usage = asDict(chunk.usage);
    if (usage) record.reportUsage(chatUsage(usage));
    const choices = asArray(chunk.choices);
    for (const choice of choices) {
      if (!isDict(choice)) continue;
      const delta = asDict(choice.delta);
      if (delta) readMessage(delta, record, this.toolCallIds);
      if (choice.finish_reason) {
        record.addFinishReason(choice.finish_reason);
        record.sawTerminal = true;
      }
    }
    return isVisibleChunk(chunk, this.usageInjected, usage !== undefined, choices.length);
  }

  readResponse(body: unknown, record: RequestRecord): void {
    if (!isDict(body)) return;
    record.responseId = asString(body.id);
    record.responseModel = asString(body.model);
    const usage = asDict(body.usage);
    if (usage) record.reportUsage(chatUsage(usage));
    for (const choice of asArray(body.choices)) {
      if (!isDict(choice)) continue;
      record.addFinishReason(choice.finish_reason);
      const message = asDict(choice.message);
      if (message) readMessage(message, record, this.toolCallIds);
    }
    record.sawTerminal = true;
  }
}

/** The text a message or delta carries: content, refusal and tool-call arguments. */
function readMessage(message: Dict, record: RequestRecord, toolCallIds: Set<string>): void {
  if (typeof message.content === 'string') record.addOutput(message.content);
  if (typeof message.refusal === 'string') record.addOutput(message.refusal);
  // The older `functions` API answers with one `function_call` instead of `tool_calls`.
  const functionCall = asDict(message.function_call);
  if (functionCall) {
    record.addOutput(functionCall.name);
    record.addOutput(functionCall.arguments);
  }
  const toolCalls = message.tool_calls;
  if (Array.isArray(toolCalls)) {
    for (const call of toolCalls) {
      // A streamed call carries its id in its first delta only.
      const id = asString(asDict(call)?.id);
      if (id) toolCallIds.add(id);
      const fn = asDict(asDict(call)?.function);
      if (!fn) continue;
      record.addOutput(fn.name);
      record.addOutput(fn.arguments);
    }
  }
}

export function chatUsage(usage: Dict): ReportedUsage {
  const promptDetails = asDict(usage.prompt_tokens_details);
  const completionDetails = asDict(usage.completion_tokens_details);
  return {
    input: asNumber(usage.prompt_tokens),
    output: asNumber(usage.completion_tokens),
    cacheRead: positive(promptDetails?.cached_tokens),
    cacheCreation: positive(promptDetails?.cache_write_tokens),
    reasoning: positive(completionDetails?.reasoning_tokens),
  };
}

/** Cache and reasoning details are written only when non-zero, to keep spans readable. */
function positive(value: unknown): number | undefined {
  const n = asNumber(value);
  return n !== undefined && n > 0 ? n : undefined;
}
