/**
 * Input tokens of a Chat Completions request, counted the way OpenAI documents it
 * (OpenAI Cookbook, "How to count tokens with tiktoken"): 3 tokens per message, 1 more
 * for a `name`, the encoded role, content and name, and 3 for the reply priming. Tool
 * definitions and schemas are counted as the model sees them (count-tools.ts), images by
 * the published tile and patch rules (count-image.ts). Audio and file parts cannot be
 * counted from the request: the estimate is then NaN, which the caller records as
 * unknown rather than as a made-up number.
 */
import type { TokenCounter } from '../../core/tokenizer.js';
import { asArray, asDict, asString, isDict, type Dict } from '../../core/values.js';
import type { OpenAIConstants } from './constants.js';
import { imageTokens } from './count-image.js';
import { countFunctions, countSchemaFormat, countToolChoice } from './count-tools.js';
import { toolCallFraming } from './output-overhead.js';
import { isReasoningFormat } from './reasoning.js';

const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const REPLY_PRIMING = 3;

export function countChatInput(body: Dict, counter: TokenCounter, k: OpenAIConstants): number {
  const model = asString(body.model);
  // gpt-5 and o-series prompts measure a little shorter than the Cookbook formula, and each
  // earlier assistant turn longer (its output channel; fitted, constants.ts).
  const gpt5 = isReasoningFormat(model);
  let tokens = REPLY_PRIMING + (gpt5 ? k['openai.input.reasoning_format.priming'] : 0);
  for (const message of asArray(body.messages)) {
    if (!isDict(message)) continue;
    tokens += TOKENS_PER_MESSAGE;
    if (gpt5 && message.role === 'assistant') tokens += k['openai.input.reasoning_format.assistant_turn'];
    for (const [key, value] of Object.entries(message)) {
      if (key === 'name') tokens += TOKENS_PER_NAME;
      if (key === 'tool_calls') tokens += countToolCalls(value, counter, k);
      else if (key === 'content') tokens += countContent(value, counter, model);
      else if (key === 'role' || key === 'name') tokens += counter.count(asString(value) ?? '');
    }
  }
  const tools = countChatTools(body, counter, k);
  tokens += tools + countToolChoice(body.tool_choice, 'chat', k);
  tokens += countSchemaFormat(body.response_format, counter, tools > 0, 'chat', k);
  return tokens;
}

/** `tools` of type function and the older `functions`, as the model sees them. */
function countChatTools(body: Dict, counter: TokenCounter, k: OpenAIConstants): number {
  const functions: Dict[] = [];
  for (const tool of asArray(body.tools)) {
    const fn = asDict(asDict(tool)?.function);
    if (fn) functions.push(fn);
  }
  for (const fn of asArray(body.functions)) if (isDict(fn)) functions.push(fn);
  const block = countFunctions(functions, counter, asString(body.model), k);
  // The block is written into the system message; a request without one gets a message of
  // its own (one more message frame: single-function prompts of four sources leave 8 to 10
  // tokens beside the block without a system message, 4 to 6 with one).
  return block > 0 && !hasSystemMessage(body) ? block + TOKENS_PER_MESSAGE : block;
}

function hasSystemMessage(body: Dict): boolean {
  return asArray(body.messages).some((message) => {
    const role = asDict(message)?.role;
    return role === 'system' || role === 'developer';
  });
}

function countContent(content: unknown, counter: TokenCounter, model: string | undefined): number {
  if (typeof content === 'string') return counter.count(content);
  let tokens = 0;
  for (const part of asArray(content)) {
    const p = asDict(part);
    if (!p) continue;
    if (typeof p.text === 'string') tokens += counter.count(p.text);
    else if (typeof p.refusal === 'string') tokens += counter.count(p.refusal);
    else if (p.type === 'input_audio' || p.type === 'file') return Number.NaN;
    else if (p.type === 'image_url') {
      const image = asDict(p.image_url);
      tokens += imageTokens(model, asString(image?.url), asString(image?.detail));
    }
  }
  return tokens;
}

/**
 * Earlier tool calls in the conversation cost what they cost as output: their name and
 * arguments and the framing of the calls made together (dev recordings: exact on the 14
 * gpt-3.5 single-call turns and on 12 of the 14 two-call turns of one repository; gpt-4o
 * single-call turns within −5 and +6, median +4).
 */
function countToolCalls(value: unknown, counter: TokenCounter, k: OpenAIConstants): number {
  let tokens = 0;
  let calls = 0;
  for (const call of asArray(value)) {
    const fn = asDict(asDict(call)?.function);
    if (!fn) continue;
    calls++;
    tokens += counter.count(asString(fn.name) ?? '') + counter.count(asString(fn.arguments) ?? '');
  }
  return tokens + toolCallFraming(calls, 'chat', k);
}
