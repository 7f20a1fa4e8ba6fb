/**
 * Exact counting through Anthropic's free `POST /v1/messages/count_tokens` (SDK
 * `messages.countTokens`, and its beta twin), with the client the request was made with
 * (opt-in `exactCounting: 'provider'`; scheduled by core/provider-count.ts). Claude's
 * tokenizer is not public, so this is the only exact figure there is.
 *
 * - Input: the request's own counted fields, as sent.
 * - Received text, by difference: the request with the received text appended as an
 *   assistant turn, minus the same request with a one-token probe (`a`) in its place, plus
 *   one. The probe cancels the turn's framing, whatever the provider makes it, without a
 *   constant of ours. The difference is taken without extended thinking and without a
 *   forcing `tool_choice` (both change only the instructions, which cancel out, and the API
 *   refuses an assistant turn beside them). Anthropic refuses trailing whitespace at the
 *   end of an assistant turn: it is cut off and counted as one token.
 * What Claude bills around a turn (its end, tool-call framing) stays the local rule's.
 */
import type { ProviderCountRequest, ProviderCounts } from '../../core/adapter.js';
import { asArray, asDict, asString, type Dict } from '../../core/values.js';

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

export async function countMessagesWithProvider(resource: unknown, body: Dict, request: ProviderCountRequest, signal: AbortSignal): Promise<ProviderCounts> {
  const count = tokenCounter(resource);
  if (!count) return {};
  const params: Dict = {};
  for (const field of COUNTED_FIELDS) if (body[field] !== undefined) params[field] = body[field];
  const text = request.text.trimEnd();
  const [input, outputText] = await Promise.all([
    request.input ? count(params, signal) : undefined,
    request.output && text.length > 0 ? countText(count, params, text, signal) : undefined,
  ]);
  const trailing = request.text.length > text.length ? 1 : 0;
  return { input, outputText: outputText === undefined ? undefined : outputText + trailing };
}

/** Tokens of `text` as Claude counts it: the request with it as an assistant turn, against a one-token probe. */
async function countText(count: Count, params: Dict, text: string, signal: AbortSignal): Promise<number | undefined> {
  const { thinking: _thinking, ...plain } = params;
  const choice = asString(asDict(params.tool_choice)?.type);
  if (choice === 'any' || choice === 'tool') delete plain.tool_choice;
  const answering = (answer: string): Dict => {
    const messages = [...asArray(plain.messages)];
    const last = asDict(messages.at(-1));
    if (last?.role === 'assistant') {
      // Extends the assistant turn the request ends with (a prefill).
      const content = typeof last.content === 'string' ? [{ type: 'text', text: last.content }] : [...asArray(last.content)];
      messages[messages.length - 1] = { ...last, content: [...content, { type: 'text', text: answer }] };
    } else messages.push({ role: 'assistant', content: [{ type: 'text', text: answer }] });
    return { ...plain, messages };
  };
  const [withAnswer, withProbe] = await Promise.all([count(answering(text), signal), count(answering(PROBE), signal)]);
  if (withAnswer === undefined || withProbe === undefined) return undefined;
  const tokens = withAnswer - withProbe + 1;
  return tokens >= 0 ? tokens : undefined;
}

/** One token in any byte-pair tokenizer: the probe that measures an assistant turn's framing. */
const PROBE = 'a';

/** `countTokens` of the resource the request was made with (Messages or beta Messages), with our own options. */
function tokenCounter(resource: unknown): Count | undefined {
  const owner = asDict(resource);
  const method = owner?.countTokens;
  if (typeof method !== 'function') return undefined;
  return async (params, signal) => {
    const response: unknown = await (method as (body: Dict, options: Dict) => Promise<unknown>).call(owner, params, { signal, maxRetries: 0 });
    const tokens = asDict(response)?.input_tokens;
    // A whole, non-negative, believable number; anything else makes the whole count fail.
    return typeof tokens === 'number' && Number.isInteger(tokens) && tokens >= 0 && tokens <= 100_000_000 ? tokens : undefined;
  };
}
