/**
 * Claude's thinking that is billed but not streamed. Anthropic's documentation (extended
 * thinking, "Differences in thinking across model versions"): Claude 3.7 Sonnet returns
 * its full thinking; Claude 4 and later models return a summary of it, while `budget_tokens`
 * and the bill count the full thinking tokens; with `display: 'omitted'` the thinking block
 * comes back empty (its signature only) and is billed all the same. The newer API reports the
 * full count as `usage.output_tokens_details.thinking_tokens`; a stream cut short never gets
 * that far, so what the summary left out is estimated:
 *
 * - thinking not asked for (`thinking.type` `enabled` or `adaptive`), or a model that returns
 *   it in full: nothing hidden;
 * - an answer block (text, a tool call) arrived before any thinking block: the model did not
 *   think (thinking always comes first; adaptive thinking may skip it);
 * - a summary arrived: hidden tokens are a share of the summary's, learned per model family
 *   (starting from the fitted `anthropic.output.thinking.summarized_share`; on the dev
 *   recordings thinking of up to ~440 o200k tokens came back unabridged and longer thinking
 *   came back at 1.2–2 times fewer tokens than billed);
 * - a thinking block that arrived empty, or `display: 'omitted'` asked for before any arrived:
 *   all of it is hidden, a typical count per response, learned (nothing to start from: 0).
 */
import type { ReasoningExpectation } from '../../core/adapter.js';
import { asDict, asString, type Dict } from '../../core/values.js';
import { claudeGeneration, type AnthropicConstants } from './constants.js';

/** What a reader saw of a response's thinking. */
export interface ThinkingEvidence {
  /** Thinking blocks started (`thinking` and `redacted_thinking`). */
  readonly thinkingBlocks: number;
  /** Characters of thinking text received. */
  readonly thinkingChars: number;
  /** Redacted thinking blocks (encrypted: nothing of them is readable). */
  readonly redactedBlocks: number;
  /** An answer block (text or a tool call) started before any thinking block. */
  readonly answeredFirst: boolean;
}

const NONE: ReasoningExpectation = { kind: 'none' };

/** Whether the request asks Claude to think. */
export function thinkingRequested(body: Dict): boolean {
  const type = asString(asDict(body.thinking)?.type);
  return type === 'enabled' || type === 'adaptive';
}

/**
 * Whether the model streams a summary of its thinking rather than all of it: Claude 4 and
 * later. Claude 3.7 Sonnet returns it in full; older models do not think. A Claude model
 * this code does not know (a newer family name) is taken to be a later one.
 */
export function summarizesThinking(model: string | undefined): boolean {
  const generation = claudeGeneration(model);
  if (generation !== undefined) return generation === 'claude-4';
  const id = (model ?? '').toLowerCase();
  return id.includes('claude') && !/claude-(instant|[1-3])/.test(id);
}

export function thinkingExpectation(body: Dict, evidence: ThinkingEvidence, k: AnthropicConstants): ReasoningExpectation {
  if (!thinkingRequested(body) || !summarizesThinking(asString(body.model))) return NONE;
  if (evidence.answeredFirst && evidence.thinkingBlocks === 0) return NONE;
  const omitted = asString(asDict(body.thinking)?.display) === 'omitted';
  const nothingShown = evidence.thinkingBlocks > 0 ? evidence.thinkingChars === 0 || evidence.redactedBlocks === evidence.thinkingBlocks : omitted;
  if (nothingShown) return { kind: 'typical', defaultTokens: 0, learnFrom: 'residual' };
  return { kind: 'summarized', defaultShare: k['anthropic.output.thinking.summarized_share'], summaryChars: evidence.thinkingChars };
}
