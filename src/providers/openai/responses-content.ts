/**
 * OpenAI Responses in the conventions' shape, for opt-in content capture: `instructions`
 * are the system instructions, input items become messages, output items (or, in a
 * stream, their deltas) the output message.
 */
import type { ChatMessage, ContentReader, OutputSink } from '../../core/content.js';
import { parseArguments } from '../../core/content.js';
import { asArray, asDict, asNumber, asString, isDict, type Dict } from '../../core/values.js';
import { contentParts, idOf } from './chat-content.js';

export function responsesContent(body: Dict): ContentReader {
  return {
    input: () => {
      const instructions = asString(body.instructions);
      const messages = typeof body.input === 'string' ? [{ role: 'user', parts: contentParts(body.input) }] : inputItems(body.input);
      return instructions ? { systemInstructions: [{ type: 'text', content: instructions }], messages } : { messages };
    },
    readChunk: (event, output) => {
      if (!isDict(event)) return;
      const index = asNumber(event.output_index) ?? 0;
      switch (event.type) {
        case 'response.output_text.delta':
        case 'response.refusal.delta':
          output.text(0, asString(event.delta) ?? '');
          break;
        case 'response.reasoning_summary_text.delta':
        case 'response.reasoning_text.delta':
          output.reasoning(0, asString(event.delta) ?? '');
          break;
        case 'response.output_item.added': {
          const item = asDict(event.item);
          if (item?.type === 'function_call') output.toolCall(0, index, { id: asString(item.call_id), name: asString(item.name) });
          break;
        }
        case 'response.function_call_arguments.delta':
          output.toolCall(0, index, { argumentsText: asString(event.delta) });
          break;
        case 'response.completed':
        case 'response.incomplete':
        case 'response.failed':
          output.finishReason(0, finishReason(asDict(event.response)));
          break;
        default:
          break;
      }
    },
    readResponse: (response, output) => {
      const body = asDict(response);
      asArray(body?.output).forEach((item, index) => {
        if (isDict(item)) readOutputItem(item, index, output);
      });
      if (body) output.finishReason(0, finishReason(body));
    },
  };
}

function readOutputItem(item: Dict, index: number, output: OutputSink): void {
  if (item.type === 'message') {
    for (const part of contentParts(item.content)) if (part.type === 'text') output.text(0, part.content);
  } else if (item.type === 'function_call') {
    output.toolCall(0, index, { id: asString(item.call_id), name: asString(item.name), argumentsText: asString(item.arguments) });
  } else if (item.type === 'reasoning') {
    for (const summary of asArray(item.summary)) {
      const text = asString(asDict(summary)?.text);
      if (text) output.reasoning(0, text);
    }
  }
}

function inputItems(input: unknown): ChatMessage[] {
  const messages: ChatMessage[] = [];
  for (const entry of asArray(input)) {
    const item = asDict(entry);
    if (!item) continue;
    if (item.type === 'function_call') {
      const args = asString(item.arguments);
      messages.push({
        role: 'assistant',
        parts: [{ type: 'tool_call', ...idOf(item.call_id), name: asString(item.name) ?? '', ...(args ? { arguments: parseArguments(args) } : {}) }],
      });
    } else if (item.type === 'function_call_output') {
      messages.push({ role: 'tool', parts: [{ type: 'tool_call_response', ...idOf(item.call_id), response: item.output }] });
    } else if (item.type === undefined || item.type === 'message') {
      messages.push({ role: asString(item.role) ?? 'user', parts: contentParts(item.content) });
    }
  }
  return messages;
}

function finishReason(response: Dict | undefined): string {
  switch (response?.status) {
    case 'completed':
      return 'stop';
    case 'incomplete':
      return asString(asDict(response.incomplete_details)?.reason) ?? 'length';
    case 'failed':
      return 'error';
    default:
      return asString(response?.status) ?? 'unknown';
  }
}
