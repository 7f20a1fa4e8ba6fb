/**
 * Anthropic Messages in the conventions' shape, for opt-in content capture: `system` is
 * the system instructions, content blocks become parts (tool uses and results included),
 * images and documents are named by kind only.
 */
import type { ChatMessage, ContentReader, MessagePart, OutputSink } from '../../core/content.js';
import { asArray, asDict, asNumber, asString, isDict, type Dict } from '../../core/values.js';

export function messagesContent(body: Dict): ContentReader {
  return {
    input: () => {
      const system = blockParts(typeof body.system === 'string' ? [{ type: 'text', text: body.system }] : body.system);
      const messages = asArray(body.messages)
        .filter(isDict)
        .map(
          (message): ChatMessage => ({
            role: asString(message.role) ?? 'user',
            parts: blockParts(typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content),
          }),
        );
      return system.length > 0 ? { systemInstructions: system, messages } : { messages };
    },
    readChunk: (event, output) => {
      if (!isDict(event)) return;
      const index = asNumber(event.index) ?? 0;
      switch (event.type) {
        case 'content_block_start': {
          const block = asDict(event.content_block);
          if (block?.type === 'tool_use' || block?.type === 'server_tool_use') {
            output.toolCall(0, index, { id: asString(block.id), name: asString(block.name) });
          } else if (block) readBlock(block, index, output);
          break;
        }
        case 'content_block_delta': {
          const delta = asDict(event.delta);
          if (delta?.type === 'text_delta') output.text(0, asString(delta.text) ?? '');
          else if (delta?.type === 'thinking_delta') output.reasoning(0, asString(delta.thinking) ?? '');
          else if (delta?.type === 'input_json_delta') output.toolCall(0, index, { argumentsText: asString(delta.partial_json) });
          break;
        }
        case 'message_delta': {
          const reason = asString(asDict(event.delta)?.stop_reason);
          if (reason) output.finishReason(0, reason);
          break;
        }
        default:
          break;
      }
    },
    readResponse: (response, output) => {
      const message = asDict(response);
      asArray(message?.content).forEach((block, index) => {
        if (isDict(block)) readBlock(block, index, output);
      });
      const reason = asString(message?.stop_reason);
      if (reason) output.finishReason(0, reason);
    },
  };
}

/** One whole output block (a response's, or a stream's `content_block_start`). */
function readBlock(block: Dict, index: number, output: OutputSink): void {
  switch (block.type) {
    case 'text':
      if (asString(block.text)) output.text(0, asString(block.text) ?? '');
      break;
    case 'thinking':
      if (asString(block.thinking)) output.reasoning(0, asString(block.thinking) ?? '');
      break;
    case 'tool_use':
    case 'server_tool_use':
      output.toolCall(0, index, {
        id: asString(block.id),
        name: asString(block.name),
        argumentsText: block.input === undefined ? undefined : JSON.stringify(block.input),
      });
      break;
    default:
      break;
  }
}

/** Input content blocks as parts. */
function blockParts(blocks: unknown): MessagePart[] {
  const parts: MessagePart[] = [];
  for (const item of asArray(blocks)) {
    const block = asDict(item);
    if (!block) continue;
    switch (block.type) {
      case 'text':
        parts.push({ type: 'text', content: asString(block.text) ?? '' });
        break;
      case 'thinking':
        parts.push({ type: 'reasoning', content: asString(block.thinking) ?? '' });
        break;
      case 'tool_use':
        parts.push({ type: 'tool_call', ...idOf(block.id), name: asString(block.name) ?? '', arguments: block.input });
        break;
      case 'tool_result':
        parts.push({ type: 'tool_call_response', ...idOf(block.tool_use_id), response: resultText(block.content) });
        break;
      case 'image':
        parts.push({ type: 'blob', modality: 'image', ...mimeOf(block.source) });
        break;
      case 'document':
        parts.push({ type: 'file', modality: 'document', ...mimeOf(block.source) });
        break;
      default:
        break;
    }
  }
  return parts;
}

function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  return blockParts(content)
    .map((part) => (part.type === 'text' ? part.content : ''))
    .join('');
}

function idOf(value: unknown): { id?: string } {
  const id = asString(value);
  return id ? { id } : {};
}

function mimeOf(source: unknown): { mime_type?: string } {
  const mime = asString(asDict(source)?.media_type);
  return mime ? { mime_type: mime } : {};
}
