/** How budgets rewrite OpenAI requests: another model, or a lower output-token limit. */
import { fieldRewrite } from '../../core/rewrite.js';

/**
 * Chat: lowers `max_tokens` where the caller used it, else sets `max_completion_tokens`
 * (the only one reasoning models accept) unless the caller set `max_completion_tokens`
 * lower already. An OpenAI-compatible server may not know `max_completion_tokens`; the
 * caller's own `max_tokens`, when present, is the field lowered.
 */
export const chatRewrite = fieldRewrite((body) =>
  body.max_tokens !== undefined && body.max_completion_tokens === undefined ? 'max_tokens' : 'max_completion_tokens',
);

export const completionsRewrite = fieldRewrite(() => 'max_tokens');

/** The Responses API refuses `max_output_tokens` below 16. */
export const responsesRewrite = fieldRewrite(() => 'max_output_tokens', 16);
