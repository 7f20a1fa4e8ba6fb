/**
 * The providers' free token-counting endpoints, answered with the emulator's own counting
 * rules (the same ones its reported usage follows), so tests can show exact agreement:
 *
 * - `POST /v1/messages/count_tokens` (Anthropic): `{ input_tokens }` by the Messages input
 *   formula (prompt-tokens.ts);
 * - `POST /v1/responses/input_tokens` (OpenAI): `{ object: 'response.input_tokens',
 *   input_tokens }` by the Responses input formula (openai-responses.ts).
 *
 * Like the live endpoints they generate nothing; scripted failures and delays apply.
 */
import type { Exchange } from './exchange.js';
import type { JsonObject } from './json.js';
import { responsesInputTokens } from './openai-responses.js';
import { anthropicInputTokens } from './prompt-tokens.js';
import { loadTokenizer } from './tokenizer.js';

export async function handleAnthropicCountTokens(exchange: Exchange, body: JsonObject): Promise<void> {
  const tokenizer = await loadTokenizer();
  exchange.sendJson(200, { input_tokens: anthropicInputTokens(tokenizer, body) });
  exchange.finish('completed');
}

export async function handleResponsesInputTokens(exchange: Exchange, body: JsonObject): Promise<void> {
  const tokenizer = await loadTokenizer();
  exchange.sendJson(200, { object: 'response.input_tokens', input_tokens: responsesInputTokens(tokenizer, body) });
  exchange.finish('completed');
}
