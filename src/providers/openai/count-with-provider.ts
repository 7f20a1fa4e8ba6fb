/**
 * Exact counting through OpenAI's free `POST /v1/responses/input_tokens` (SDK
 * `responses.inputTokens.count`, openai 6 and later), with the client the request was made
 * with (opt-in `exactCounting: 'provider'`; scheduled by core/provider-count.ts).
 *
 * - Input: the request's own input fields, counted as sent. The endpoint resolves
 *   `previous_response_id`, files and images, which no local rule can.
 * - Received text, by difference: the input with the received text appended as an
 *   assistant message, minus the same input with a one-token probe (`a`) in its place,
 *   plus one: the probe cancels the message's framing without a constant of ours. What
 *   OpenAI bills around the text (a message's end token, tool-call framing) stays the local
 *   rule's.
 * - Chat Completions has no counting endpoint: the request is translated to Responses
 *   items (messages, tool calls and results, function tools, `tool_choice`, the schema,
 *   the reasoning effort) and counted there; the difference between how the two APIs
 *   render a prompt is then added back from the local rules (count-chat-input.ts minus
 *   count-responses-input.ts on the same request): text, images and files are counted by
 *   OpenAI, only the framing comes from the local model. A request that cannot be
 *   translated (legacy `function` messages, audio) is left to the local estimate.
 */
import type { ProviderCountRequest, ProviderCounts } from '../../core/adapter.js';
import { estimateTokens } from '../../core/tokenizer.js';
import { asArray, asDict, asString, isDict, type Dict } from '../../core/values.js';
import type { OpenAIConstants } from './constants.js';
import { countChatInput } from './count-chat-input.js';
import { countResponsesInput } from './count-responses-input.js';
import { openaiEncoding } from './encoding.js';

type Count = (params: Dict, signal: AbortSignal) => Promise<number | undefined>;

/** The fields `responses.inputTokens.count` takes; anything else in a request body is left out. */
const COUNTED_FIELDS = [
  'model',
  'input',
  'instructions',
  'tools',
  'tool_choice',
  'text',
  'reasoning',
  'previous_response_id',
  'conversation',
  'parallel_tool_calls',
  'truncation',
] as const;

/** A Responses request's input and received text, as OpenAI counts them. */
export async function countResponsesWithProvider(resource: unknown, body: Dict, received: ProviderCountRequest, signal: AbortSignal): Promise<ProviderCounts> {
  const count = inputTokenCounter(asDict(resource)?.inputTokens);
  if (!count) return {};
  return countByDifference(count, pick(body), received, signal);
}

/** A Chat Completions request's input and received text, counted as the equivalent Responses request. */
export async function countChatWithProvider(
  resource: unknown,
  body: Dict,
  k: OpenAIConstants,
  received: ProviderCountRequest,
  signal: AbortSignal,
): Promise<ProviderCounts> {
  const client = asDict(asDict(resource)?._client);
  const count = inputTokenCounter(asDict(client?.responses)?.inputTokens);
  const translated = chatAsResponses(body);
  if (!count || !translated) return {};
  // How chat renders the same prompt differently (locally modelled), added back; counted in
  // the tokenizer worker while the provider counts.
  const encoding = openaiEncoding(asString(body.model));
  const [counts, renderingDifference] = await Promise.all([
    countByDifference(count, translated, received, signal),
    received.input ? estimateTokens(encoding, (c) => countChatInput(body, c, k) - countResponsesInput(translated, c, k)) : 0,
  ]);
  if (counts.input === undefined) return counts;
  const input = counts.input + renderingDifference;
  return Number.isInteger(input) && input >= 0 ? { ...counts, input } : { outputText: counts.outputText };
}

/** `inputTokens.count` of this SDK copy, called with our own options: no retries, our signal. */
function inputTokenCounter(resource: unknown): Count | undefined {
  const owner = asDict(resource);
  const method = owner?.count;
  if (typeof method !== 'function') return undefined;
  return async (params, signal) => {
    const response: unknown = await (method as (body: Dict, options: Dict) => Promise<unknown>).call(owner, params, { signal, maxRetries: 0 });
    return plausibleCount(asDict(response)?.input_tokens);
  };
}

/** A count is a whole, non-negative, believable number; anything else makes the whole count fail. */
export function plausibleCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 100_000_000 ? value : undefined;
}

async function countByDifference(count: Count, params: Dict, received: ProviderCountRequest, signal: AbortSignal): Promise<ProviderCounts> {
  const [input, outputText] = await Promise.all([
    received.input ? count(params, signal) : undefined,
    received.output && received.text.length > 0 ? countText(count, params, received.text, signal) : undefined,
  ]);
  return { input, outputText };
}

/** Tokens of `text` as OpenAI counts it: the input with it as an assistant message, against a one-token probe. */
async function countText(count: Count, params: Dict, text: string, signal: AbortSignal): Promise<number | undefined> {
  const answering = (answer: string): Dict => ({ ...params, input: [...inputItems(params.input), { role: 'assistant', content: answer }] });
  const [withAnswer, withProbe] = await Promise.all([count(answering(text), signal), count(answering(PROBE), signal)]);
  if (withAnswer === undefined || withProbe === undefined) return undefined;
  const tokens = withAnswer - withProbe + 1;
  return tokens >= 0 ? tokens : undefined;
}

/** One token in any byte-pair tokenizer: the probe that measures an assistant message's framing. */
const PROBE = 'a';

function pick(body: Dict): Dict {
  const params: Dict = {};
  for (const field of COUNTED_FIELDS) if (body[field] !== undefined) params[field] = body[field];
  return params;
}

function inputItems(input: unknown): unknown[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  return [...asArray(input)];
}

/** A Chat Completions body as the equivalent Responses count request; undefined when it has no equivalent. */
export function chatAsResponses(body: Dict): Dict | undefined {
  const input: unknown[] = [];
  for (const value of asArray(body.messages)) {
    const message = asDict(value);
    if (!message) continue;
    const role = asString(message.role);
    if (role === 'system' || role === 'developer' || role === 'user') {
      const content = responsesContent(message.content, role === 'user');
      if (content === undefined) return undefined;
      input.push({ role, content });
    } else if (role === 'assistant') {
      const text = assistantText(message);
      if (text !== '') input.push({ role: 'assistant', content: text });
      for (const call of asArray(message.tool_calls)) {
        const fn = asDict(asDict(call)?.function);
        if (!fn) continue;
        input.push({
          type: 'function_call',
          call_id: asString(asDict(call)?.id) ?? '',
          name: asString(fn.name) ?? '',
          arguments: asString(fn.arguments) ?? '',
        });
      }
      if (asDict(message.function_call)) return undefined;
    } else if (role === 'tool') {
      const output = typeof message.content === 'string' ? message.content : textOf(message.content);
      input.push({ type: 'function_call_output', call_id: asString(message.tool_call_id) ?? '', output });
    } else return undefined;
  }
  const params: Dict = { model: body.model, input };
  const tools = [...asArray(body.tools).map((tool) => asDict(asDict(tool)?.function)), ...asArray(body.functions).map(asDict)]
    .filter(isDict)
    .map((fn) => ({ type: 'function', ...fn }));
  if (tools.length > 0) params.tools = tools;
  const choice = body.tool_choice ?? body.function_call;
  if (typeof choice === 'string') params.tool_choice = choice;
  else {
    const name = asString(asDict(asDict(choice)?.function)?.name) ?? asString(asDict(choice)?.name);
    if (name !== undefined) params.tool_choice = { type: 'function', name };
  }
  const format = asDict(body.response_format);
  if (format?.type === 'json_schema') params.text = { format: { type: 'json_schema', ...asDict(format.json_schema) } };
  else if (format?.type === 'json_object') params.text = { format: { type: 'json_object' } };
  const effort = asString(body.reasoning_effort);
  if (effort !== undefined) params.reasoning = { effort };
  return params;
}

/** Chat content parts as Responses parts; undefined for parts Responses cannot take (audio). */
function responsesContent(content: unknown, user: boolean): unknown {
  if (typeof content === 'string') return content;
  const parts: unknown[] = [];
  for (const value of asArray(content)) {
    const part = asDict(value);
    if (!part) continue;
    if (part.type === 'text') parts.push({ type: 'input_text', text: asString(part.text) ?? '' });
    else if (part.type === 'image_url' && user) {
      const image = asDict(part.image_url);
      parts.push({ type: 'input_image', image_url: asString(image?.url), detail: asString(image?.detail) ?? 'auto' });
    } else if (part.type === 'file' && user) {
      const file = asDict(part.file);
      parts.push({ type: 'input_file', ...(file ?? {}) });
    } else return undefined;
  }
  return parts;
}

function assistantText(message: Dict): string {
  const refusal = asString(message.refusal);
  const text = typeof message.content === 'string' ? message.content : textOf(message.content);
  return text !== '' ? text : (refusal ?? '');
}

function textOf(content: unknown): string {
  return asArray(content)
    .map((part) => asString(asDict(part)?.text) ?? '')
    .join('');
}
