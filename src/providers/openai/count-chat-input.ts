/**
 * Input tokens of a Chat Completions request, counted the way OpenAI documents it
 * (OpenAI Cookbook, "How to count tokens with tiktoken"): 3 tokens per message, 1 more
 * for a `name`, the encoded role, content and name, and 3 for the reply priming.
 * Tool definitions and images follow the same guide's constants; anything we cannot
 * see (audio, files) counts as nothing, and the whole figure is marked estimated.
 */
import type { TokenCounter } from '../../core/tokenizer.js';
import { asArray, asDict, asString, isDict, type Dict } from '../../core/values.js';

const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const REPLY_PRIMING = 3;
/** Per function definition, for gpt-4o-class models (gpt-3.5 and gpt-4 use 10). */
const FUNCTION_INIT = 7;
export const FUNCTION_END = 12;
const PROPERTIES_INIT = 3;
const PROPERTY_KEY = 3;
const ENUM_INIT = -3;
const ENUM_ITEM = 3;
/** A `detail: low` image, and the base of a high-detail one, for gpt-4o-class models. */
const IMAGE_BASE = 85;
const IMAGE_TILE = 170;

export function countChatInput(body: Dict, counter: TokenCounter): number {
  let tokens = REPLY_PRIMING;
  for (const message of asArray(body.messages)) {
    if (!isDict(message)) continue;
    tokens += TOKENS_PER_MESSAGE;
    for (const [key, value] of Object.entries(message)) {
      if (key === 'name') tokens += TOKENS_PER_NAME;
      if (key === 'tool_calls') tokens += countToolCalls(value, counter);
      else if (key === 'content') tokens += countContent(value, counter);
      else if (key === 'role' || key === 'name') tokens += counter.count(asString(value) ?? '');
    }
  }
  const tools = asArray(body.tools);
  if (tools.length > 0) tokens += countTools(tools, counter, asString(body.model));
  return tokens;
}

function countContent(content: unknown, counter: TokenCounter): number {
  if (typeof content === 'string') return counter.count(content);
  let tokens = 0;
  for (const part of asArray(content)) {
    const p = asDict(part);
    if (!p) continue;
    if (typeof p.text === 'string') tokens += counter.count(p.text);
    else if (typeof p.refusal === 'string') tokens += counter.count(p.refusal);
    else if (p.type === 'image_url') tokens += imageTokens(asDict(p.image_url));
  }
  return tokens;
}

/** Images of unknown size count as one 512-px tile at high detail (documented as approximate). */
function imageTokens(image: Dict | undefined): number {
  return image?.detail === 'low' ? IMAGE_BASE : IMAGE_BASE + IMAGE_TILE * 4;
}

function countToolCalls(value: unknown, counter: TokenCounter): number {
  let tokens = 0;
  for (const call of asArray(value)) {
    const fn = asDict(asDict(call)?.function);
    if (!fn) continue;
    tokens += counter.count(asString(fn.name) ?? '') + counter.count(asString(fn.arguments) ?? '');
  }
  return tokens;
}

function countTools(tools: readonly unknown[], counter: TokenCounter, model: string | undefined): number {
  const legacy = /^gpt-(3\.5|4(?!o|\.))/.test(model ?? '');
  let tokens = FUNCTION_END;
  for (const tool of tools) {
    const fn = asDict(asDict(tool)?.function);
    if (fn) tokens += countFunctionDefinition(fn, counter, legacy ? 10 : FUNCTION_INIT);
  }
  return tokens;
}

/**
 * One function definition (`name`, `description`, `parameters`), by the Cookbook's constants;
 * shared with the Responses API, whose tools carry the same fields at the top level. A
 * request's tools together add `FUNCTION_END` once.
 */
export function countFunctionDefinition(fn: Dict, counter: TokenCounter, functionInit = FUNCTION_INIT): number {
  const description = (asString(fn.description) ?? '').replace(/\.$/, '');
  let tokens = functionInit + counter.count(`${asString(fn.name) ?? ''}:${description}`);
  const properties = asDict(asDict(fn.parameters)?.properties);
  if (!properties) return tokens;
  tokens += PROPERTIES_INIT;
  for (const [key, property] of Object.entries(properties)) {
    const prop = asDict(property) ?? {};
    tokens += PROPERTY_KEY;
    const enumValues = asArray(prop.enum);
    if (enumValues.length > 0) {
      tokens += ENUM_INIT;
      for (const item of enumValues) tokens += ENUM_ITEM + counter.count(String(item));
    }
    const propDescription = (asString(prop.description) ?? '').replace(/\.$/, '');
    tokens += counter.count(`${key}:${asString(prop.type) ?? 'object'}:${propDescription}`);
  }
  return tokens;
}
