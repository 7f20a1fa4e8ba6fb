/**
 * Which OpenAI models think before answering, how hard by default, and what a response
 * shows about it. Hidden reasoning tokens are billed as output and never streamed; the
 * estimator guesses them only where reasoning may have happened (core/usage.ts):
 *
 * - not a reasoning model (gpt-4o, gpt-4.1, gpt-5-chat…): none;
 * - effort `none` ("does not perform reasoning", OpenAI API reference): none;
 * - no effort asked, on a model whose default effort is `none`: the API reference gives
 *   `none` as gpt-5.1's default and `medium` for every model before it (and `high`, the
 *   only value, for gpt-5-pro); the gpt-5.x models after 5.1 keep `none` (their model
 *   pages); codex and pro variants reason by default;
 * - a Responses answer whose output items arrived without a `reasoning` item: none (every
 *   dev Responses record without one reports 0 reasoning tokens; every reasoning-model
 *   record has one, even when it reports 0);
 * - effort `minimal`: typically none (the 4 dev records that ask for it report 0), learned;
 * - otherwise a typical count, learned per model family and effort from what this
 *   process sees reported, zeros included.
 */
import type { ReasoningExpectation } from '../../core/adapter.js';
import { asDict, asString, isDict } from '../../core/values.js';

/** gpt-5 and o-series models read prompts in a newer chat format (see the counting modules). */
export const isReasoningFormat = (model: string | undefined): boolean => /^(gpt-5|o[1-9])/.test(model ?? '');

/** Models that think before answering, whose output includes hidden reasoning tokens. */
export function isReasoningModel(model: string | undefined): boolean {
  const id = (model ?? '').toLowerCase();
  return /^(o[1-9]|gpt-5)/.test(id) && !id.includes('-chat');
}

/** The effort a model uses when the request names none. */
export function defaultEffort(model: string | undefined): string | undefined {
  const id = (model ?? '').toLowerCase();
  if (!isReasoningModel(id)) return undefined;
  if (/-pro(\b|-|$)/.test(id)) return 'high';
  // gpt-5.1 and later (gpt-5.1, 5.2, 5.4, their mini and nano): `none`, except codex.
  if (/^gpt-5\.[1-9]/.test(id) && !id.includes('codex')) return 'none';
  return 'medium';
}

/** The reasoning effort a request asked for (`reasoning_effort` on chat, `reasoning.effort` on Responses). */
export function requestedEffort(body: unknown): string | undefined {
  if (!isDict(body)) return undefined;
  return asString(body.reasoning_effort) ?? asString(asDict(body.reasoning)?.effort);
}

/** The effort a request runs with: the one asked for, else the model's default. */
export function effectiveEffort(model: string | undefined, body: unknown): string | undefined {
  return isReasoningModel(model) ? (requestedEffort(body) ?? defaultEffort(model)) : undefined;
}

/** What a reader saw of a response's output items (Responses only; chat shows nothing). */
export interface ReasoningEvidence {
  /** Output items (messages, calls, reasoning) seen so far. */
  readonly outputItems: number;
  readonly reasoningItems: number;
}

export const NO_REASONING: ReasoningExpectation = { kind: 'none' };

/**
 * Hidden reasoning to expect for a request (`body` to `model`), given what the reader saw.
 * An effort of `none` the request asks for is a fact; a default of `none` is what the
 * documentation says, so it starts at 0 but is learned like any other family.
 */
export function reasoningExpectation(model: string | undefined, body: unknown, typicalTokens: number, evidence?: ReasoningEvidence): ReasoningExpectation {
  if (!isReasoningModel(model)) return NO_REASONING;
  const requested = requestedEffort(body);
  if (requested === 'none') return NO_REASONING;
  // The reasoning item comes first: once another item arrived without it, there was none.
  if (evidence && evidence.outputItems > 0 && evidence.reasoningItems === 0) return NO_REASONING;
  const effort = requested ?? defaultEffort(model);
  return { kind: 'typical', defaultTokens: effort === 'minimal' || effort === 'none' ? 0 : typicalTokens };
}
