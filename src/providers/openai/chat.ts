/**
 * OpenAI Chat Completions: what a request asks for, and what each chunk says. Usage for
 * streams is asked for and its traces hidden in `stream-usage.ts`.
 */
import type { Attributes } from '@opentelemetry/api';
import * as sc from '../../semconv.js';
import type {
  CalibrationSpec,
  PlanCall,
  ProviderCountRequest,
  ProviderCounts,
  ReasoningExpectation,
  ResponseObserver,
  ResponseReader,
  UsageEstimator,
} from '../../core/adapter.js';
import type { InputBound, ReportedUsage } from '../../core/model.js';
import type { EncodingName, TokenCounter } from '../../core/tokenizer.js';
import { providerStreamError } from '../../core/error-summary.js';
import { numericParameters, stopSequences } from '../../core/request-attributes.js';
import { asArray, asDict, asNumber, asString, isDict, type Dict } from '../../core/values.js';
import { openaiCalibration } from './calibration-spec.js';
import { chatContent } from './chat-content.js';
import { openaiClientFacts } from './client-facts.js';
import { openaiConstants, type OpenAIConstants } from './constants.js';
import { countChatInput } from './count-chat-input.js';
import { isImageOfUnknownSize } from './count-image.js';
import { countChatWithProvider } from './count-with-provider.js';
import { openaiEncoding } from './encoding.js';
import { chatOutputOverhead, predatesParallelCalls, requestShape, type AnswerShape, type RequestShape } from './output-overhead.js';
import { serviceTierAttribute } from './service-tier.js';
import { reasoningExpectation } from './reasoning.js';
import { isVisibleChunk, requestStreamUsage, withoutInjectedUsage } from './stream-usage.js';
import { chatRewrite } from './rewrite.js';

const REQUEST_PARAMETERS = {
  temperature: sc.ATTR_GEN_AI_REQUEST_TEMPERATURE,
  top_p: sc.ATTR_GEN_AI_REQUEST_TOP_P,
  frequency_penalty: sc.ATTR_GEN_AI_REQUEST_FREQUENCY_PENALTY,
  presence_penalty: sc.ATTR_GEN_AI_REQUEST_PRESENCE_PENALTY,
  seed: sc.ATTR_GEN_AI_REQUEST_SEED,
  n: sc.ATTR_GEN_AI_REQUEST_CHOICE_COUNT,
};

/**
 * Runs while the caller waits for `create()`: only what must be known before the request
 * is sent (the body to send, the reader, the provider and model for the span's start).
 * Parameters, the estimator's keys and the content reader are worked out later, when
 * something asks for them.
 */
export const planChatCompletion: PlanCall = (body, resource, settings) => {
  if (!isDict(body)) return undefined;
  const model = asString(body.model);
  const client = openaiClientFacts(resource);
  const usageRequest = requestStreamUsage(body, settings, client.acceptsStreamOptions);
  const reader = new ChatReader(usageRequest.injected, forcedChatFunction(body));
  const provider = client.provider;
  return {
    description: {
      provider,
      operation: 'chat',
      model,
      stream: body.stream === true,
      serviceTier: asString(body.service_tier),
      attributes: client.serverAttributes,
      parameters: () => chatParameters(body),
    },
    body: usageRequest.body,
    injection: usageRequest.injection,
    rewrite: chatRewrite,
    content: () => chatContent(body),
    reader,
    estimator: new ChatEstimator(body, resource, model, provider, reader, openaiConstants(settings.estimatorConstants)),
  };
};

function chatParameters(body: Dict): Attributes {
  const maxTokens = asNumber(body.max_completion_tokens) ?? asNumber(body.max_tokens);
  return {
    ...numericParameters(body, REQUEST_PARAMETERS),
    ...stopSequences(body.stop),
    ...serviceTierAttribute(body),
    ...(maxTokens !== undefined ? { [sc.ATTR_GEN_AI_REQUEST_MAX_TOKENS]: maxTokens } : {}),
  };
}

/** Counts a chat request's input and frames its output; one object per request, its keys worked out on first use. */
class ChatEstimator implements UsageEstimator {
  readonly outputFactor = 1;
  private spec: CalibrationSpec | undefined;

  constructor(
    private readonly body: Dict,
    private readonly resource: unknown,
    private readonly model: string | undefined,
    private readonly provider: string,
    private readonly reader: ChatReader,
    private readonly k: OpenAIConstants,
  ) {}

  get encoding(): EncodingName {
    return openaiEncoding(this.model);
  }

  estimateInput(counter: TokenCounter): number {
    return countChatInput(this.body, counter, this.k);
  }

  inputBound(): InputBound | undefined {
    return chatInputBound(this.body);
  }

  outputOverhead(): number {
    const answer = this.reader.answerShape();
    // The model that answered frames the calls: the response names it (an alias resolved).
    const legacyCallFormat = predatesParallelCalls(this.reader.responseModel ?? this.model);
    return chatOutputOverhead(this.model, this.shape(), { ...answer, legacyCallFormat }, this.k);
  }

  /** Chat shows nothing of the reasoning: only the model and the effort tell. */
  hiddenReasoning(): ReasoningExpectation {
    return reasoningExpectation(this.model, this.body, this.k['openai.reasoning.typical']);
  }

  get calibration(): CalibrationSpec {
    this.spec ??= openaiCalibration(this.provider, 'chat', this.model, this.body, this.shape());
    return this.spec;
  }

  countWithProvider(request: ProviderCountRequest, signal: AbortSignal): Promise<ProviderCounts> {
    return countChatWithProvider(this.resource, this.body, this.k, request, signal);
  }

  private shape(): RequestShape {
    return requestShape(this.body.tools ?? this.body.functions, this.body.response_format);
  }
}

class ChatReader implements ResponseReader {
  /**
   * Tool calls received (their ids), and those of the function the request forced; choices
   * (by index) that carried text, a refusal, a legacy `function_call`. Each set is made when
   * its first member arrives: most streams carry only text, and an in-flight stream keeps its
   * reader.
   */
  private toolCallIds: Set<string> | undefined;
  private forcedCallIds: Set<string> | undefined;
  private textChoices: Set<number> | undefined;
  private refusalChoices: Set<number> | undefined;
  private functionCallChoices: Set<number> | undefined;
  /** The model the response names (the first chunk's, or the body's). */
  responseModel: string | undefined;

  constructor(
    private readonly usageInjected: boolean,
    /** The function `tool_choice` (or legacy `function_call`) forces: the API writes its name itself. */
    private readonly forcedFunction: string | undefined,
  ) {}

  answerShape(): AnswerShape {
    const forced = this.forcedCallIds?.size ?? 0;
    return {
      toolCalls: (this.toolCallIds?.size ?? 0) - forced,
      forcedCalls: forced,
      legacyFunctionCalls: this.functionCallChoices?.size ?? 0,
      textMessages: this.textChoices?.size ?? 0,
      refusals: this.refusalChoices?.size ?? 0,
    };
  }

  readChunk(chunk: unknown, observer: ResponseObserver): boolean {
    if (!isDict(chunk)) return true;
    // The SDK throws this event instead of yielding it; a body read as it passes sees it here.
    if (chunk.error != null) observer.reportFailure(providerStreamError(chunk.error));
    if (observer.responseId === undefined) {
      observer.identify(chunk.id, chunk.model);
      this.responseModel ??= asString(chunk.model);
    }
    observer.reportServiceTier(chunk.service_tier);
    const usage = asDict(chunk.usage);
    if (usage) observer.reportUsage(chatUsage(usage));
    const choices = asArray(chunk.choices);
    for (const choice of choices) {
      if (!isDict(choice)) continue;
      const delta = asDict(choice.delta);
      if (delta) this.readMessage(delta, choice.index, observer);
      if (choice.finish_reason) {
        observer.addFinishReason(choice.finish_reason);
        observer.markTerminal();
      }
    }
    return isVisibleChunk(this.usageInjected, usage !== undefined, choices.length);
  }

  presentChunk(chunk: unknown): unknown {
    return withoutInjectedUsage(chunk, this.usageInjected);
  }

  readResponse(body: unknown, observer: ResponseObserver): void {
    if (!isDict(body)) return;
    observer.identify(body.id, body.model);
    this.responseModel ??= asString(body.model);
    observer.reportServiceTier(body.service_tier);
    const usage = asDict(body.usage);
    if (usage) observer.reportUsage(chatUsage(usage));
    for (const choice of asArray(body.choices)) {
      if (!isDict(choice)) continue;
      observer.addFinishReason(choice.finish_reason);
      const message = asDict(choice.message);
      if (message) this.readMessage(message, choice.index, observer);
    }
    observer.markTerminal();
  }

  /** The text a message or delta carries (content, refusal, calls' names and arguments), and its shape. */
  private readMessage(message: Dict, index: unknown, observer: ResponseObserver): void {
    const choice = asNumber(index) ?? 0;
    if (typeof message.content === 'string') {
      observer.addOutput(message.content);
      if (message.content !== '') (this.textChoices ??= new Set()).add(choice);
    }
    if (typeof message.refusal === 'string') {
      observer.addOutput(message.refusal);
      if (message.refusal !== '') (this.refusalChoices ??= new Set()).add(choice);
    }
    // The older `functions` API answers with one `function_call` instead of `tool_calls`.
    const functionCall = asDict(message.function_call);
    if (functionCall) {
      if (functionCall.name !== this.forcedFunction) {
        observer.addOutput(functionCall.name);
        if (functionCall.name !== undefined) (this.functionCallChoices ??= new Set()).add(choice);
      }
      observer.addOutput(functionCall.arguments);
    }
    const toolCalls = message.tool_calls;
    if (!Array.isArray(toolCalls)) return;
    for (const call of toolCalls) {
      const fn = asDict(asDict(call)?.function);
      // A streamed call carries its id and name in its first delta only.
      const id = asString(asDict(call)?.id);
      if (id) {
        (this.toolCallIds ??= new Set()).add(id);
        if (fn?.name !== undefined && fn.name === this.forcedFunction) (this.forcedCallIds ??= new Set()).add(id);
      }
      if (!fn) continue;
      if (id === undefined || !this.forcedCallIds?.has(id)) observer.addOutput(fn.name);
      observer.addOutput(fn.arguments);
    }
  }
}

/**
 * `lower` when OpenAI bills input the request does not show: search models fetch pages on
 * OpenAI's side; an image by web address has a size we cannot read (counted as one tile).
 */
function chatInputBound(body: Dict): 'lower' | undefined {
  if (body.web_search_options !== undefined && body.web_search_options !== null) return 'lower';
  for (const message of asArray(body.messages)) {
    for (const part of asArray(asDict(message)?.content)) {
      const p = asDict(part);
      if (p?.type === 'image_url' && isImageOfUnknownSize(asString(asDict(p.image_url)?.url))) return 'lower';
    }
  }
  return undefined;
}

/** The function a request forces: chat `tool_choice: {type: 'function', function: {name}}` or legacy `function_call: {name}`. */
function forcedChatFunction(body: Dict): string | undefined {
  return asString(asDict(asDict(body.tool_choice)?.function)?.name) ?? asString(asDict(body.function_call)?.name);
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
