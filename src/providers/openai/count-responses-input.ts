/**
 * Input tokens of a Responses API request, counted like Chat Completions messages (the
 * OpenAI Cookbook formula, which the recorded Responses traffic matches: "Say hello" is 9
 * tokens): 3 per input item plus its encoded role and text, `instructions` as one more
 * (developer) message, 3 for the reply priming, the tool definitions and the
 * `text.format` schema as the model sees them (count-tools.ts), images by the published
 * rules (count-image.ts).
 *
 * A request that continues a response this process saw (`previous_response_id`) reads that
 * response's whole context, which the request does not carry: its input and output, as
 * this process accounted them, plus the new items (the tools and instructions sent again
 * replace the earlier ones, so they are not added twice). A response this process did not
 * see, or a `conversation`, is context we cannot count: the estimate is then a lower bound
 * (`responsesInputBound`). So is a request with server-side tools (web search, file
 * search, code interpreter, MCP), which add what they fetch to the input, or with
 * compaction items, whose encrypted content we cannot read: what the client sent is
 * counted. The contents of files and audio cannot be counted at all (the estimate is
 * then NaN, recorded as unknown).
 */
import type { InputBound } from '../../core/model.js';
import type { TokenCounter } from '../../core/tokenizer.js';
import { asArray, asDict, asString, isDict, type Dict } from '../../core/values.js';
import type { OpenAIConstants } from './constants.js';
import { imageTokens, isImageOfUnknownSize } from './count-image.js';
import { countFunctions, countSchemaFormat, countToolChoice } from './count-tools.js';
import { isReasoningFormat } from './reasoning.js';

const TOKENS_PER_ITEM = 3;
const REPLY_PRIMING = 3;
/** Built-in tools that run on OpenAI's side and add what they find to the input. */
const SERVER_SIDE_TOOL = /^(web_search|file_search|code_interpreter|mcp)/;

/** What this process accounted for an earlier response: the context a continuation reads. */
export interface StoredContext {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export function countResponsesInput(body: Dict, counter: TokenCounter, k: OpenAIConstants, previous?: StoredContext): number {
  const model = asString(body.model);
  const reasoningFormat = isReasoningFormat(model);
  if (previous) return previous.inputTokens + previous.outputTokens + countItems(body.input, counter, model, reasoningFormat, k);
  // gpt-5 and o-series: a shorter priming, more per earlier assistant turn (fitted, constants.ts).
  let tokens = REPLY_PRIMING + (reasoningFormat ? k['openai.input.reasoning_format.priming'] : 0);
  const instructions = asString(body.instructions);
  if (instructions) tokens += TOKENS_PER_ITEM + counter.count('developer') + counter.count(instructions);
  tokens += countItems(body.input, counter, model, reasoningFormat, k);
  const textFormat = asDict(body.text)?.format;
  const tools = countTools(asArray(body.tools), counter, model, k);
  return tokens + tools + countToolChoice(body.tool_choice, 'responses', k) + countSchemaFormat(textFormat, counter, tools > 0, 'responses', k);
}

/**
 * Whether the provider adds or removes input this request does not show: `lower` when it
 * only adds (server-side tools, compaction items, a stored context this process did not
 * see), `upper` when it only removes (server-side compaction of a long context).
 */
export function responsesInputBound(body: Dict, previousSeen: boolean): InputBound | undefined {
  const adds =
    (typeof body.previous_response_id === 'string' && !previousSeen) ||
    (body.conversation !== undefined && body.conversation !== null) ||
    asArray(body.tools).some((tool) => SERVER_SIDE_TOOL.test(asString(asDict(tool)?.type) ?? '')) ||
    asArray(body.input).some((item) => {
      const type = asString(asDict(item)?.type);
      if (type === 'compaction' || type === 'item_reference') return true;
      // An image by web address or file id: a size we cannot read (counted as one tile).
      return asArray(asDict(item)?.content).some((part) => {
        const p = asDict(part);
        return p?.type === 'input_image' && isImageOfUnknownSize(asString(p.image_url));
      });
    });
  const removes = asArray(body.context_management).length > 0 || isDict(body.context_management);
  if (adds) return removes ? 'neither' : 'lower';
  return removes ? 'upper' : undefined;
}

function countItems(input: unknown, counter: TokenCounter, model: string | undefined, reasoningFormat: boolean, k: OpenAIConstants): number {
  if (typeof input === 'string') return TOKENS_PER_ITEM + counter.count('user') + counter.count(input);
  let tokens = 0;
  for (const item of asArray(input)) {
    tokens += countItem(item, counter, model, k);
    if (reasoningFormat && isDict(item) && item.role === 'assistant') tokens += k['openai.input.reasoning_format.assistant_turn'];
  }
  return tokens;
}

function countItem(value: unknown, counter: TokenCounter, model: string | undefined, k: OpenAIConstants): number {
  if (!isDict(value)) return 0;
  const type = asString(value.type) ?? (value.role !== undefined ? 'message' : undefined);
  switch (type) {
    case 'message':
      return TOKENS_PER_ITEM + counter.count(asString(value.role) ?? '') + countContent(value.content, counter, model);
    case 'function_call':
      return (
        TOKENS_PER_ITEM + k['openai.input.responses.function_call'] + counter.count(asString(value.name) ?? '') + counter.count(asString(value.arguments) ?? '')
      );
    case 'function_call_output':
      return TOKENS_PER_ITEM + countContent(value.output, counter, model);
    case 'reasoning':
      // Earlier reasoning is not part of the prompt the model reads (the recordings show
      // summaries sent back cost nothing).
      return 0;
    case 'item_reference':
    case 'compaction':
      // Stored or encrypted context we cannot see (the estimate is a lower bound).
      return 0;
    default:
      // Other items (tool calls of built-in tools, their outputs): their JSON, roughly.
      return TOKENS_PER_ITEM + counter.count(JSON.stringify(value) ?? '');
  }
}

function countContent(content: unknown, counter: TokenCounter, model: string | undefined): number {
  if (typeof content === 'string') return counter.count(content);
  let tokens = 0;
  for (const part of asArray(content)) {
    const p = asDict(part);
    if (!p) continue;
    if (typeof p.text === 'string') tokens += counter.count(p.text);
    else if (typeof p.refusal === 'string') tokens += counter.count(p.refusal);
    else if (p.type === 'input_image') tokens += imageTokens(model, asString(p.image_url), asString(p.detail));
    else if (p.type === 'input_file' || p.type === 'input_audio') return Number.NaN;
  }
  return tokens;
}

/**
 * Function tools as the model sees them (Responses renders the block a little differently
 * from chat: fitted, constants.ts); other tools as their JSON, roughly. A server-side
 * tool's definition is counted; what it fetches is not (the input is a lower bound).
 */
function countTools(tools: readonly unknown[], counter: TokenCounter, model: string | undefined, k: OpenAIConstants): number {
  let tokens = 0;
  const functions: Dict[] = [];
  for (const value of tools) {
    const tool = asDict(value);
    if (!tool) continue;
    if (tool.type === 'function') functions.push(tool);
    else tokens += counter.count(JSON.stringify(tool) ?? '');
  }
  if (functions.length === 0) return tokens;
  return tokens + countFunctions(functions, counter, model, k) + k['openai.input.responses.functions'];
}
