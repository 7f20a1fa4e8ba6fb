/**
 * OpenAI Responses API: `responses.create` (streaming and not, and so the `stream()` and
 * `parse()` helpers), `responses.retrieve(id, { stream: true })` (resumed background
 * streams, and `stream({ response_id })`), and `responses.cancel(id)`.
 *
 * Usage arrives only in the terminal event (`response.completed`, `.incomplete`,
 * `.failed`). A stream that ends before it — broken, aborted, dropped, or cancelled with
 * `responses.cancel()` — is estimated: input from the request, output from the deltas
 * received (output text, refusals, function-call arguments, reasoning summaries) plus the
 * framing the provider counts around them (output-overhead.ts). Hidden reasoning tokens
 * are never streamed: usage.ts estimates them from what the model family reported on
 * earlier requests (calibration.ts). Every such figure is marked estimated.
 */
import * as sc from '../../semconv.js';
import type { CancellableRequest, PlanCall, PlannedCall, ProviderSettings, ResponseObserver, ResponseReader } from '../../core/adapter.js';
import type { ServerTool } from '../../core/model.js';
import { numericParameters, serverAttributes } from '../../core/request-attributes.js';
import { responsesContent } from './responses-content.js';
import { asArray, asDict, asNumber, asString, isDict, type Dict } from '../../core/values.js';
import { openaiCalibration } from './calibration-spec.js';
import { openaiConstants } from './constants.js';
import { countResponsesInput, responsesInputBound, type StoredContext } from './count-responses-input.js';
import { countResponsesWithProvider } from './count-with-provider.js';
import { openaiEncoding } from './encoding.js';
import { reasoningExpectation, type ReasoningEvidence } from './reasoning.js';
import { requestShape, responsesOutputOverhead, type AnswerShape } from './output-overhead.js';
import type { LiveResponses } from './live-responses.js';
import { openaiProviderName } from './provider-name.js';
import { responsesUsage } from './responses-usage.js';
import type { ResumeLedger } from './resume-ledger.js';
import { responsesRewrite } from './rewrite.js';
import { requestedServiceTier, serviceTierAttribute } from './service-tier.js';

const REQUEST_PARAMETERS = {
  temperature: sc.ATTR_GEN_AI_REQUEST_TEMPERATURE,
  top_p: sc.ATTR_GEN_AI_REQUEST_TOP_P,
  max_output_tokens: sc.ATTR_GEN_AI_REQUEST_MAX_TOKENS,
};

/** Deltas that carry generated output the provider bills. */
const OUTPUT_DELTAS = new Set([
  'response.output_text.delta',
  'response.refusal.delta',
  'response.function_call_arguments.delta',
  'response.custom_tool_call_input.delta',
  'response.reasoning_summary_text.delta',
  'response.reasoning_text.delta',
]);

const SNAPSHOT_EVENTS = new Set(['response.created', 'response.queued', 'response.in_progress']);
const TERMINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/** What the Responses hooks of one instrumentation remember across requests. */
export interface ResponsesState {
  /** What each response was charged, for resumed streams and continuations. */
  readonly ledger: ResumeLedger;
  /** Background streams being read, for `responses.cancel(id)`. */
  readonly live: LiveResponses;
}

export interface ResponsesPlans {
  readonly create: PlanCall;
  readonly retrieve: PlanCall;
  readonly cancel: PlanCall;
}

export function responsesPlans(state: ResponsesState): ResponsesPlans {
  return {
    create: (body, resource, settings) => planResponsesCreate(body, resource, settings, state),
    retrieve: (responseId, resource, _settings, args) => planResponsesRetrieve(responseId, resource, args, state),
    cancel: (responseId) => {
      // `cancel(id)` gets no span of its own (it costs nothing): it only ends the span of the
      // stream of that response being read, as `cancelled`, at this moment.
      if (typeof responseId === 'string') state.live.cancel(responseId);
      return undefined;
    },
  };
}

function planResponsesCreate(body: unknown, resource: unknown, settings: ProviderSettings, state: ResponsesState): PlannedCall | undefined {
  if (!isDict(body)) return undefined;
  const model = asString(body.model);
  const stream = body.stream === true;
  const reader = new ResponsesReader(state.live, stream, body.background === true, undefined, asString(asDict(body.tool_choice)?.name));
  const shape = requestShape(body.tools, asDict(body.text)?.format);
  const k = openaiConstants(settings.estimatorConstants);
  const provider = openaiProviderName(resource);
  const call: PlannedCall = {
    description: {
      provider,
      operation: 'chat',
      model,
      stream,
      ...requestedServiceTier(body),
      attributes: serverAttributes(resource),
      parameters: () => ({ ...numericParameters(body, REQUEST_PARAMETERS), ...serviceTierAttribute(body) }),
    },
    body,
    rewrite: responsesRewrite,
    content: () => responsesContent(body),
    reader,
    estimator: {
      encoding: openaiEncoding(model),
      estimateInput: (counter) => countResponsesInput(body, counter, k, storedContext(state.ledger, body.previous_response_id)),
      inputBound: () => responsesInputBound(body, storedContext(state.ledger, body.previous_response_id) !== undefined),
      outputFactor: 1,
      outputOverhead: () => responsesOutputOverhead(model, shape, reader.answerShape(), k),
      hiddenReasoning: () => reasoningExpectation(model, body, k['openai.reasoning.typical'], reader.reasoningEvidence()),
      calibration: openaiCalibration(provider, 'responses', model, body, shape),
      countWithProvider: (request, signal) => countResponsesWithProvider(resource, body, request, signal),
    },
  };
  // Every response goes in the ledger: a background one can be read again (resumed), and
  // any stored one can be continued, whose input then includes what it was charged.
  return { ...call, chargeLedger: state.ledger };
}

/** The context a continuation reads, if this instrumentation saw the response it continues. */
function storedContext(ledger: ResumeLedger, previousResponseId: unknown): StoredContext | undefined {
  return typeof previousResponseId === 'string' ? ledger.chargedFor(previousResponseId) : undefined;
}

/**
 * `retrieve(id, query, options)`: instrumented only when it streams (a resume). The
 * request is not in hand, so its input estimate is what this process already accounted
 * for the response (its `create`), or 0 when it never saw it.
 */
function planResponsesRetrieve(responseId: unknown, resource: unknown, args: readonly unknown[], state: ResponsesState): PlannedCall | undefined {
  if (typeof responseId !== 'string') return undefined;
  // openai 7 also accepts request options in the query position; only a real
  // `stream: true` query is a streaming retrieve.
  if (asDict(args[1])?.stream !== true) return undefined;
  return {
    description: {
      provider: openaiProviderName(resource),
      operation: 'chat',
      model: undefined,
      stream: true,
      attributes: serverAttributes(resource),
    },
    body: responseId,
    // Only background responses can be streamed again.
    reader: new ResponsesReader(state.live, true, true, responseId, undefined),
    estimator: {
      encoding: openaiEncoding(undefined),
      estimateInput: () => state.ledger.chargedFor(responseId)?.inputTokens ?? 0,
      outputFactor: 1,
    },
    chargeLedger: state.ledger,
  };
}

class ResponsesReader implements ResponseReader {
  private tracked = false;
  private request: CancellableRequest | undefined;
  /** Function calls and messages received (their item ids), for the framing tokens they cost. */
  private readonly functionCallIds = new Set<string>();
  private readonly forcedCallIds = new Set<string>();
  private readonly messageIds = new Set<string>();
  private refusals = 0;
  private truncated = false;
  /** Server-side tool calls seen, per tool, by item id (code interpreter: by container). */
  private readonly serverToolCalls = new Map<ServerTool, Set<string>>();
  /** Output items seen (by id, so a stream's `added` and `done` count once), and reasoning items among them. */
  private readonly outputItemIds = new Set<string>();
  private readonly reasoningItemIds = new Set<string>();

  constructor(
    private readonly live: LiveResponses,
    private readonly stream: boolean,
    /** Only background responses can be cancelled, and resumed. */
    private background: boolean,
    /** Known before the first event when resuming (`retrieve(id)`). */
    private readonly knownId: string | undefined,
    /** The function `tool_choice` forces: the API writes its name and framing itself. */
    private readonly forcedFunction: string | undefined,
  ) {}

  attach(request: CancellableRequest): void {
    this.request = request;
  }

  readChunk(chunk: unknown, observer: ResponseObserver): boolean {
    if (!isDict(chunk)) return true;
    const type = asString(chunk.type);
    if (type === undefined) return true;
    if (OUTPUT_DELTAS.has(type)) observer.addOutput(chunk.delta);
    else if (type === 'response.output_item.added' || type === 'response.output_item.done') {
      const item = asDict(chunk.item);
      this.noteServerTool(item, observer);
      const isNew = this.noteOutputItem(item, asNumber(chunk.output_index));
      if (type === 'response.output_item.added' && !this.noteItem(item) && isNew) readAddedItem(item, observer);
    } else if (type === 'response.content_part.added') {
      if (asDict(chunk.part)?.type === 'refusal') this.refusals++;
    } else if (SNAPSHOT_EVENTS.has(type)) this.readSnapshot(asDict(chunk.response), observer);
    else if (TERMINAL_EVENTS.has(type)) {
      const response = asDict(chunk.response);
      if (response) this.readFinal(response, observer);
      observer.markTerminal();
    } else if (type === 'error') observer.reportFailure(streamError(chunk));
    if (this.background && !this.tracked) this.trackBackground(observer);
    return true;
  }

  /**
   * A background stream can be cancelled: register it for `responses.cancel(id)`. It also
   * ends without a terminal event only when it was cancelled (here or by another process):
   * it trails off with `*.done` events, which is `cancelled`, not `truncated`.
   */
  private trackBackground(observer: ResponseObserver): void {
    observer.identify(this.knownId, undefined);
    const id = observer.responseId;
    if (!this.stream || id === undefined) return;
    this.tracked = true;
    observer.endsUnterminatedAs('cancelled');
    if (this.request) this.live.track(id, this.request);
  }

  readResponse(body: unknown, observer: ResponseObserver): void {
    if (!isDict(body)) return;
    this.readSnapshot(body, observer);
    asArray(body.output).forEach((value, index) => {
      const item = asDict(value);
      this.noteServerTool(item, observer);
      this.noteOutputItem(item, index);
      readOutputItem(item, observer, this.noteItem(item));
      if (item?.type === 'message') for (const part of asArray(item.content)) if (asDict(part)?.type === 'refusal') this.refusals++;
    });
    if (isFinalStatus(body.status)) this.readFinal(body, observer);
    observer.markTerminal();
  }

  reasoningEvidence(): ReasoningEvidence {
    return { outputItems: this.outputItemIds.size, reasoningItems: this.reasoningItemIds.size };
  }

  /** Counts an output item once (by id, else by position); returns whether it is new. */
  private noteOutputItem(item: Dict | undefined, index: number | undefined): boolean {
    if (!item) return false;
    const id = asString(item.id) ?? (index !== undefined ? `#${index}` : undefined);
    if (id === undefined || this.outputItemIds.has(id)) return false;
    this.outputItemIds.add(id);
    if (item.type === 'reasoning') this.reasoningItemIds.add(id);
    return true;
  }

  answerShape(): AnswerShape {
    return {
      toolCalls: this.functionCallIds.size - this.forcedCallIds.size,
      forcedCalls: this.forcedCallIds.size,
      textMessages: this.messageIds.size,
      refusals: this.refusals,
      truncated: this.truncated,
    };
  }

  /** Counts a function call or message item; true for a call of the forced function (its name is not generated). */
  private noteItem(item: Dict | undefined): boolean {
    const id = asString(item?.id) ?? asString(item?.call_id);
    if (id === undefined) return false;
    if (item?.type === 'function_call' || item?.type === 'custom_tool_call') {
      this.functionCallIds.add(id);
      if (item.name === undefined || item.name !== this.forcedFunction) return false;
      this.forcedCallIds.add(id);
      return true;
    }
    if (item?.type === 'message') this.messageIds.add(id);
    return false;
  }

  /**
   * Web search, file search and code interpreter run on OpenAI's side and are billed per
   * call (code interpreter: per container), on top of the tokens. Items are counted as they
   * start, so a stream cut short still counts what it started.
   */
  private noteServerTool(item: Dict | undefined, observer: ResponseObserver): void {
    const tool = item ? RESPONSES_SERVER_TOOLS[asString(item.type) ?? ''] : undefined;
    if (!tool || !item) return;
    const key = (tool === 'code_interpreter' ? asString(item.container_id) : undefined) ?? asString(item.id);
    if (key === undefined) return;
    let keys = this.serverToolCalls.get(tool);
    if (!keys) this.serverToolCalls.set(tool, (keys = new Set()));
    keys.add(key);
    observer.noteToolCalls(tool, keys.size);
  }

  private readFinal(response: Dict, observer: ResponseObserver): void {
    for (const item of asArray(response.output)) this.noteServerTool(asDict(item), observer);
    readFinal(response, observer);
    if (response.status === 'incomplete' && asDict(response.incomplete_details)?.reason === 'max_output_tokens') this.truncated = true;
  }

  private readSnapshot(response: Dict | undefined, observer: ResponseObserver): void {
    if (!response) return;
    if (response.background === true) this.background = true;
    observer.identify(response.id, response.model);
  }
}

/** Output item types of the server-side tools OpenAI bills per call. */
const RESPONSES_SERVER_TOOLS: Readonly<Record<string, ServerTool>> = {
  web_search_call: 'web_search',
  file_search_call: 'file_search',
  code_interpreter_call: 'code_interpreter',
};

function isFinalStatus(status: unknown): boolean {
  return status === 'completed' || status === 'incomplete' || status === 'failed' || status === 'cancelled';
}

/** A terminal event's response, or a finished response body: usage, finish reason, failure. */
function readFinal(response: Dict, observer: ResponseObserver): void {
  observer.identify(response.id, response.model, true);
  // Only the finished response says which tier served it (snapshots echo the request's).
  observer.reportServiceTier(response.service_tier, true);
  const usage = asDict(response.usage);
  if (usage) observer.reportUsage(responsesUsage(usage));
  switch (response.status) {
    case 'completed': {
      const last = asDict(asArray(response.output).at(-1));
      observer.addFinishReason(last?.type === 'function_call' ? 'tool_calls' : 'stop');
      break;
    }
    case 'incomplete':
      observer.addFinishReason(asString(asDict(response.incomplete_details)?.reason) ?? 'incomplete');
      break;
    case 'failed':
      observer.addFinishReason('error');
      observer.reportFailure(failedResponseError(asDict(response.error)));
      break;
    case 'cancelled':
      observer.addFinishReason('cancelled');
      break;
  }
}

function readAddedItem(item: Dict | undefined, observer: ResponseObserver): void {
  // The function's name is generated output too; its arguments follow as deltas.
  if (item?.type === 'function_call' || item?.type === 'custom_tool_call') observer.addOutput(item.name);
}

/** Output text of one item of a non-streamed body (used only when usage is missing). */
function readOutputItem(item: Dict | undefined, observer: ResponseObserver, forced: boolean): void {
  if (!item) return;
  if (item.type === 'message') {
    for (const part of asArray(item.content)) {
      const p = asDict(part);
      observer.addOutput(p?.text);
      observer.addOutput(p?.refusal);
    }
  } else if (item.type === 'function_call') {
    if (!forced) observer.addOutput(item.name);
    observer.addOutput(item.arguments);
  } else if (item.type === 'reasoning') {
    for (const part of asArray(item.summary)) observer.addOutput(asDict(part)?.text);
  }
}

/**
 * An `error` event. openai 4 and 7 throw it as `APIError`; 5 and 6 yield it as an item.
 * The name makes `error.type` the same whichever version the application uses.
 */
function streamError(event: Dict): Error {
  const error = new Error(asString(event.message) ?? 'error event in the response stream');
  error.name = 'APIError';
  return Object.assign(error, { code: asString(event.code) ?? null, sequenceNumber: asNumber(event.sequence_number) });
}

/** `response.failed`: no SDK version throws; `error.type` is the provider's error code. */
function failedResponseError(details: Dict | undefined): Error {
  const error = new Error(asString(details?.message) ?? 'the response failed');
  error.name = asString(details?.code) ?? 'response_failed';
  return error;
}
