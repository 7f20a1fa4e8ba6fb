/** How budgets rewrite Anthropic Messages requests: `max_tokens` is required there, so always present. */
import { fieldRewrite } from '../../core/rewrite.js';

export const messagesRewrite = fieldRewrite(() => 'max_tokens');
