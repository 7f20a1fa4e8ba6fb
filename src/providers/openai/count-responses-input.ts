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
 * see, or a `conversation`, is context we cannot count: the estimate is then a lower bound.
 * The contents of files and audio and what a web search tool fetches cannot be counted
 * either (the estimate is then NaN, recorded as unknown).
 */
import type { TokenCounter } from '../../core/tokenizer.js';
import { asArray, asDict, asString, isDict, type Dict } from '../../core/values.js';
import { imageTokens } from './count-image.js';
import { countFunctions, countSchemaFormat, countToolChoice, isReasoningFormat } from './count-tools.js';

const TOKENS_PER_ITEM = 3;
const REPLY_PRIMING = 3;
/** A function call item's framing beyond its name and arguments (least squares, dev recordings). */
const TOKENS_PER_FUNCTION_CALL = 10;
/**
 * Responses renders function tools a little differently from chat: one token fewer for the
 * block, 9 more for each function after the first (least squares, dev recordings).
 */
const RESPONSES_FUNCTIONS_ADJUSTMENT = -1;
const TOKENS_PER_EXTRA_FUNCTION = 9;

/** What this process accounted for an earlier response: the context a continuation reads. */
export interface StoredContext {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export function countResponsesInput(body: Dict, counter: TokenCounter, previous?: StoredContext): number {
  const model = asString(body.model);
  const reasoningFormat = isReasoningFormat(model);
  if (previous) return previous.inputTokens + previous.outputTokens + countItems(body.input, counter, model, reasoningFormat);
  // gpt-5 and o-series: one token fewer overall, two more per earlier assistant turn (dev recordings).
  let tokens = reasoningFormat ? REPLY_PRIMING - 1 : REPLY_PRIMING;
  const instructions = asString(body.instructions);
  if (instructions) tokens += TOKENS_PER_ITEM + counter.count('developer') + counter.count(instructions);
  tokens += countItems(body.input, counter, model, reasoningFormat);
  const textFormat = asDict(body.text)?.format;
  const tools = countTools(asArray(body.tools), counter, model);
  return tokens + tools + countToolChoice(body.tool_choice, 'responses') + countSchemaFormat(textFormat, counter, tools > 0, 'responses');
}

function countItems(input: unknown, counter: TokenCounter, model: string | undefined, reasoningFormat: boolean): number {
  if (typeof input === 'string') return TOKENS_PER_ITEM + counter.count('user') + counter.count(input);
  let tokens = 0;
  for (const item of asArray(input)) {
    tokens += countItem(item, counter, model);
    if (reasoningFormat && isDict(item) && item.role === 'assistant') tokens += 2;
  }
  return tokens;
}

function countItem(value: unknown, counter: TokenCounter, model: string | undefined): number {
  if (!isDict(value)) return 0;
  const type = asString(value.type) ?? (value.role !== undefined ? 'message' : undefined);
  switch (type) {
    case 'message':
      return TOKENS_PER_ITEM + counter.count(asString(value.role) ?? '') + countContent(value.content, counter, model);
    case 'function_call':
      return TOKENS_PER_ITEM + TOKENS_PER_FUNCTION_CALL + counter.count(asString(value.name) ?? '') + counter.count(asString(value.arguments) ?? '');
    case 'function_call_output':
      return TOKENS_PER_ITEM + countContent(value.output, counter, model);
    case 'reasoning':
      // Earlier reasoning is not part of the prompt the model reads (the recordings show
      // summaries sent back cost nothing).
      return 0;
    case 'item_reference':
      // Points at stored context we cannot see.
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

function countTools(tools: readonly unknown[], counter: TokenCounter, model: string | undefined): number {
  let tokens = 0;
  const functions: Dict[] = [];
  for (const value of tools) {
    const tool = asDict(value);
    if (!tool) continue;
    if (tool.type === 'function') functions.push(tool);
    // Web search adds what it found to the input (hundreds to tens of thousands of tokens
    // on the recordings), which the request does not show: not estimable.
    else if (asString(tool.type)?.startsWith('web_search')) return Number.NaN;
    else tokens += counter.count(JSON.stringify(tool) ?? '');
  }
  if (functions.length === 0) return tokens;
  const adjustment = RESPONSES_FUNCTIONS_ADJUSTMENT + (functions.length - 1) * TOKENS_PER_EXTRA_FUNCTION;
  return tokens + countFunctions(functions, counter, model) + adjustment;
}
