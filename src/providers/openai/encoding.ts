import { boundedMemo } from '../../core/bounded-memo.js';
import type { EncodingName } from '../../core/tokenizer.js';

/**
 * The tokenizer OpenAI uses for a model: cl100k for the gpt-4 and gpt-3.5 families and the
 * older embeddings, o200k for everything since gpt-4o (4o, 4.1, 4.5, 5, o-series) and for
 * unknown future models.
 */
export function openaiEncoding(model: string | undefined): EncodingName {
  return encodingByModel(model ?? '');
}

/** Worked out once per model name (a few regular expressions). */
const encodingByModel = boundedMemo(encodingOf, 256);

function encodingOf(model: string): EncodingName {
  const id = model.toLowerCase().replace(/^ft:/, '');
  if (/^gpt-4(?!o|\.)/.test(id) || id.startsWith('gpt-3.5') || id.startsWith('gpt-35')) return 'cl100k_base';
  if (id.startsWith('text-embedding-') || id.startsWith('davinci-002') || id.startsWith('babbage-002')) {
    return 'cl100k_base';
  }
  return 'o200k_base';
}
