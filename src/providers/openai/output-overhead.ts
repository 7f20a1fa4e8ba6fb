/**
 * Output tokens OpenAI counts beyond the text a client receives, measured on the dev
 * recordings (docs/accuracy.md). Each constant is the residual that the recordings show
 * for one situation, identical across their models and repositories:
 *
 * - a tool call: its framing, 7 tokens; parallel calls 7 each plus a wrapper (14, Responses 16); a
 *   legacy `function_call`, 4; a call of the function the request forces (`tool_choice`
 *   naming it), none, and not its name either: the API writes both itself;
 * - a Responses message: its end token (1), which a message cut at `max_output_tokens`
 *   never generated; Chat Completions does not bill it;
 * - a text answer when the request offers tools: 1 more, and 4 more again when it must
 *   also follow a `json_schema` format;
 * - a refusal: 1;
 * - reasoning models: a constant on the visible answer (chat 9, Responses 6).
 */
import { asArray, asDict } from '../../core/values.js';
import { isReasoningFormat } from './count-tools.js';

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
  /** Chat: choices that carried text; Responses: message items (a refusal is one too). */
  readonly textMessages: number;
  readonly refusals: number;
  /** The last message was cut at the output token limit (Responses `incomplete`). */
  readonly truncated?: boolean;
}

const TOKENS_PER_TOOL_CALL = 7;
const TOKENS_PER_LEGACY_FUNCTION_CALL = 4;
/** Around parallel calls: chat 14 (18 of 27 two-call records exact), Responses 16 (16 of 17 within a token). */
const PARALLEL_CALLS_WRAPPER = { chat: 14, responses: 16 } as const;
const TEXT_BESIDE_TOOLS = 1;
const SCHEMA_BESIDE_TOOLS = 4;
const TOKENS_PER_REFUSAL = 1;

/** The framing of `calls` tool calls made together; earlier calls in a prompt cost the same (count-chat-input.ts). */
export function toolCallFraming(calls: number, api: 'chat' | 'responses'): number {
  if (calls === 0) return 0;
  return calls === 1 ? TOKENS_PER_TOOL_CALL : TOKENS_PER_TOOL_CALL * calls + PARALLEL_CALLS_WRAPPER[api];
}

/** The framing of text answers that is the same for both APIs. */
function textFraming(request: RequestShape, answer: AnswerShape): number {
  const besideTools = request.tools ? TEXT_BESIDE_TOOLS + (request.jsonSchema ? SCHEMA_BESIDE_TOOLS : 0) : 0;
  return besideTools * answer.textMessages + TOKENS_PER_REFUSAL * answer.refusals;
}

export function chatOutputOverhead(model: string | undefined, request: RequestShape, answer: AnswerShape): number {
  const calls = toolCallFraming(answer.toolCalls, 'chat') + TOKENS_PER_LEGACY_FUNCTION_CALL * (answer.legacyFunctionCalls ?? 0);
  if (isReasoningFormat(model)) return 9 + calls;
  return textFraming(request, answer) + calls;
}

export function responsesOutputOverhead(model: string | undefined, request: RequestShape, answer: AnswerShape): number {
  if (isReasoningFormat(model)) return 6 + toolCallFraming(answer.toolCalls, 'responses');
  // One end token per message, at least one per response (a response of tool calls only ends too).
  const ends = Math.max(1, answer.textMessages) - (answer.truncated ? 1 : 0);
  return ends + textFraming(request, answer) + toolCallFraming(answer.toolCalls, 'responses');
}

/** `tools` offered, and a `json_schema` format asked for (chat `response_format`, Responses `text.format`). */
export function requestShape(tools: unknown, format: unknown): RequestShape {
  return { tools: asArray(tools).length > 0, jsonSchema: asDict(format)?.type === 'json_schema' };
}
