/**
 * Replays a recorded exchange byte-for-byte in content: SSE events exactly as
 * recorded (Anthropic and Responses event names = the event's `type`), `[DONE]` after
 * OpenAI chat/completions streams, or the recorded JSON body. The failure scripts
 * (delays, drops, mid-stream errors, omitted terminal events) still apply, so a real
 * stream can be cut at any chunk.
 */

import { anthropicStreamError, openaiStreamError, responsesStreamError } from './errors.js';
import type { Exchange } from './exchange.js';
import type { JsonObject } from './json.js';
import { arrayField, cloneJson, isObject, objectField } from './json.js';
import type { StreamDialect, StreamEvent, StreamPlan } from './sse.js';
import { playStream } from './sse.js';
import type { EmulatorTokenizer } from './tokenizer.js';
import { loadTokenizer } from './tokenizer.js';
import type { EmulatorScript, Recording } from './types.js';

/** Recording `api` → how its stream is framed. */
const DIALECTS: Record<string, StreamDialect> = {
  'chat.completions': 'openai',
  completions: 'openai',
  messages: 'anthropic',
  responses: 'openai-responses',
};

const TERMINAL_RESPONSES_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

export async function replayRecording(exchange: Exchange, recording: Recording, stream: boolean): Promise<void> {
  const { script } = exchange;
  if (!stream) {
    const body = cloneJson(recording.response);
    if (script.stripUsage && isObject(body)) delete body.usage;
    exchange.sendJson(200, body);
    exchange.finish('completed');
    return;
  }
  const tokenizer = await loadTokenizer();
  const dialect = DIALECTS[recording.api] ?? 'openai';
  const events: StreamEvent[] = [];
  for (const recorded of recording.events ?? []) {
    const data = cloneJson(recorded);
    if (!isObject(data)) continue;
    const item = classify(dialect, data, tokenizer);
    if (script.stripUsage && !stripUsage(dialect, data)) continue;
    events.push(item);
  }
  await playStream(exchange, replayPlan(dialect, events, script));
}

/** Why a recording cannot answer this request, or undefined when it can. */
export function replayMismatch(recording: Recording, api: string, stream: boolean): string | undefined {
  if (recording.api !== api) return `recording is for the "${recording.api}" API, not "${api}"`;
  if (recording.stream !== stream) {
    return `recording is ${recording.stream ? 'a stream' : 'not a stream'} but the request has stream: ${stream}`;
  }
  if (recording.stream && !Array.isArray(recording.events)) return 'recording has no events';
  if (!recording.stream && recording.response === undefined) return 'recording has no response body';
  return undefined;
}

function replayPlan(dialect: StreamDialect, events: StreamEvent[], script: EmulatorScript): StreamPlan {
  const overrides = { type: script.errorType, message: script.errorMessage };
  const errorEvent = (eventsSent: number): { event?: string; data: unknown } => {
    if (dialect === 'anthropic') return { event: 'error', data: anthropicStreamError(overrides) };
    // Recorded sequence numbers count every event from 0, so the next one is the count sent.
    if (dialect === 'openai-responses') return { event: 'error', data: responsesStreamError(eventsSent, overrides) };
    return { data: openaiStreamError(overrides) };
  };
  return { dialect, events, errorEvent };
}

function classify(dialect: StreamDialect, data: JsonObject, tokenizer: EmulatorTokenizer): StreamEvent {
  const type = typeof data.type === 'string' ? data.type : undefined;
  if (dialect === 'anthropic') {
    const delta = objectField(data, 'delta');
    if (type === 'content_block_delta' && delta) {
      const text = [delta.text, delta.thinking, delta.partial_json].find((v) => typeof v === 'string');
      if (typeof text === 'string') return { event: type, data, kind: 'content', tokens: tokenizer.count(text) };
    }
    const terminal = type === 'message_delta' || type === 'message_stop';
    return { event: type, data, kind: terminal ? 'terminal' : 'other' };
  }
  if (dialect === 'openai-responses') {
    if (type?.endsWith('.delta') && typeof data.delta === 'string') {
      return { event: type, data, kind: 'content', tokens: tokenizer.count(data.delta) };
    }
    return { event: type, data, kind: type && TERMINAL_RESPONSES_EVENTS.has(type) ? 'terminal' : 'other' };
  }
  // OpenAI chat / legacy completions chunk.
  const choices = arrayField(data, 'choices') ?? [];
  if (choices.length === 0) return { data, kind: 'terminal' };
  const choice = isObject(choices[0]) ? choices[0] : {};
  const text = chunkText(choice);
  if (choice.finish_reason !== null && choice.finish_reason !== undefined && text === '') {
    return { data, kind: 'terminal' };
  }
  if (text !== '' || hasToolCalls(choice)) return { data, kind: 'content', tokens: tokenizer.count(text) };
  return { data, kind: 'other' };
}

function chunkText(choice: JsonObject): string {
  if (typeof choice.text === 'string') return choice.text;
  const delta = objectField(choice, 'delta');
  if (!delta) return '';
  let text = typeof delta.content === 'string' ? delta.content : '';
  for (const call of arrayField(delta, 'tool_calls') ?? []) {
    const fn = isObject(call) ? objectField(call, 'function') : undefined;
    if (fn && typeof fn.arguments === 'string') text += fn.arguments;
  }
  return text;
}

function hasToolCalls(choice: JsonObject): boolean {
  const delta = objectField(choice, 'delta');
  return (arrayField(delta ?? {}, 'tool_calls') ?? []).length > 0;
}

/**
 * Removes provider usage from one event in place. Returns false when the whole event
 * only existed to carry usage (the chat `choices: []` chunk) and must be dropped.
 */
function stripUsage(dialect: StreamDialect, data: JsonObject): boolean {
  if (dialect === 'anthropic') {
    if (data.type === 'message_start') {
      const message = objectField(data, 'message');
      if (message) delete message.usage;
    }
    if (data.type === 'message_delta') delete data.usage;
    return true;
  }
  if (dialect === 'openai-responses') {
    const response = objectField(data, 'response');
    if (response) delete response.usage;
    return true;
  }
  const choices = arrayField(data, 'choices') ?? [];
  return !(choices.length === 0 && isObject(data.usage));
}
