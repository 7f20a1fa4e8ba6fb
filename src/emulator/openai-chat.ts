/**
 * `POST /v1/chat/completions`: JSON and SSE answers shaped like the live API (chunk
 * layout, `usage: null` on every chunk and a final `choices: []` usage chunk only
 * with `stream_options.include_usage`).
 */

import { openaiStreamError } from './errors.js';
import type { Exchange } from './exchange.js';
import type { JsonObject } from './json.js';
import { numberField, objectField, stringField } from './json.js';
import { openaiResponseModel } from './models.js';
import type { PlannedOutput } from './output.js';
import { planOutput } from './output.js';
import { chatPromptTokens } from './prompt-tokens.js';
import { ids } from './random.js';
import type { StreamEvent } from './sse.js';
import { playStream } from './sse.js';
import { servedTier } from './openai-responses.js';
import { loadTokenizer } from './tokenizer.js';
import { withUsageOverrides } from './usage-overrides.js';
import type { EmulatorScript } from './types.js';

const FINISH_REASONS: Record<PlannedOutput['stop'], string> = { end: 'stop', length: 'length', tool: 'tool_calls' };

export async function handleChatCompletions(exchange: Exchange, body: JsonObject): Promise<void> {
  const tokenizer = await loadTokenizer();
  const { script } = exchange;
  const maxTokens = numberField(body, 'max_completion_tokens') ?? numberField(body, 'max_tokens');
  const output = planOutput(tokenizer, body, script, maxTokens, { allowThinking: false });
  const usage = withUsageOverrides(chatUsage(chatPromptTokens(tokenizer, body.messages), output, script), script);
  const id = ids.chatCompletion();
  const created = Math.floor(Date.now() / 1000);
  const model = openaiResponseModel(stringField(body, 'model') ?? 'gpt-4o-mini');
  // Key order as the API sends it, so raw dumps look like the real thing.
  const head = (object: string): JsonObject => ({ id, object, created, model });
  const systemFingerprint = ids.systemFingerprint();
  const finishReason = FINISH_REASONS[output.stop];
  const toolCallId = ids.toolCall();
  const serviceTier = script.serviceTier ?? servedTier(stringField(body, 'service_tier'));

  if (body.stream !== true) {
    const message: JsonObject = {
      role: 'assistant',
      content: output.text.text === '' && output.toolCall ? null : output.text.text,
      refusal: null,
      annotations: [],
    };
    if (output.toolCall) {
      message.tool_calls = [
        {
          id: toolCallId,
          type: 'function',
          function: { name: output.toolCall.name, arguments: output.toolCall.argumentsJson },
        },
      ];
    }
    const sent = exchange.sendJson(200, {
      ...head('chat.completion'),
      choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
      usage,
      service_tier: serviceTier,
      system_fingerprint: systemFingerprint,
    });
    if (sent) exchange.countBody(output.outputTokens);
    exchange.finish('completed');
    return;
  }

  const includeUsage = objectField(body, 'stream_options')?.include_usage === true;
  const chunk = (choices: unknown[], extra: JsonObject = {}): JsonObject => ({
    ...head('chat.completion.chunk'),
    service_tier: serviceTier,
    system_fingerprint: systemFingerprint,
    choices,
    ...(includeUsage ? { usage: null } : {}),
    ...extra,
  });
  const delta = (value: JsonObject, finish: string | null = null): unknown[] => [{ index: 0, delta: value, logprobs: null, finish_reason: finish }];

  const events: StreamEvent[] = [];
  const toolOnly = output.text.text === '' && output.toolCall !== undefined;
  const roleDelta = { role: 'assistant', content: toolOnly ? null : '', refusal: null };
  events.push({ data: chunk(delta(roleDelta)), kind: 'other' });
  for (const piece of output.text.chunks) {
    events.push({ data: chunk(delta({ content: piece.text })), kind: 'content', tokens: piece.tokens });
  }
  if (output.toolCall) {
    const call = output.toolCall;
    const opening = { index: 0, id: toolCallId, type: 'function', function: { name: call.name, arguments: '' } };
    events.push({ data: chunk(delta({ tool_calls: [opening] })), kind: 'content', tokens: call.nameTokens });
    for (const piece of call.argumentChunks) {
      const argsDelta = { tool_calls: [{ index: 0, function: { arguments: piece.text } }] };
      events.push({ data: chunk(delta(argsDelta)), kind: 'content', tokens: piece.tokens });
    }
  }
  events.push({ data: chunk(delta({}, finishReason)), kind: 'terminal' });
  if (includeUsage) events.push({ data: chunk([], { usage }), kind: 'terminal' });

  await playStream(exchange, {
    dialect: 'openai',
    events,
    errorEvent: () => ({ data: openaiStreamError({ type: script.errorType, message: script.errorMessage }) }),
  });
}

/** Chat usage; scripted cache reads come on top of the counted prompt (which they are part of). */
export function chatUsage(promptTokens: number, output: PlannedOutput, script: EmulatorScript): JsonObject {
  const cached = script.cacheReadTokens ?? 0;
  const reasoning = script.reasoningTokens ?? 0;
  const prompt = promptTokens + cached;
  const completion = output.outputTokens + reasoning;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: reasoning,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}
