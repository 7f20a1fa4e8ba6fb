/**
 * Input tokens of a Messages request, for when `message_start` never arrived (the request
 * failed or was cancelled before the first event). Claude's tokenizer is not public, so
 * text is counted with o200k and scaled by a correction factor; the figure is always
 * marked estimated.
 */
import type { TokenCounter } from '../../core/tokenizer.js';
import { asArray, asDict, asString, isDict, type Dict } from '../../core/values.js';

/**
 * Claude tokens per o200k token. Third-party measurements put o200k ~15-20% below Claude
 * on English text (see docs/accuracy.md); 1.2 is the starting point until fitted on the
 * recorded responses.
 */
export const CLAUDE_OUTPUT_FACTOR = 1.2;
const CLAUDE_INPUT_FACTOR = 1.2;
/** Role markers and turn separators around each message. */
const TOKENS_PER_MESSAGE = 4;
/** Anthropic's own estimate for an image is (width * height) / 750; unknown sizes count as ~1 megapixel. */
const IMAGE_TOKENS = 1334;

export function countMessagesInput(body: Dict, counter: TokenCounter): number {
  let text = 0;
  let fixed = 0;
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
      if (b?.type === 'image') fixed += IMAGE_TOKENS;
      else text += countBlock(b, counter);
    }
  }
  const tools = asArray(body.tools);
  if (tools.length > 0) text += counter.count(JSON.stringify(tools));
  return Math.round(text * CLAUDE_INPUT_FACTOR) + fixed;
}

function countBlock(block: Dict | undefined, counter: TokenCounter): number {
  if (!block) return 0;
  if (typeof block.text === 'string') return counter.count(block.text);
  if (typeof block.thinking === 'string') return counter.count(block.thinking);
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
