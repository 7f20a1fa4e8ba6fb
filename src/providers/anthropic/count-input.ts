/**
 * Input tokens of a Messages request, for when `message_start` never arrived (the request
 * failed or was cancelled before the first event), and the output framing Claude counts
 * beyond the received text. Claude's tokenizer is not public, so text is counted with
 * o200k and scaled by its generation's factor (constants.ts); the figures are always
 * marked estimated.
 *
 * What the client never sees: server tools (web search, web fetch, code execution) add
 * what they fetch or run to the input, and `redacted_thinking` blocks hold encrypted
 * reasoning the model reads again: the estimate is then what the client sent, a lower
 * bound. Context management edits remove earlier content on Anthropic's side, and an image
 * whose size cannot be read counts as the largest: an upper bound.
 */
import type { InputBound } from '../../core/model.js';
import { base64ImageSize } from '../../core/image-size.js';
import type { TokenCounter } from '../../core/tokenizer.js';
import { asArray, asDict, asString, isDict, type Dict } from '../../core/values.js';
import { claudeFactor, type AnthropicConstants } from './constants.js';

/** What a response held beyond its text, for the output tokens Claude counts around it. */
export interface ClaudeOutputShape {
  /** `tool_use` blocks received, other than calls of the tool `tool_choice` names. */
  readonly toolUses: number;
  /** Top-level parameters of every call received. */
  readonly toolParameters: number;
  /** `tool_choice` `any` or `tool`: the API opens the block of calls itself (its documented prefill). */
  readonly callsOpenedByApi: boolean;
  /** Line breaks o200k merged with the character before them (line-breaks.ts). */
  readonly mergedLineBreaks: number;
}

/**
 * Output tokens Claude counts beyond the received text: a constant per response, and the
 * framing of its tool calls. Claude writes calls as markup: a block around them, inside it
 * an element per call (`invoke`, with the tool's name) holding an element per parameter
 * (with the parameter's name), both of the same shape, so the cost is a constant per block
 * of calls and one per element (fitted, constants.ts; fitted apart, per call and per
 * parameter came out 14 and 15 on all five sources, and 17 and 11 without Mirascope,
 * whose calls the few other sources' cannot tell apart). With `tool_choice` `any` or
 * `tool` the API prefills the answer to force a call (Anthropic's tool-use
 * documentation): the block's opening is the API's, not generated. A call of the tool
 * `tool_choice` names is started by the API, its name included (as OpenAI does for a
 * forced function): only its parameters' elements are generated, so it is not among
 * `toolUses` and its name is not in the received text. Line breaks o200k merged with the
 * character before them are one Claude token each (line-breaks.ts).
 */
export function claudeOutputOverhead(shape: ClaudeOutputShape, k: AnthropicConstants): number {
  const block = shape.toolUses > 0 && !shape.callsOpenedByApi ? k['anthropic.output.tool_calls'] : 0;
  const framing = block + k['anthropic.output.tool_element'] * (shape.toolUses + shape.toolParameters);
  return k['anthropic.output.per_response'] + shape.mergedLineBreaks + Math.max(0, framing);
}

/** The request's `tool_choice` type (`auto`, `any`, `tool`, `none`), if any. */
export function toolChoiceType(body: Dict): string | undefined {
  return asString(asDict(body.tool_choice)?.type);
}

/**
 * Anthropic documents an image as about width × height / 750 tokens after fitting it within
 * 1568 px on the long edge and ~1.15 megapixels; an image whose size we cannot read
 * (a URL, a file id) counts as that maximum, 1600 tokens.
 */
const IMAGE_MAX_TOKENS = 1600;
/** Server tools that fetch or run content on Anthropic's side and add it to the input. */
const SERVER_TOOL = /^(web_search|web_fetch|code_execution)/;

/** Whether Anthropic adds or removes input this request does not show (see the module comment). */
export function messagesInputBound(body: Dict): InputBound | undefined {
  const adds =
    asArray(body.tools).some((tool) => SERVER_TOOL.test(asString(asDict(tool)?.type) ?? '')) ||
    asArray(body.messages).some((message) => asArray(asDict(message)?.content).some((block) => asDict(block)?.type === 'redacted_thinking'));
  // Context management edits remove content; an image of a size we cannot read counts as the largest.
  const removes = asArray(asDict(body.context_management)?.edits).length > 0 || hasImageOfUnknownSize(body);
  if (adds) return removes ? 'neither' : 'lower';
  return removes ? 'upper' : undefined;
}

function hasImageOfUnknownSize(body: Dict): boolean {
  return asArray(body.messages).some((message) =>
    asArray(asDict(message)?.content).some((block) => {
      const b = asDict(block);
      if (b?.type !== 'image') return false;
      const source = asDict(b.source);
      const data = asString(source?.data);
      return source?.type !== 'base64' || data === undefined || base64ImageSize(data) === undefined;
    }),
  );
}

export function countMessagesInput(body: Dict, counter: TokenCounter, k: AnthropicConstants): number {
  let text = 0;
  let fixed = k['anthropic.input.per_request'];
  const system = body.system;
  if (typeof system === 'string') text += counter.count(system);
  else for (const block of asArray(system)) text += countBlock(asDict(block), counter);
  for (const message of asArray(body.messages)) {
    if (!isDict(message)) continue;
    fixed += k['anthropic.input.per_message'];
    const content = message.content;
    if (typeof content === 'string') text += counter.count(content);
    else
      for (const block of asArray(content)) {
        const b = asDict(block);
        if (b?.type === 'image') fixed += imageTokens(asDict(b.source));
        else if (b?.type === 'document') return Number.NaN;
        else text += countBlock(b, counter);
      }
  }
  const tools = asArray(body.tools);
  // A server tool's definition is counted; what it fetches is not (a lower bound).
  if (tools.length > 0) {
    text += counter.count(JSON.stringify(tools));
    fixed += toolUseSystemPrompt(asString(body.model), asString(asDict(body.tool_choice)?.type), k);
  }
  if (asDict(body.thinking)?.type === 'enabled') fixed += k['anthropic.input.thinking'];
  // Structured outputs: `output_format` in the beta, `output_config.format` since.
  const schema = (asDict(body.output_format) ?? asDict(asDict(body.output_config)?.format))?.schema;
  if (schema !== undefined) {
    text += counter.count(JSON.stringify(schema) ?? '');
    fixed += k['anthropic.input.output_format'];
  }
  return Math.round(text * claudeFactor(asString(body.model), k)) + fixed;
}

function imageTokens(source: Dict | undefined): number {
  const data = asString(source?.data);
  const size = source?.type === 'base64' && data ? base64ImageSize(data) : undefined;
  if (!size) return IMAGE_MAX_TOKENS;
  let { width, height } = size;
  const fit = Math.min(1, 1568 / Math.max(width, height), Math.sqrt(1_150_000 / (width * height)));
  width *= fit;
  height *= fit;
  return Math.min(IMAGE_MAX_TOKENS, Math.ceil((width * height) / 750));
}

/**
 * The system prompt Anthropic adds when `tools` are given, by model and `tool_choice`
 * (Anthropic's pricing page, "Tool use system prompt token count"): `auto`/`none` vs
 * `any`/`tool`.
 */
function toolUseSystemPrompt(model: string | undefined, choice: string | undefined, k: AnthropicConstants): number {
  const forced = choice === 'any' || choice === 'tool';
  const id = (model ?? '').toLowerCase();
  // The 4.5 and later families measure well above the published figures (fitted, constants.ts).
  if (/^claude-(haiku|sonnet|opus)-4-[5-9](?!\d)/.test(id)) {
    return forced ? 313 + k['anthropic.input.tools.recent.forced'] : 346 + k['anthropic.input.tools.recent'];
  }
  if (id.startsWith('claude-3-opus')) return forced ? 281 : 530;
  if (id.startsWith('claude-3-sonnet')) return forced ? 235 : 159;
  if (id.startsWith('claude-3-haiku') || id.startsWith('claude-3-5-haiku')) return forced ? 340 : 264;
  return forced ? 313 : 346;
}

function countBlock(block: Dict | undefined, counter: TokenCounter): number {
  if (!block) return 0;
  if (typeof block.text === 'string') return counter.count(block.text);
  // Thinking from earlier turns is dropped from the context the model reads (dev recordings);
  // redacted thinking cannot be read (the input is then a lower bound).
  if (block.type === 'thinking' || block.type === 'redacted_thinking') return 0;
  if (block.type === 'tool_use') return counter.count(`${asString(block.name) ?? ''}${JSON.stringify(block.input ?? {})}`);
  if (block.type === 'tool_result') {
    const content = block.content;
    if (typeof content === 'string') return counter.count(content);
    let tokens = 0;
    for (const inner of asArray(content)) tokens += countBlock(asDict(inner), counter);
    return tokens;
  }
  return 0;
}
