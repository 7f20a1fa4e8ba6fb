/**
 * Plays a planned SSE stream to the client. Generated and replayed streams share it,
 * so the failure scripts (delays, drops, mid-stream errors, missing terminal events)
 * behave the same whether the content was generated or recorded.
 */

import type { Exchange } from './exchange.js';

/**
 * - `openai`: `data: {json}` frames, then `data: [DONE]` (chat and legacy completions).
 * - `anthropic` and `openai-responses`: `event: <type>` + `data:` frames, no [DONE].
 */
export type StreamDialect = 'openai' | 'anthropic' | 'openai-responses';

export interface StreamEvent {
  /** SSE event name; omitted for the OpenAI chat dialect. */
  event?: string;
  data: unknown;
  /**
   * - `content`: carries output (text, thinking or tool-argument delta); counted.
   * - `terminal`: finish/usage/stop events that `omitTerminal` leaves out.
   */
  kind: 'content' | 'terminal' | 'other';
  /** o200k tokens of the output this event carries (content events). */
  tokens?: number;
}

export interface StreamPlan {
  dialect: StreamDialect;
  events: StreamEvent[];
  /** The provider's mid-stream error frame, built when `errorAfterChunks` fires. */
  errorEvent: (eventsSent: number) => { event?: string; data: unknown };
}

export function formatFrame(event: string | undefined, data: unknown): string {
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  return event === undefined ? `data: ${payload}\n\n` : `event: ${event}\ndata: ${payload}\n\n`;
}

export async function playStream(exchange: Exchange, plan: StreamPlan): Promise<void> {
  const { script } = exchange;
  const chunkDelay = script.chunkDelayMs ?? 0;
  exchange.startEventStream();
  if (script.burst) return playBurst(exchange, plan);
  let eventsSent = 0;
  let contentSent = 0;

  // A limit of 0 fires before the first content chunk.
  const checkFailure = (): 'drop' | 'error' | undefined => {
    if (script.dropAfterChunks !== undefined && contentSent >= script.dropAfterChunks) return 'drop';
    if (script.errorAfterChunks !== undefined && contentSent >= script.errorAfterChunks) return 'error';
    return undefined;
  };

  for (const item of plan.events) {
    if (item.kind === 'terminal' && script.omitTerminal) continue;
    if (item.kind === 'content') {
      const failure = checkFailure();
      if (failure === 'drop') return exchange.drop();
      if (failure === 'error') return sendStreamError(exchange, plan, chunkDelay, eventsSent);
    }
    if (eventsSent > 0 && !(await exchange.sleep(chunkDelay))) return;
    if (!(await exchange.write(formatFrame(item.event, item.data)))) return;
    eventsSent += 1;
    if (item.kind === 'content') {
      contentSent += 1;
      exchange.countContent(item.tokens ?? 0);
      // Fail right after the Nth chunk, before any finish or usage event can follow.
      const failure = checkFailure();
      if (failure === 'drop') return exchange.drop();
      if (failure === 'error') return sendStreamError(exchange, plan, chunkDelay, eventsSent);
    }
  }
  // Only reached with a limit when the stream had no content at all.
  const failure = checkFailure();
  if (failure === 'drop') return exchange.drop();
  if (failure === 'error') return sendStreamError(exchange, plan, chunkDelay, eventsSent);

  if (!script.omitTerminal && plan.dialect === 'openai') {
    if (!(await exchange.sleep(chunkDelay))) return;
    if (!(await exchange.write(formatFrame(undefined, '[DONE]')))) return;
  }
  exchange.endResponse();
  exchange.finish(script.omitTerminal ? 'omitted_terminal' : 'completed');
}

/** The whole stream in one write (failure scripts other than `omitTerminal` do not apply). */
async function playBurst(exchange: Exchange, plan: StreamPlan): Promise<void> {
  const { script } = exchange;
  let body = '';
  for (const item of plan.events) {
    if (item.kind === 'terminal' && script.omitTerminal) continue;
    body += formatFrame(item.event, item.data);
    if (item.kind === 'content') exchange.countContent(item.tokens ?? 0);
  }
  if (!script.omitTerminal && plan.dialect === 'openai') body += formatFrame(undefined, '[DONE]');
  if (!(await exchange.write(body))) return;
  exchange.endResponse();
  exchange.finish(script.omitTerminal ? 'omitted_terminal' : 'completed');
}

async function sendStreamError(exchange: Exchange, plan: StreamPlan, delay: number, eventsSent: number): Promise<void> {
  if (!(await exchange.sleep(delay))) return;
  const { event, data } = plan.errorEvent(eventsSent);
  if (!(await exchange.write(formatFrame(event, data)))) return;
  exchange.endResponse();
  exchange.finish('stream_error');
}
