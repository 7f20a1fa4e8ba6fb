/**
 * Input tokens of a Messages request, for when `message_start` never arrived (the request
 * failed or was cancelled before the first event). Claude's tokenizer is not public, so
 * text is counted with o200k and scaled by a correction factor; the figure is always
 * marked estimated.
 */
import type { TokenCounter } from '../../core/tokenizer.js';
import { asArray, asDict, asString, isDict, type Dict } from '../../core/values.js';
import { dataUrlImageSize } from '../openai/count-image.js';

/**
 * Claude output tokens per o200k token of the received text, plus a constant per response:
 * fitted on the dev recordings' text-only Anthropic responses (≈350 records, 11 model
 * families). 1.13 × o200k + 3 has the lowest median error (4.2%, p90 12.2%) but a −12%
 * bias from long answers, which bills low; 1.18 trades a little median (5.6%, p90 14.6%)
 * for a smaller bias (−8.6%). Later requests refine the factor per family
 * (core/calibration.ts). See docs/accuracy.md.
 */
export const CLAUDE_OUTPUT_FACTOR = 1.18;
const CLAUDE_TOKENS_PER_RESPONSE = 3;
/**
 * A tool-use block beyond its name and input JSON (which are counted as text): Claude writes
 * a call as markup with one element per parameter, so the cost is a constant per call, by
 * `tool_choice` (the API starts a call it forces itself), plus one per top-level parameter.
 * Least squares on the dev recordings' tool-use responses; `npm run accuracy` on them: median
 * error 5.2%, p90 10.3% (175 records), against 8.3% / 62.5% with one constant per call.
 */
const CLAUDE_TOKENS_PER_TOOL_USE: Readonly<Record<string, number>> = { auto: 25, none: 25, any: 14, tool: -8 };
const CLAUDE_TOKENS_PER_TOOL_PARAMETER = 11;

/** Output tokens Claude counts beyond the received text. */
export function claudeOutputOverhead(toolUses: number, toolParameters: number, toolChoice?: string): number {
  const perCall = CLAUDE_TOKENS_PER_TOOL_USE[toolChoice ?? 'auto'] ?? CLAUDE_TOKENS_PER_TOOL_USE.auto ?? 0;
  const tools = toolUses === 0 ? 0 : Math.max(0, perCall * toolUses + CLAUDE_TOKENS_PER_TOOL_PARAMETER * toolParameters);
  return CLAUDE_TOKENS_PER_RESPONSE + tools;
}

/** The request's `tool_choice` type (`auto`, `any`, `tool`, `none`), if any. */
export function toolChoiceType(body: Dict): string | undefined {
  return asString(asDict(body.tool_choice)?.type);
}

/**
 * Input: Claude tokens per o200k token, per message and per request, fitted on the dev
 * recordings' text-only requests (1.18 × o200k + 3 per message + 3).
 */
const CLAUDE_INPUT_FACTOR = 1.18;
const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_REQUEST = 3;
/** Structured outputs: the instructions around the schema (fitted: median residual 156 on 25 dev records). */
const OUTPUT_FORMAT_OVERHEAD = 150;
/** Extended thinking adds its own instructions (residual 23 – 36, median 30, on 41 of the 42 dev records with it; 4 families). */
const THINKING_INSTRUCTIONS = 29;
/**
 * Anthropic documents an image as about width × height / 750 tokens after fitting it within
 * 1568 px on the long edge and ~1.15 megapixels; an image whose size we cannot read
 * (a URL, a file id) counts as that maximum, 1600 tokens.
 */
const IMAGE_MAX_TOKENS = 1600;

export function countMessagesInput(body: Dict, counter: TokenCounter): number {
  let text = 0;
  let fixed = TOKENS_PER_REQUEST;
  const system = body.system;
  if (typeof system === 'string') text += counter.count(system);
  else for (const block of asArray(system)) text += countBlock(asDict(block), counter);
  for (const message of asArray(body.messages)) {
    if (!isDict(message)) continue;
    fixed += TOKENS_PER_MESSAGE;
    const content = message.content;
    if (typeof content === 'string') text += counter.count(content);
    else for (const block of asArray(content)) {
      const b = asDict(block);
      if (b?.type === 'image') fixed += imageTokens(asDict(b.source));
      else if (b?.type === 'document') return Number.NaN;
      else text += countBlock(b, counter);
    }
  }
  const tools = asArray(body.tools);
  // Server tools that fetch content (web search, web fetch) add what they fetched to the
  // input: tens of thousands of tokens the request does not show. Not estimable.
  if (tools.some((tool) => /^web_(search|fetch)/.test(asString(asDict(tool)?.type) ?? ''))) return Number.NaN;
  if (tools.length > 0) {
    text += counter.count(JSON.stringify(tools));
    fixed += toolUseSystemPrompt(asString(body.model), asString(asDict(body.tool_choice)?.type));
  }
  if (asDict(body.thinking)?.type === 'enabled') fixed += THINKING_INSTRUCTIONS;
  // Structured outputs: `output_format` in the beta, `output_config.format` since.
  const schema = (asDict(body.output_format) ?? asDict(asDict(body.output_config)?.format))?.schema;
  if (schema !== undefined) {
    text += counter.count(JSON.stringify(schema) ?? '');
    fixed += OUTPUT_FORMAT_OVERHEAD;
  }
  return Math.round(text * CLAUDE_INPUT_FACTOR) + fixed;
}

function imageTokens(source: Dict | undefined): number {
  const data = asString(source?.data);
  const size = source?.type === 'base64' && data ? dataUrlImageSize(`data:${asString(source.media_type) ?? 'image/png'};base64,${data}`) : undefined;
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
function toolUseSystemPrompt(model: string | undefined, choice: string | undefined): number {
  const forced = choice === 'any' || choice === 'tool';
  const id = (model ?? '').toLowerCase();
  // The 4.5 and later families measure well above the published figures on the dev
  // recordings (median residual +190 auto, +290 forced, on haiku-4-5, sonnet-4-5 and sonnet-4-6).
  if (/^claude-(haiku|sonnet|opus)-4-[5-9](?!\d)/.test(id)) return forced ? 313 + 290 : 346 + 190;
  if (id.startsWith('claude-3-opus')) return forced ? 281 : 530;
  if (id.startsWith('claude-3-sonnet')) return forced ? 235 : 159;
  if (id.startsWith('claude-3-haiku') || id.startsWith('claude-3-5-haiku')) return forced ? 340 : 264;
  return forced ? 313 : 346;
}

function countBlock(block: Dict | undefined, counter: TokenCounter): number {
  if (!block) return 0;
  if (typeof block.text === 'string') return counter.count(block.text);
  // Thinking from earlier turns is dropped from the context the model reads (dev recordings).
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
