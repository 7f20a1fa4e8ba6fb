/**
 * Exact counting through Anthropic's free `POST /v1/messages/count_tokens` (SDK
 * `messages.countTokens`, and its beta twin), with the client the request was made with
 * (opt-in `exactCounting: 'provider'`; scheduled by core/provider-count.ts). Claude's
 * tokenizer is not public, so this is the only exact figure there is.
 *
 * - Input: the request's own counted fields, as sent.
 * - Received text, by difference: the request with the received text appended as an
 *   assistant turn, minus the request, minus that turn's framing (the local per-message
 *   constant; 0 when the text extends an assistant turn the request already ends with).
 *   The difference is taken without extended thinking and without a forcing `tool_choice`
 *   (both change only the instructions, which cancel out, and the API refuses an assistant
 *   turn beside them). Anthropic refuses trailing whitespace at the end of an assistant
 *   turn: it is cut off and counted as one token.
 */
import type { ProviderCountRequest, ProviderCounts } from '../../core/adapter.js';
import { asArray, asDict, asString, type Dict } from '../../core/values.js';
import type { AnthropicConstants } from './constants.js';

type Count = (params: Dict, signal: AbortSignal) => Promise<number | undefined>;

/** The fields `messages.countTokens` takes (beta included); anything else in a request body is left out. */
const COUNTED_FIELDS = [
  'model',
  'messages',
  'system',
  'tools',
  'tool_choice',
  'thinking',
  'output_config',
  'output_format',
  'mcp_servers',
  'context_management',
  'betas',
] as const;

export async function countMessagesWithProvider(
  resource: unknown,
  body: Dict,
  k: AnthropicConstants,
  request: ProviderCountRequest,
  signal: AbortSignal,
): Promise<ProviderCounts> {
  const count = tokenCounter(resource);
  if (!count) return {};
  const params: Dict = {};
  for (const field of COUNTED_FIELDS) if (body[field] !== undefined) params[field] = body[field];
  const input = request.input ? await count(params, signal) : undefined;
  const text = request.text.trimEnd();
  if (!request.output || text.length === 0) return { input };

  const { thinking: _thinking, ...plain } = params;
  const choice = asString(asDict(params.tool_choice)?.type);
  if (choice === 'any' || choice === 'tool') delete plain.tool_choice;
  const sameAsInput = params.thinking === undefined && plain.tool_choice === params.tool_choice;
  const base = sameAsInput && input !== undefined ? input : await count(plain, signal);
  const messages = [...asArray(plain.messages)];
  const last = asDict(messages.at(-1));
  let framing = k['anthropic.input.per_message'];
  if (last?.role === 'assistant') {
    // Extends the assistant turn the request ends with (a prefill): no new turn.
    const content = typeof last.content === 'string' ? [{ type: 'text', text: last.content }] : [...asArray(last.content)];
    messages[messages.length - 1] = { ...last, content: [...content, { type: 'text', text }] };
    framing = 0;
  } else messages.push({ role: 'assistant', content: [{ type: 'text', text }] });
  const withAnswer = await count({ ...plain, messages }, signal);
  if (base === undefined || withAnswer === undefined) return { input };
  const trailing = request.text.length > text.length ? 1 : 0;
  const outputText = withAnswer - base - framing + trailing;
  return { input, outputText: outputText >= 0 ? outputText : undefined };
}

/** `countTokens` of the resource the request was made with (Messages or beta Messages), with our own options. */
function tokenCounter(resource: unknown): Count | undefined {
  const owner = asDict(resource);
  const method = owner?.countTokens;
  if (typeof method !== 'function') return undefined;
  return async (params, signal) => {
    const response: unknown = await (method as (body: Dict, options: Dict) => Promise<unknown>).call(owner, params, { signal, maxRetries: 0 });
    const tokens = asDict(response)?.input_tokens;
    return typeof tokens === 'number' ? tokens : undefined;
  };
}
