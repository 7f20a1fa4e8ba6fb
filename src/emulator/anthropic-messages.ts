/**
 * `POST /v1/messages` (and `?beta=true`): JSON and SSE answers shaped like the live
 * API. `message_start` carries the real input and cache counts with a placeholder
 * `output_tokens`; `message_delta` carries the cumulative output count and, as the
 * current API does, repeats the input and cache counts.
 *
 * Usage semantics: `input_tokens` is the counted prompt (see prompt-tokens.ts); the
 * scripted cache reads/writes are reported separately, on top, as the API does.
 *
 * Thinking, as Claude 4 models bill it: the streamed thinking is a summary, and the
 * scripted `reasoningTokens` are the thinking it left out, billed in `output_tokens` and
 * never streamed; `output_tokens_details.thinking_tokens` reports all of it (newer API
 * versions). With `thinking.display: 'omitted'` the thinking block arrives empty (its
 * signature only) and is billed all the same.
 */

import { anthropicStreamError } from './errors.js';
import type { Exchange } from './exchange.js';
import type { JsonObject } from './json.js';
import { numberField, stringField } from './json.js';
import { anthropicResponseModel } from './models.js';
import type { PlannedOutput } from './output.js';
import { planOutput } from './output.js';
import { anthropicInputTokens } from './prompt-tokens.js';
import { ids } from './random.js';
import type { StreamEvent } from './sse.js';
import { playStream } from './sse.js';
import { loadTokenizer } from './tokenizer.js';
import type { EmulatorScript } from './types.js';
import { withUsageOverrides } from './usage-overrides.js';

const STOP_REASONS: Record<PlannedOutput['stop'], string> = { end: 'end_turn', length: 'max_tokens', tool: 'tool_use' };

/** A ping after the first block opens (as the API does), then one every this many deltas. */
const PING_EVERY_DELTAS = 40;

const RESULT_BLOCKS: Record<string, (toolUseId: string) => JsonObject> = {
  web_search: (id) => ({ type: 'web_search_tool_result', tool_use_id: id, content: [] }),
  web_fetch: (id) => ({ type: 'web_fetch_tool_result', tool_use_id: id, content: { type: 'web_fetch_result', url: 'https://example.com/', content: null } }),
  code_execution: (id) => ({
    type: 'code_execution_tool_result',
    tool_use_id: id,
    content: { type: 'code_execution_result', stdout: '', stderr: '', return_code: 0, content: [] },
  }),
};

const TOOL_INPUTS: Record<string, JsonObject> = {
  web_search: { query: 'emulated search' },
  web_fetch: { url: 'https://example.com/' },
  code_execution: { code: 'print(1)' },
};

/** The scripted server tool calls as `server_tool_use` blocks, each with its result block. */
function serverToolBlocks(script: EmulatorScript): { use: JsonObject; result: JsonObject }[] {
  const blocks: { use: JsonObject; result: JsonObject }[] = [];
  for (const name of ['web_search', 'web_fetch', 'code_execution'] as const) {
    for (let i = 0; i < (script.serverToolCalls?.[name] ?? 0); i++) {
      const id = `srvtoolu_${ids.anthropicToolUse().slice('toolu_'.length)}`;
      blocks.push({ use: { type: 'server_tool_use', id, name, input: TOOL_INPUTS[name] ?? {} }, result: RESULT_BLOCKS[name]!(id) });
    }
  }
  return blocks;
}

/** `thinking.display: 'omitted'`: the thinking block comes back empty. */
function isThinkingOmitted(body: JsonObject): boolean {
  const thinking = body.thinking;
  return typeof thinking === 'object' && thinking !== null && !Array.isArray(thinking) && (thinking as JsonObject).display === 'omitted';
}

/** `usage.server_tool_use`, as the API reports it when server tools ran. */
function serverToolUsage(script: EmulatorScript): JsonObject | undefined {
  const calls = script.serverToolCalls;
  if (!calls || (calls.web_search === undefined && calls.web_fetch === undefined && calls.code_execution === undefined)) return undefined;
  return { web_search_requests: calls.web_search ?? 0, web_fetch_requests: calls.web_fetch ?? 0 };
}

export async function handleMessages(exchange: Exchange, body: JsonObject): Promise<void> {
  const tokenizer = await loadTokenizer();
  const { script } = exchange;
  const output = planOutput(tokenizer, body, script, numberField(body, 'max_tokens'), { allowThinking: true });
  const inputTokens = anthropicInputTokens(tokenizer, body);
  const cacheRead = script.cacheReadTokens ?? 0;
  const cacheCreation5m = script.cacheCreationTokens ?? 0;
  const cacheCreation1h = script.cacheCreation1hTokens ?? 0;
  const cacheCreation = cacheCreation5m + cacheCreation1h;
  const stopReason = STOP_REASONS[output.stop];
  const signature = ids.thinkingSignature();
  const toolUseId = ids.anthropicToolUse();
  const serverTools = serverToolBlocks(script);
  const serverToolUse = serverToolUsage(script);
  const hidden = script.reasoningTokens ?? 0;
  const billedOutput = output.outputTokens + hidden;
  const thinkingShown = output.thinking && !isThinkingOmitted(body) ? output.thinking : undefined;
  const thinkingDetails: JsonObject | undefined =
    output.thinking || hidden > 0 ? { output_tokens_details: { thinking_tokens: (output.thinking?.tokens ?? 0) + hidden } } : undefined;
  const usage = (outputTokens: number, final: boolean): JsonObject =>
    withUsageOverrides(
      {
        input_tokens: inputTokens,
        cache_creation_input_tokens: cacheCreation,
        cache_read_input_tokens: cacheRead,
        cache_creation: { ephemeral_5m_input_tokens: cacheCreation5m, ephemeral_1h_input_tokens: cacheCreation1h },
        output_tokens: outputTokens,
        ...(final && thinkingDetails ? thinkingDetails : {}),
        ...(final && serverToolUse ? { server_tool_use: serverToolUse } : {}),
        service_tier: script.serviceTier ?? 'standard',
      },
      script,
    );
  const message = (content: unknown[], outputTokens: number, stop: string | null): JsonObject => ({
    model: anthropicResponseModel(stringField(body, 'model') ?? 'claude-sonnet-4-5'),
    id: ids.anthropicMessage(),
    type: 'message',
    role: 'assistant',
    content,
    stop_reason: stop,
    stop_sequence: null,
    usage: usage(outputTokens, stop !== null),
  });

  // No text block when max_tokens ran out while thinking, or when only a tool is called.
  const hasTextBlock = output.thinking?.truncated !== true && (output.text.text !== '' || !output.toolCall);

  if (body.stream !== true) {
    const content: JsonObject[] = [];
    for (const { use, result } of serverTools) content.push(use, result);
    if (output.thinking) content.push({ type: 'thinking', thinking: thinkingShown?.text ?? '', signature });
    if (hasTextBlock) content.push({ type: 'text', text: output.text.text });
    if (output.toolCall) {
      const input: unknown = JSON.parse(output.toolCall.argumentsJson);
      content.push({ type: 'tool_use', id: toolUseId, name: output.toolCall.name, input });
    }
    const sent = exchange.sendJson(200, message(content, billedOutput, stopReason));
    if (sent) exchange.countBody(billedOutput);
    exchange.finish('completed');
    return;
  }

  const events: StreamEvent[] = [];
  let deltasSincePing = 0;
  const push = (data: JsonObject, kind: StreamEvent['kind'] = 'other', tokens?: number): void => {
    events.push({ event: String(data.type), data, kind, tokens });
    if (kind === 'content' && deltasSincePing++ >= PING_EVERY_DELTAS) {
      events.push({ event: 'ping', data: { type: 'ping' }, kind: 'other' });
      deltasSincePing = 0;
    }
  };
  let index = 0;
  const openBlock = (block: JsonObject): void => {
    push({ type: 'content_block_start', index, content_block: block });
    if (index === 0) push({ type: 'ping' });
  };
  const closeBlock = (): void => {
    push({ type: 'content_block_stop', index });
    index++;
  };
  const pushDelta = (delta: JsonObject, tokens: number): void => push({ type: 'content_block_delta', index, delta }, 'content', tokens);

  // Never above the final count: a placeholder, not a count (see sdk-internals §7).
  push({ type: 'message_start', message: message([], Math.min(1, billedOutput), null) });
  // Server tools run before the answer; their blocks arrive whole (no content deltas).
  for (const { use, result } of serverTools) {
    openBlock(use);
    closeBlock();
    openBlock(result);
    closeBlock();
  }
  if (output.thinking) {
    openBlock({ type: 'thinking', thinking: '', signature: '' });
    for (const piece of thinkingShown?.chunks ?? []) {
      pushDelta({ type: 'thinking_delta', thinking: piece.text }, piece.tokens);
    }
    push({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature } });
    closeBlock();
  }
  if (hasTextBlock) {
    openBlock({ type: 'text', text: '' });
    for (const piece of output.text.chunks) {
      pushDelta({ type: 'text_delta', text: piece.text }, piece.tokens);
    }
    closeBlock();
  }
  if (output.toolCall) {
    const call = output.toolCall;
    openBlock({ type: 'tool_use', id: toolUseId, name: call.name, input: {} });
    // The API opens tool input with an empty delta; the tool name's tokens are counted on it.
    pushDelta({ type: 'input_json_delta', partial_json: '' }, call.nameTokens);
    for (const piece of call.argumentChunks) {
      pushDelta({ type: 'input_json_delta', partial_json: piece.text }, piece.tokens);
    }
    closeBlock();
  }
  const finalUsage = withUsageOverrides(
    {
      input_tokens: inputTokens,
      cache_creation_input_tokens: cacheCreation,
      cache_read_input_tokens: cacheRead,
      output_tokens: billedOutput,
      ...(thinkingDetails ?? {}),
      ...(serverToolUse ? { server_tool_use: serverToolUse } : {}),
    },
    script,
  );
  const stop = { stop_reason: stopReason, stop_sequence: null };
  push({ type: 'message_delta', delta: stop, usage: finalUsage }, 'terminal');
  push({ type: 'message_stop' }, 'terminal');

  await playStream(exchange, {
    dialect: 'anthropic',
    events,
    errorEvent: () => ({
      event: 'error',
      data: anthropicStreamError({ type: script.errorType, message: script.errorMessage }),
    }),
  });
}
