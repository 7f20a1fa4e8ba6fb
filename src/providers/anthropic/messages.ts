/**
 * Anthropic Messages: what a request asks for, and what each stream event says.
 *
 * `message_start` reports input and cache tokens; its `output_tokens` is a placeholder,
 * never a count. `message_delta` carries the cumulative, final output count (and, in
 * newer API versions, non-null input and cache fields that replace the earlier ones).
 * Cache reads and writes are separate from `input_tokens` in the API; the conventions'
 * input total includes them.
 */
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
import type { InputBound, ServerTool } from '../../core/model.js';
import type { TokenCounter } from '../../core/tokenizer.js';
import { providerStreamError } from '../../core/error-summary.js';
import { numericParameters, serverAttributes, stopSequences } from '../../core/request-attributes.js';
import { TopLevelKeyCounter } from '../../core/json-keys.js';
import { asArray, asDict, asNumber, asString, isDict, type Dict } from '../../core/values.js';
import { modelFamily } from '../../core/calibration.js';
import { anthropicConstants, claudeFactor, type AnthropicConstants } from './constants.js';
import { claudeOutputOverhead, countMessagesInput, messagesInputBound, toolChoiceType } from './count-input.js';
import { countMessagesWithProvider } from './count-with-provider.js';
import { MergedLineBreaks } from './line-breaks.js';
import { messagesContent } from './messages-content.js';
import { messagesRewrite } from './rewrite.js';
import { thinkingExpectation, type ThinkingEvidence } from './thinking.js';

const REQUEST_PARAMETERS = {
  max_tokens: sc.ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  temperature: sc.ATTR_GEN_AI_REQUEST_TEMPERATURE,
  top_p: sc.ATTR_GEN_AI_REQUEST_TOP_P,
  top_k: sc.ATTR_GEN_AI_REQUEST_TOP_K,
};

/**
 * Learning bands: Claude's factor may move to 0.85 – 1.2 times its generation's (models
 * within a generation differ by about that much); a learned input offset within these
 * many tokens of the local count.
 */
const FACTOR_BAND = [0.85, 1.2] as const;
const INPUT_OFFSET_BOUNDS = [-256, 1024] as const;
/**
 * Only small prompts teach the input offset: the local count is a fit, whose error on a
 * 4,000-token prompt (~3%, 120 tokens on the dev recordings) would otherwise be learned as
 * an offset and added to every short prompt.
 */
const INPUT_OFFSET_MAX_TOKENS = 1024;

/**
 * Runs while the caller waits for `create()`: only what must be known before the request
 * is sent. Parameters, the estimator's factor and keys and the content reader are worked
 * out later, when something asks for them.
 */
export const planMessage: PlanCall = (body, resource, settings) => {
  if (!isDict(body)) return undefined;
  const model = asString(body.model);
  const reader = new MessageReader(forcedToolName(body));
  return {
    description: {
      provider: 'anthropic',
      operation: 'chat',
      model,
      stream: body.stream === true,
      serviceTier: asString(body.service_tier),
      attributes: serverAttributes(resource),
      parameters: () => ({ ...numericParameters(body, REQUEST_PARAMETERS), ...stopSequences(body.stop_sequences) }),
    },
    body,
    rewrite: messagesRewrite,
    content: () => messagesContent(body),
    reader,
    estimator: new MessagesEstimator(body, resource, model, reader, anthropicConstants(settings.estimatorConstants)),
  };
};

/** Counts a Messages request's input and frames its output; one object per request, its factor and keys worked out on first use. */
class MessagesEstimator implements UsageEstimator {
  /** Claude's tokenizer is not public: count with o200k and correct by a measured factor. */
  readonly encoding = 'o200k_base';
  private factor: number | undefined;
  private spec: CalibrationSpec | undefined;

  constructor(
    private readonly body: Dict,
    private readonly resource: unknown,
    private readonly model: string | undefined,
    private readonly reader: MessageReader,
    private readonly k: AnthropicConstants,
  ) {}

  get outputFactor(): number {
    this.factor ??= claudeFactor(this.model, this.k);
    return this.factor;
  }

  estimateInput(counter: TokenCounter): number {
    return countMessagesInput(this.body, counter, this.k);
  }

  inputBound(): InputBound | undefined {
    return messagesInputBound(this.body);
  }

  outputOverhead(): number {
    const choice = toolChoiceType(this.body);
    return claudeOutputOverhead(
      {
        toolUses: this.reader.toolUses,
        toolParameters: this.reader.toolParameters(),
        callsOpenedByApi: choice === 'any' || choice === 'tool',
        mergedLineBreaks: this.reader.lineBreaks.count,
      },
      this.k,
    );
  }

  /** The line breaks are a correction of the o200k count, not framing: a provider's count of the text has them. */
  outputTextCorrection(): number {
    return this.reader.lineBreaks.count;
  }

  /** Streamed thinking is counted as received text; what a summary left out is estimated (thinking.ts). */
  hiddenReasoning(): ReasoningExpectation {
    return thinkingExpectation(this.body, this.reader.thinking, this.k);
  }

  get calibration(): CalibrationSpec {
    if (this.spec) return this.spec;
    const family = modelFamily(this.model);
    const tools = asArray(this.body.tools).length > 0 ? 'tools' : 'text';
    const factor = this.outputFactor;
    this.spec = {
      outputKey: `anthropic/${family}`,
      hiddenKey: `anthropic/${family}#thinking`,
      outputFactorBounds: [factor * FACTOR_BAND[0], factor * FACTOR_BAND[1]],
      inputKey: `anthropic/messages/${family}/${tools}`,
      inputOffsetBounds: INPUT_OFFSET_BOUNDS,
      inputOffsetMaxTokens: INPUT_OFFSET_MAX_TOKENS,
    };
    return this.spec;
  }

  countWithProvider(request: ProviderCountRequest, signal: AbortSignal): Promise<ProviderCounts> {
    return countMessagesWithProvider(this.resource, this.body, request, signal);
  }
}

/** The tool `tool_choice: { type: 'tool', name }` forces: the API starts its call (and writes its name) itself. */
function forcedToolName(body: Dict): string | undefined {
  const choice = asDict(body.tool_choice);
  return toolChoiceType(body) === 'tool' ? asString(choice?.name) : undefined;
}

class MessageReader implements ResponseReader {
  /** Tool-use blocks received (other than calls of the forced tool) and all calls' parameters, for the framing they cost. */
  toolUses = 0;
  private parametersSent = 0;
  /** Line breaks of the received text that o200k merges and Claude does not (line-breaks.ts). */
  readonly lineBreaks = new MergedLineBreaks();
  /** The streamed tool call being received: its input arrives as JSON pieces. */
  private streamedInput: TopLevelKeyCounter | undefined;
  private input: number | undefined;
  private cacheRead = 0;
  private cacheCreation = 0;
  /** Server tool-use blocks received, by block id, per tool: a stream cut short has no usage to say. */
  private readonly serverToolUses = new Map<ServerTool, Set<string>>();
  /** What arrived of the thinking, for what a summary left out (thinking.ts). */
  readonly thinking: { -readonly [K in keyof ThinkingEvidence]: ThinkingEvidence[K] } = {
    thinkingBlocks: 0,
    thinkingChars: 0,
    redactedBlocks: 0,
    answeredFirst: false,
  };

  constructor(private readonly forcedTool: string | undefined) {}

  readChunk(event: unknown, observer: ResponseObserver): boolean {
    if (!isDict(event)) return true;
    switch (event.type) {
      case 'content_block_delta': {
        const delta = asDict(event.delta);
        readDelta(delta, observer, this.lineBreaks);
        if (delta?.type === 'input_json_delta' && typeof delta.partial_json === 'string') this.streamedInput?.feed(delta.partial_json);
        if (delta?.type === 'thinking_delta' && typeof delta.thinking === 'string') this.thinking.thinkingChars += delta.thinking.length;
        break;
      }
      case 'content_block_start':
        this.readBlock(asDict(event.content_block), observer);
        break;
      case 'message_start': {
        const message = asDict(event.message);
        observer.identify(message?.id, message?.model);
        const usage = asDict(message?.usage);
        if (usage) this.readInput(usage, observer);
        break;
      }
      case 'message_delta': {
        const stopReason = asDict(event.delta)?.stop_reason;
        observer.addFinishReason(stopReason);
        const usage = asDict(event.usage);
        if (usage) {
          this.readInput(usage, observer);
          observer.reportUsage({ output: asNumber(usage.output_tokens), reasoning: thinkingTokens(usage) });
        }
        // The model has finished: only `message_stop` can follow, and everything generated
        // (and billed) has been delivered, so the response is complete.
        if (typeof stopReason === 'string') observer.markTerminal();
        break;
      }
      case 'message_stop':
        observer.markTerminal();
        break;
      case 'error':
        // The SDK throws this event instead of yielding it; a body read as it passes sees it here.
        observer.reportFailure(providerStreamError(event.error));
        break;
      default:
      // ping, unknown future event types: nothing to count
    }
    return true;
  }

  private readBlock(block: Dict | undefined, observer: ResponseObserver): void {
    this.noteThinking(block);
    if (block?.type === 'server_tool_use') this.countServerToolUse(block, observer);
    const forced = block?.type === 'tool_use' && this.forcedTool !== undefined && block.name === this.forcedTool;
    if (block?.type === 'tool_use' || block?.type === 'server_tool_use') {
      // A call of the forced tool: the API writes its opening and name; the model only its parameters.
      if (!forced) this.toolUses++;
      if (this.streamedInput) this.parametersSent += this.streamedInput.keys;
      this.streamedInput = new TopLevelKeyCounter();
      const input = asDict(block.input);
      if (input) this.parametersSent += Object.keys(input).length;
    }
    readBlock(block, observer, forced, this.lineBreaks);
  }

  private noteThinking(block: Dict | undefined): void {
    const thinking = this.thinking;
    if (block?.type === 'thinking' || block?.type === 'redacted_thinking') {
      thinking.thinkingBlocks++;
      if (block.type === 'redacted_thinking') thinking.redactedBlocks++;
      if (typeof block.thinking === 'string') thinking.thinkingChars += block.thinking.length;
    } else if (block?.type === 'text' || block?.type === 'tool_use' || block?.type === 'server_tool_use') {
      if (thinking.thinkingBlocks === 0) thinking.answeredFirst = true;
    }
  }

  private countServerToolUse(block: Dict, observer: ResponseObserver): void {
    const tool = SERVER_TOOL_NAMES[asString(block.name) ?? ''];
    const id = asString(block.id);
    if (!tool || id === undefined) return;
    let ids = this.serverToolUses.get(tool);
    if (!ids) this.serverToolUses.set(tool, (ids = new Set()));
    ids.add(id);
    observer.noteToolCalls(tool, ids.size);
  }

  toolParameters(): number {
    return this.parametersSent + (this.streamedInput?.keys ?? 0);
  }

  readResponse(body: unknown, observer: ResponseObserver): void {
    if (!isDict(body)) return;
    observer.identify(body.id, body.model);
    observer.addFinishReason(body.stop_reason);
    const usage = asDict(body.usage);
    if (usage) {
      this.readInput(usage, observer);
      observer.reportUsage({ output: asNumber(usage.output_tokens), reasoning: thinkingTokens(usage) });
    }
    if (Array.isArray(body.content)) for (const block of body.content) this.readBlock(asDict(block), observer);
    observer.markTerminal();
  }

  /** Non-null fields replace earlier ones; the reported input is their sum. */
  private readInput(usage: Dict, observer: ResponseObserver): void {
    readBilling(usage, observer);
    const input = asNumber(usage.input_tokens);
    const cacheRead = asNumber(usage.cache_read_input_tokens);
    const cacheCreation = asNumber(usage.cache_creation_input_tokens);
    if (input === undefined && cacheRead === undefined && cacheCreation === undefined) return;
    if (input !== undefined) this.input = input;
    if (cacheRead !== undefined) this.cacheRead = cacheRead;
    if (cacheCreation !== undefined) this.cacheCreation = cacheCreation;
    if (this.input === undefined) return;
    observer.reportUsage({
      input: this.input + this.cacheRead + this.cacheCreation,
      cacheRead: this.cacheRead > 0 ? this.cacheRead : undefined,
      cacheCreation: this.cacheCreation > 0 ? this.cacheCreation : undefined,
    });
  }
}

/** Anthropic's server tools, by the `name` of their `server_tool_use` blocks. */
const SERVER_TOOL_NAMES: Readonly<Record<string, ServerTool>> = {
  web_search: 'web_search',
  web_fetch: 'web_fetch',
  code_execution: 'code_execution',
  bash_code_execution: 'code_execution',
  text_editor_code_execution: 'code_execution',
};

/**
 * The full thinking tokens (`output_tokens_details.thinking_tokens`, newer API versions):
 * inside `output_tokens`, and more than the summary a Claude 4 model streams.
 */
function thinkingTokens(usage: Dict): number | undefined {
  return asNumber(asDict(usage.output_tokens_details)?.thinking_tokens);
}

/** The usage fields that price the request beyond token totals: tier served, 1-hour cache writes, server tool calls. */
function readBilling(usage: Dict, observer: ResponseObserver): void {
  const tier = asString(usage.service_tier);
  if (tier) observer.reportServiceTier(tier);
  const cacheCreation = asDict(usage.cache_creation);
  if (cacheCreation) {
    const oneHour = asNumber(cacheCreation.ephemeral_1h_input_tokens);
    // Written only when non-zero, like the other cache details.
    if (oneHour !== undefined && oneHour > 0) observer.reportUsage({ cacheCreation1h: oneHour });
  }
  const serverTools = asDict(usage.server_tool_use);
  if (serverTools) {
    const searches = asNumber(serverTools.web_search_requests);
    if (searches !== undefined) observer.noteToolCalls('web_search', searches);
    const fetches = asNumber(serverTools.web_fetch_requests);
    if (fetches !== undefined) observer.noteToolCalls('web_fetch', fetches);
  }
}

function readDelta(delta: Dict | undefined, observer: ResponseObserver, lineBreaks: MergedLineBreaks): void {
  if (!delta) return;
  switch (delta.type) {
    case 'text_delta':
      observer.addOutput(delta.text);
      lineBreaks.feed(delta.text);
      break;
    case 'input_json_delta':
      observer.addOutput(delta.partial_json);
      lineBreaks.feed(delta.partial_json);
      break;
    case 'thinking_delta':
      observer.addOutput(delta.thinking);
      lineBreaks.feed(delta.thinking);
      break;
    default:
  }
}

/** A block's initial content (streams usually start blocks empty; responses carry it all). */
function readBlock(block: Dict | undefined, observer: ResponseObserver, forced: boolean, lineBreaks: MergedLineBreaks): void {
  if (!block) return;
  switch (block.type) {
    case 'text':
      observer.addOutput(block.text);
      lineBreaks.feed(block.text);
      break;
    case 'thinking':
      observer.addOutput(block.thinking);
      lineBreaks.feed(block.thinking);
      break;
    case 'tool_use':
    case 'server_tool_use':
      // A server tool's call is generated like any other: its name and input (a search query).
      if (!forced) observer.addOutput(block.name);
      if (isDict(block.input) && Object.keys(block.input).length > 0) observer.addOutput(JSON.stringify(block.input));
      break;
    default:
  }
}
