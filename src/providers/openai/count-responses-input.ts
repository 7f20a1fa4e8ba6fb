/**
 * Input tokens of a Responses API request, counted like Chat Completions messages (the
 * OpenAI Cookbook formula, which the recorded Responses traffic matches: "Say hello" is 9
 * tokens): 3 per input item plus its encoded role and text, `instructions` as one more
 * (developer) message, 3 for the reply priming, and the tool definitions.
 *
 * What the request does not carry cannot be counted: the context of `previous_response_id`
 * or `conversation`, and the contents of files. The estimate is then a lower bound, and
 * it is always marked estimated.
 */
import type { TokenCounter } from '../../core/tokenizer.js';
import { asArray, asDict, asString, isDict, type Dict } from '../../core/values.js';
import { countFunctionDefinition, FUNCTION_END } from './count-chat-input.js';

const TOKENS_PER_ITEM = 3;
const REPLY_PRIMING = 3;
/** An image of unknown size: one high-detail 512-px tile, or the low-detail flat rate. */
const IMAGE_BASE = 85;
const IMAGE_TILE = 170;

export function countResponsesInput(body: Dict, counter: TokenCounter): number {
  let tokens = REPLY_PRIMING;
  const instructions = asString(body.instructions);
  if (instructions) tokens += TOKENS_PER_ITEM + counter.count('developer') + counter.count(instructions);
  if (typeof body.input === 'string') tokens += TOKENS_PER_ITEM + counter.count('user') + counter.count(body.input);
  else for (const item of asArray(body.input)) tokens += countItem(item, counter);
  return tokens + countTools(asArray(body.tools), counter);
}

function countItem(value: unknown, counter: TokenCounter): number {
  if (!isDict(value)) return 0;
  const type = asString(value.type) ?? (value.role !== undefined ? 'message' : undefined);
  switch (type) {
    case 'message':
      return TOKENS_PER_ITEM + counter.count(asString(value.role) ?? '') + countContent(value.content, counter);
    case 'function_call':
      return TOKENS_PER_ITEM + counter.count(asString(value.name) ?? '') + counter.count(asString(value.arguments) ?? '');
    case 'function_call_output':
      return TOKENS_PER_ITEM + countContent(value.output, counter);
    case 'reasoning':
      return asArray(value.summary).reduce<number>((sum, part) => sum + counter.count(asString(asDict(part)?.text) ?? ''), 0);
    case 'item_reference':
      // Points at stored context we cannot see.
      return 0;
    default:
      // Other items (tool calls of built-in tools, their outputs): their JSON, roughly.
      return TOKENS_PER_ITEM + counter.count(JSON.stringify(value) ?? '');
  }
}

function countContent(content: unknown, counter: TokenCounter): number {
  if (typeof content === 'string') return counter.count(content);
  let tokens = 0;
  for (const part of asArray(content)) {
    const p = asDict(part);
    if (!p) continue;
    if (typeof p.text === 'string') tokens += counter.count(p.text);
    else if (typeof p.refusal === 'string') tokens += counter.count(p.refusal);
    else if (p.type === 'input_image') tokens += p.detail === 'low' ? IMAGE_BASE : IMAGE_BASE + IMAGE_TILE * 4;
  }
  return tokens;
}

function countTools(tools: readonly unknown[], counter: TokenCounter): number {
  let tokens = 0;
  let functions = 0;
  for (const value of tools) {
    const tool = asDict(value);
    if (!tool) continue;
    if (tool.type === 'function') {
      functions++;
      tokens += countFunctionDefinition(tool, counter);
    } else tokens += counter.count(JSON.stringify(tool) ?? '');
  }
  return functions > 0 ? tokens + FUNCTION_END : tokens;
}
