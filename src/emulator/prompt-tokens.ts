/**
 * Input-token counts the emulator reports. They follow fixed, documented formulas so
 * tests can compute the expected numbers themselves:
 *
 * - OpenAI chat: Σ over messages (3 + tokens(role) + Σ tokens(text of each content
 *   part) + (name ? 1 + tokens(name) : 0)) + 3, the OpenAI cookbook formula. Image,
 *   audio and other non-text parts count 0; tools and response formats are ignored.
 * - Anthropic messages: tokens(system text) + Σ over messages
 *   (ANTHROPIC_MESSAGE_OVERHEAD + Σ tokens(each text, thinking, tool_use input JSON,
 *   tool_result text)). Tools are ignored.
 * - Legacy completions and embeddings: tokens of each prompt/input string; token-id
 *   arrays count their length.
 *
 * Each text piece is counted on its own and summed (not concatenated), so counts are
 * independent of how the parts would have been joined.
 */

import type { JsonObject } from './json.js';
import { isObject, stringField } from './json.js';
import type { EmulatorTokenizer } from './tokenizer.js';

export const OPENAI_TOKENS_PER_MESSAGE = 3;
export const OPENAI_TOKENS_PER_NAME = 1;
export const OPENAI_REPLY_PRIMING_TOKENS = 3;
export const ANTHROPIC_MESSAGE_OVERHEAD = 3;

export function chatPromptTokens(tokenizer: EmulatorTokenizer, messages: unknown): number {
  if (!Array.isArray(messages)) return OPENAI_REPLY_PRIMING_TOKENS;
  let total = OPENAI_REPLY_PRIMING_TOKENS;
  for (const message of messages) {
    if (!isObject(message)) continue;
    total += OPENAI_TOKENS_PER_MESSAGE;
    total += tokenizer.count(stringField(message, 'role') ?? '');
    for (const text of contentTexts(message.content)) total += tokenizer.count(text);
    const name = stringField(message, 'name');
    if (name !== undefined) total += OPENAI_TOKENS_PER_NAME + tokenizer.count(name);
  }
  return total;
}

export function anthropicInputTokens(tokenizer: EmulatorTokenizer, body: JsonObject): number {
  let total = 0;
  for (const text of contentTexts(body.system)) total += tokenizer.count(text);
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (const message of messages) {
    if (!isObject(message)) continue;
    total += ANTHROPIC_MESSAGE_OVERHEAD;
    for (const text of contentTexts(message.content)) total += tokenizer.count(text);
  }
  return total;
}

/** Tokens per prompt (legacy completions) or per input (embeddings). */
export function inputTokensEach(tokenizer: EmulatorTokenizer, input: unknown): number[] {
  if (typeof input === 'string') return [tokenizer.count(input)];
  if (!Array.isArray(input)) return [0];
  if (input.length > 0 && input.every((item) => typeof item === 'number')) return [input.length];
  return input.map((item) => {
    if (typeof item === 'string') return tokenizer.count(item);
    return Array.isArray(item) ? item.length : 0;
  });
}

/**
 * The texts inside a message `content` (or Anthropic `system`): a string, or an array
 * of parts of either provider's shapes.
 */
export function contentTexts(content: unknown): string[] {
  if (typeof content === 'string') return [content];
  if (!Array.isArray(content)) return [];
  const texts: string[] = [];
  for (const part of content) {
    if (typeof part === 'string') {
      texts.push(part);
      continue;
    }
    if (!isObject(part)) continue;
    switch (part.type) {
      case 'text':
      case 'input_text':
      case 'output_text':
        texts.push(stringField(part, 'text') ?? '');
        break;
      case 'thinking':
        texts.push(stringField(part, 'thinking') ?? '');
        break;
      case 'tool_use':
        texts.push(JSON.stringify(part.input ?? {}));
        break;
      case 'tool_result':
        texts.push(...contentTexts(part.content));
        break;
      default:
        break;
    }
  }
  return texts;
}
