/**
 * Output tokens OpenAI counts beyond the text a client receives, measured on the dev
 * recordings (docs/accuracy.md): the framing of tool calls (one call: 7 tokens;
 * parallel calls: 7 each plus 14 for the wrapper),
 * one token per Responses output, and the constant reasoning models add to the visible
 * answer (chat 9, Responses 6).
 */
import { isReasoningFormat } from './count-tools.js';

function toolCallOverhead(calls: number): number {
  if (calls === 0) return 0;
  return calls === 1 ? 7 : 7 * calls + 14;
}

export function chatOutputOverhead(model: string | undefined, toolCalls: number): number {
  return (isReasoningFormat(model) ? 9 : 0) + toolCallOverhead(toolCalls);
}

export function responsesOutputOverhead(model: string | undefined, toolCalls: number): number {
  return (isReasoningFormat(model) ? 6 : 1) + toolCallOverhead(toolCalls);
}
