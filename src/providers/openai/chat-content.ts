/**
 * OpenAI Chat Completions and legacy Completions messages in the conventions' shape, for
 * opt-in content capture. Images, audio and files are named by kind only: their bytes (and
 * URLs, which may be signed) are never captured.
 */
import type { ChatMessage, ContentReader, MessagePart, OutputSink } from '../../core/content.js';
import { parseArguments } from '../../core/content.js';
import { asArray, asDict, asNumber, asString, isDict, type Dict } from '../../core/values.js';

export function chatContent(body: Dict): ContentReader {
  return {
    input: () => ({ messages: asArray(body.messages).filter(isDict).map(chatMessage) }),
    readChunk: (chunk, output) => {
      for (const choice of asArray(asDict(chunk)?.choices)) {
        if (!isDict(choice)) continue;
        const index = asNumber(choice.index) ?? 0;
        const delta = asDict(choice.delta);
        if (delta) readChatMessage(delta, index, output);
        const reason = asString(choice.finish_reason);
        if (reason) output.finishReason(index, reason);
      }
    },
    readResponse: (response, output) => {
      asArray(asDict(response)?.choices).forEach((choice, position) => {
        if (!isDict(choice)) return;
        const index = asNumber(choice.index) ?? position;
        const message = asDict(choice.message);
        if (message) readChatMessage(message, index, output);
        const reason = asString(choice.finish_reason);
        if (reason) output.finishReason(index, reason);
      });
    },
  };
}

function chatMessage(message: Dict): ChatMessage {
  const role = asString(message.role) ?? 'user';
  const parts: MessagePart[] = [];
  if (role === 'tool' || role === 'function') {
    parts.push({ type: 'tool_call_response', ...idOf(message.tool_call_id), response: contentText(message.content) });
    return { role: 'tool', parts };
  }
  parts.push(...contentParts(message.content));
  const refusal = asString(message.refusal);
  if (refusal) parts.push({ type: 'text', content: refusal });
  for (const call of asArray(message.tool_calls)) {
    const fn = asDict(asDict(call)?.function);
    if (!fn) continue;
    const args = asString(fn.arguments);
    parts.push({
      type: 'tool_call',
      ...idOf(asDict(call)?.id),
      name: asString(fn.name) ?? '',
      ...(args !== undefined ? { arguments: parseArguments(args) } : {}),
    });
  }
  const name = asString(message.name);
  return name ? { role, parts, name } : { role, parts };
}

function readChatMessage(message: Dict, index: number, output: OutputSink): void {
  const content = asString(message.content);
  if (content) output.text(index, content);
  const refusal = asString(message.refusal);
  if (refusal) output.text(index, refusal);
  asArray(message.tool_calls).forEach((call, position) => {
    if (!isDict(call)) return;
    const fn = asDict(call.function);
    output.toolCall(index, asNumber(call.index) ?? position, {
      id: asString(call.id),
      name: asString(fn?.name),
      argumentsText: asString(fn?.arguments),
    });
  });
}

/** A message's `content`: a string, or an array of typed parts. */
export function contentParts(content: unknown): MessagePart[] {
  if (typeof content === 'string') return content.length > 0 ? [{ type: 'text', content }] : [];
  const parts: MessagePart[] = [];
  for (const item of asArray(content)) {
    const part = asDict(item);
    if (!part) continue;
    switch (part.type) {
      case 'text':
      case 'input_text':
      case 'output_text':
        parts.push({ type: 'text', content: asString(part.text) ?? '' });
        break;
      case 'refusal':
        parts.push({ type: 'text', content: asString(part.refusal) ?? '' });
        break;
      case 'image_url':
      case 'input_image':
        parts.push({ type: 'uri', modality: 'image' });
        break;
      case 'input_audio':
        parts.push({ type: 'blob', modality: 'audio' });
        break;
      case 'file':
      case 'input_file':
        parts.push({ type: 'file', modality: 'file' });
        break;
      default:
        break;
    }
  }
  return parts;
}

/** The text of a tool result's `content`. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  return contentParts(content)
    .map((part) => (part.type === 'text' ? part.content : ''))
    .join('');
}

export function idOf(value: unknown): { id?: string } {
  const id = asString(value);
  return id ? { id } : {};
}

/** Legacy Completions: the prompt as one user message, each choice's text as output. */
export function completionContent(body: Dict): ContentReader {
  const readChoices = (value: unknown, output: OutputSink) => {
    asArray(asDict(value)?.choices).forEach((choice, position) => {
      if (!isDict(choice)) return;
      const index = asNumber(choice.index) ?? position;
      const text = asString(choice.text);
      if (text) output.text(index, text);
      const reason = asString(choice.finish_reason);
      if (reason) output.finishReason(index, reason);
    });
  };
  return {
    input: () => {
      const prompts = typeof body.prompt === 'string' ? [body.prompt] : asArray(body.prompt).filter((p) => typeof p === 'string');
      return { messages: prompts.map((content) => ({ role: 'user', parts: [{ type: 'text', content: content as string }] })) };
    },
    readChunk: readChoices,
    readResponse: readChoices,
  };
}
