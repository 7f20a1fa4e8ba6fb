/**
 * Decides what a generated (non-replayed) answer contains — thinking, text, a tool
 * call — and its exact output-token count, honouring the request's max-tokens limit.
 * The endpoint modules only translate this plan into their wire format.
 *
 * Output tokens = tokens(thinking) + tokens(text) + tokens(tool name) + tokens(tool
 * arguments JSON). The budget is spent in that order; a tool call that does not fit
 * in what is left is not emitted and the stop reason becomes the length one.
 */

import type { JsonObject } from './json.js';
import type { Rng } from './random.js';
import { hashSeed, seededRng } from './random.js';
import type { PlannedText } from './text.js';
import { generateText, planExactText, splitArguments } from './text.js';
import type { EmulatorTokenizer } from './tokenizer.js';
import type { EmulatorScript } from './types.js';

export const DEFAULT_OUTPUT_TOKENS = 20;

export interface PlannedToolCall {
  name: string;
  argumentsJson: string;
  /** Argument pieces with the tokens each adds (prefix differences: they sum exactly). */
  argumentChunks: Array<{ text: string; tokens: number }>;
  nameTokens: number;
  tokens: number;
}

export interface PlannedOutput {
  thinking?: PlannedText;
  text: PlannedText;
  toolCall?: PlannedToolCall;
  outputTokens: number;
  stop: 'end' | 'length' | 'tool';
  rng: Rng;
}

const EMPTY_TEXT: PlannedText = { text: '', tokens: 0, chunks: [], truncated: false };

/**
 * Seeds from the body minus the streaming switches, so the streaming and the
 * non-streaming form of one request produce the same text.
 */
export function requestRng(body: JsonObject): Rng {
  const { stream: _stream, stream_options: _options, ...rest } = body;
  return seededRng(hashSeed(JSON.stringify(rest)));
}

export function planOutput(
  tokenizer: EmulatorTokenizer,
  body: JsonObject,
  script: EmulatorScript,
  maxTokens: number | undefined,
  options: { allowThinking: boolean },
): PlannedOutput {
  const rng = requestRng(body);
  let budget = maxTokens ?? Number.POSITIVE_INFINITY;
  const limit = (): number | undefined => (Number.isFinite(budget) ? budget : undefined);

  let thinking: PlannedText | undefined;
  if (options.allowThinking && script.thinking !== undefined) {
    thinking = planExactText(tokenizer, script.thinking, limit());
    budget -= thinking.tokens;
    if (thinking.truncated) {
      return { thinking, text: EMPTY_TEXT, outputTokens: thinking.tokens, stop: 'length', rng };
    }
  }

  let text: PlannedText;
  if (script.text !== undefined) text = planExactText(tokenizer, script.text, limit());
  else if (script.toolCall && script.outputTokens === undefined) text = EMPTY_TEXT;
  else text = generateText(tokenizer, rng, script.outputTokens ?? DEFAULT_OUTPUT_TOKENS, limit());
  budget -= text.tokens;
  const spent = (thinking?.tokens ?? 0) + text.tokens;
  if (text.truncated) return { thinking, text, outputTokens: spent, stop: 'length', rng };

  if (script.toolCall) {
    const toolCall = planToolCall(tokenizer, script.toolCall, rng);
    if (toolCall.tokens > budget) return { thinking, text, outputTokens: spent, stop: 'length', rng };
    return { thinking, text, toolCall, outputTokens: spent + toolCall.tokens, stop: 'tool', rng };
  }
  return { thinking, text, outputTokens: spent, stop: 'end', rng };
}

function planToolCall(tokenizer: EmulatorTokenizer, call: NonNullable<EmulatorScript['toolCall']>, rng: Rng): PlannedToolCall {
  const argumentsJson = JSON.stringify(call.arguments);
  const argumentChunks: PlannedToolCall['argumentChunks'] = [];
  let prefix = '';
  let prefixTokens = 0;
  for (const piece of splitArguments(argumentsJson, rng)) {
    prefix += piece;
    const tokens = tokenizer.count(prefix);
    argumentChunks.push({ text: piece, tokens: tokens - prefixTokens });
    prefixTokens = tokens;
  }
  const nameTokens = tokenizer.count(call.name);
  return { name: call.name, argumentsJson, argumentChunks, nameTokens, tokens: nameTokens + prefixTokens };
}
