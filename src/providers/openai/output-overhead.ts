/**
 * Output tokens OpenAI counts beyond the text a client receives: residuals the recordings
 * show for one situation each, across models and repositories (fitted, constants.ts;
 * docs/accuracy.md):
 *
 * - a tool call: its framing; parallel calls each plus a wrapper; a call of the function
 *   the request forces (`tool_choice` naming it), none, and not its name either: the API
 *   writes both itself;
 * - chat: the framing is the answering model's, not the API shape's. A model from before
 *   parallel tool calls (which came with the 1106 models: gpt-4 / gpt-4-0613, gpt-3.5-turbo-0613
 *   and older) frames every call as a legacy `function_call`, `tool_calls` included; a later
 *   model frames a legacy `function_call` answer like any tool call (dev recordings: the 8
 *   gpt-4-0613 `tool_calls` answers of two sources ran 3 tokens over, the 4 gpt-3.5-turbo-0125
 *   `function_call` answers 3 to 4 under, each exact or within 1 once framed by its model);
 * - a Responses message: its end token, which a message cut at `max_output_tokens` never
 *   generated; Chat Completions does not bill it;
 * - a text answer when the request offers tools, and more when it must also follow a
 *   `json_schema` format;
 * - a refusal;
 * - reasoning models: a constant on the visible answer.
 */
import { asArray, asDict } from '../../core/values.js';
import type { OpenAIConstants } from './constants.js';
import { isReasoningFormat } from './reasoning.js';

/** What the request asked for that changes the answer's framing. */
export interface RequestShape {
  readonly tools: boolean;
  readonly jsonSchema: boolean;
}

/** What was received, as counts. */
export interface AnswerShape {
  /** Tool calls the model chose to make. */
  readonly toolCalls: number;
  /** Calls of the function the request forced (`tool_choice` naming it): the API writes their name and framing itself. */
  readonly forcedCalls?: number;
  /** Chat only: legacy `function_call` answers (the older `functions` API). */
  readonly legacyFunctionCalls?: number;
  /** Chat only: the answering model predates parallel tool calls, so frames every call as a legacy `function_call`. */
  readonly legacyCallFormat?: boolean;
  /** Chat: choices that carried text; Responses: message items (a refusal is one too). */
  readonly textMessages: number;
  readonly refusals: number;
  /** The last message was cut at the output token limit (Responses `incomplete`). */
  readonly truncated?: boolean;
}

/** The framing of `calls` tool calls made together; earlier calls in a prompt cost the same (count-chat-input.ts). */
export function toolCallFraming(calls: number, api: 'chat' | 'responses', k: OpenAIConstants): number {
  if (calls === 0) return 0;
  if (calls === 1) return k['openai.output.tool_call'];
  const wrapper = api === 'chat' ? k['openai.output.parallel_calls'] : k['openai.output.parallel_calls.responses'];
  return k['openai.output.tool_call'] * calls + wrapper;
}

/** The framing of text answers that is the same for both APIs. */
function textFraming(request: RequestShape, answer: AnswerShape, k: OpenAIConstants): number {
  const besideTools = request.tools ? k['openai.output.text_beside_tools'] + (request.jsonSchema ? k['openai.output.text_beside_tools_and_schema'] : 0) : 0;
  return besideTools * answer.textMessages + k['openai.output.refusal'] * answer.refusals;
}

/**
 * Models from before parallel tool calls, which OpenAI introduced with gpt-4-1106-preview and
 * gpt-3.5-turbo-1106: gpt-4 (the alias still names gpt-4-0613), gpt-4-0314, gpt-4-0613, the
 * 32k variants, gpt-3.5-turbo-0301, -0613 and -16k; fine-tunes of them too (`ft:` ids).
 * The `gpt-3.5-turbo` alias names 0125 since February 2024: a response's own model says which.
 */
export function predatesParallelCalls(model: string | undefined): boolean {
  const id = (model ?? '').toLowerCase().replace(/^ft:/, '');
  return /^gpt-4(-0314|-0613|-32k(-0314|-0613)?)?(:|$)/.test(id) || /^gpt-3\.5-turbo-(0301|0613|16k(-0613)?)(:|$)/.test(id);
}

export function chatOutputOverhead(model: string | undefined, request: RequestShape, answer: AnswerShape, k: OpenAIConstants): number {
  const legacy = answer.legacyFunctionCalls ?? 0;
  const calls = answer.legacyCallFormat
    ? k['openai.output.legacy_function_call'] * (answer.toolCalls + legacy)
    : toolCallFraming(answer.toolCalls, 'chat', k) + k['openai.output.tool_call'] * legacy;
  if (isReasoningFormat(model)) return k['openai.output.reasoning_format'] + calls;
  return textFraming(request, answer, k) + calls;
}

export function responsesOutputOverhead(model: string | undefined, request: RequestShape, answer: AnswerShape, k: OpenAIConstants): number {
  const calls = toolCallFraming(answer.toolCalls, 'responses', k);
  if (isReasoningFormat(model)) return k['openai.output.reasoning_format.responses'] + calls;
  // One end token per message, at least one per response (a response of tool calls only ends too).
  const ends = Math.max(1, answer.textMessages) - (answer.truncated ? 1 : 0);
  return ends * k['openai.output.responses.message_end'] + textFraming(request, answer, k) + calls;
}

/** `tools` offered, and a `json_schema` format asked for (chat `response_format`, Responses `text.format`). */
export function requestShape(tools: unknown, format: unknown): RequestShape {
  return { tools: asArray(tools).length > 0, jsonSchema: asDict(format)?.type === 'json_schema' };
}
