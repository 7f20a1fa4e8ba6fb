/**
 * Deterministic, English-like output text with an exact o200k_base token count.
 *
 * The text is built from pieces that are each exactly one token AND one o200k
 * pre-tokeniser split (" word", ",", "."): BPE never merges across those splits, so
 * the token count of the whole text is the number of pieces. That lets generation
 * stop on exactly the target count without re-encoding the growing text.
 */

import type { Rng } from './random.js';
import { rngInt } from './random.js';
import type { EmulatorTokenizer } from './tokenizer.js';

/** A unit of streamed content: one SSE delta. */
export interface TextChunk {
  text: string;
  tokens: number;
}

export interface PlannedText {
  text: string;
  /** o200k tokens of `text` (re-encoded, so always consistent with what is sent). */
  tokens: number;
  chunks: TextChunk[];
  /** True when the request's max-tokens limit cut the text short. */
  truncated: boolean;
}

const WORDS = [
  'the',
  'a',
  'and',
  'of',
  'to',
  'in',
  'is',
  'it',
  'that',
  'for',
  'on',
  'with',
  'as',
  'was',
  'at',
  'by',
  'this',
  'from',
  'or',
  'but',
  'not',
  'are',
  'be',
  'have',
  'has',
  'they',
  'we',
  'you',
  'one',
  'all',
  'time',
  'day',
  'year',
  'way',
  'people',
  'world',
  'life',
  'work',
  'system',
  'program',
  'number',
  'part',
  'place',
  'case',
  'point',
  'group',
  'problem',
  'fact',
  'water',
  'light',
  'river',
  'stone',
  'tree',
  'garden',
  'city',
  'road',
  'house',
  'window',
  'morning',
  'evening',
  'story',
  'music',
  'color',
  'paper',
  'table',
  'market',
  'signal',
  'trace',
  'metric',
  'cost',
  'token',
  'stream',
  'model',
  'answer',
  'question',
  'small',
  'large',
  'quiet',
  'bright',
  'early',
  'late',
  'simple',
  'clear',
  'open',
  'green',
  'blue',
  'warm',
  'cold',
  'new',
  'old',
  'good',
  'long',
  'short',
  'high',
  'low',
  'great',
  'little',
  'fast',
  'makes',
  'takes',
  'gives',
  'finds',
  'keeps',
  'shows',
  'moves',
  'holds',
  'turns',
  'starts',
  'runs',
  'reads',
  'writes',
  'builds',
  'sends',
  'counts',
  'follows',
  'returns',
  'opens',
  'carries',
  'brings',
  'slowly',
  'often',
  'always',
  'never',
  'again',
  'also',
  'still',
  'together',
  'here',
  'there',
  'then',
];

const capitalize = (word: string): string => word[0].toUpperCase() + word.slice(1);

let vocabulary: string[] | undefined;

/** Words that stay one token with and without a leading space, in both cases. */
function usableWords(tokenizer: EmulatorTokenizer): string[] {
  vocabulary ??= WORDS.filter((word) => [` ${word}`, capitalize(word), ` ${capitalize(word)}`].every((form) => tokenizer.count(form) === 1));
  return vocabulary;
}

/**
 * Generates `min(targetTokens, maxTokens)` tokens of sentences. Same rng state, same
 * text: the caller seeds the rng from the request so reruns are reproducible.
 */
export function generateText(tokenizer: EmulatorTokenizer, rng: Rng, targetTokens: number, maxTokens: number | undefined): PlannedText {
  const words = usableWords(tokenizer);
  const limit = maxTokens === undefined ? targetTokens : Math.min(targetTokens, maxTokens);
  const pieces: string[] = [];
  let sentenceLeft = 0;
  let sentenceStart = true;
  while (pieces.length < limit) {
    if (sentenceLeft === 0 && !sentenceStart) {
      pieces.push('.');
      sentenceStart = true;
      continue;
    }
    if (sentenceStart) sentenceLeft = rngInt(rng, 5, 13);
    const word = words[Math.floor(rng() * words.length)];
    const form = sentenceStart ? capitalize(word) : word;
    pieces.push(pieces.length === 0 ? form : ` ${form}`);
    sentenceStart = false;
    sentenceLeft--;
    // A comma now and then, never right before the full stop.
    if (sentenceLeft > 1 && rng() < 0.08 && pieces.length < limit) pieces.push(',');
  }
  const chunks = groupPieces(pieces, rng);
  const text = pieces.join('');
  return { text, tokens: tokenizer.count(text), chunks, truncated: limit < targetTokens };
}

/** Plans a caller-given text, cut to `maxTokens` tokens when needed. */
export function planExactText(tokenizer: EmulatorTokenizer, text: string, maxTokens: number | undefined): PlannedText {
  let sent = text;
  let truncated = false;
  if (maxTokens !== undefined) {
    const encoded = tokenizer.encode(text);
    if (encoded.length > maxTokens) {
      sent = tokenizer.decode(encoded.slice(0, maxTokens));
      truncated = true;
    }
  }
  const chunks = splitWords(sent).map((part) => ({ text: part, tokens: tokenizer.count(part) }));
  return { text: sent, tokens: tokenizer.count(sent), chunks, truncated };
}

/** Splits text into word-sized deltas (leading whitespace kept) that join back exactly. */
export function splitWords(text: string): string[] {
  const parts: string[] = text.match(/\s*\S+/g) ?? [];
  const tail = text.slice(parts.join('').length);
  if (tail.length > 0) {
    if (parts.length === 0) parts.push(tail);
    else parts[parts.length - 1] += tail;
  }
  return parts;
}

/** Splits a JSON argument string into small, uneven pieces, as providers stream them. */
export function splitArguments(json: string, rng: Rng): string[] {
  const parts: string[] = [];
  for (let i = 0; i < json.length; ) {
    const size = rngInt(rng, 3, 8);
    parts.push(json.slice(i, i + size));
    i += size;
  }
  return parts;
}

/** Groups one-token pieces into deltas of one to three tokens. */
function groupPieces(pieces: string[], rng: Rng): TextChunk[] {
  const chunks: TextChunk[] = [];
  for (let i = 0; i < pieces.length; ) {
    const size = Math.min(rngInt(rng, 1, 3), pieces.length - i);
    chunks.push({ text: pieces.slice(i, i + size).join(''), tokens: size });
    i += size;
  }
  return chunks;
}
