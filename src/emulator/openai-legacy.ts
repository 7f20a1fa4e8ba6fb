/**
 * `POST /v1/completions` (legacy text completions) and `POST /v1/embeddings`.
 *
 * Embeddings: the openai SDK asks for `encoding_format: 'base64'` when the caller did
 * not choose one and decodes the string as little-endian float32s, so base64 answers
 * carry the raw Float32Array bytes. Vectors are deterministic per input text and
 * unit length; the dimension is `dimensions` from the request or EMBEDDING_DIMENSIONS.
 */

import { openaiStreamError } from './errors.js';
import type { Exchange } from './exchange.js';
import type { JsonObject } from './json.js';
import { numberField, objectField, stringField } from './json.js';
import type { PlannedOutput } from './output.js';
import { planOutput } from './output.js';
import { inputTokensEach } from './prompt-tokens.js';
import { hashSeed, ids, seededRng } from './random.js';
import type { StreamEvent } from './sse.js';
import { playStream } from './sse.js';
import { loadTokenizer } from './tokenizer.js';
import { withUsageOverrides } from './usage-overrides.js';

export const EMBEDDING_DIMENSIONS = 16;
const MAX_EMBEDDING_DIMENSIONS = 4096;

const FINISH_REASONS: Record<PlannedOutput['stop'], string> = { end: 'stop', length: 'length', tool: 'stop' };

export async function handleCompletions(exchange: Exchange, body: JsonObject): Promise<void> {
  const tokenizer = await loadTokenizer();
  const { script } = exchange;
  // Tool calls do not exist in this API.
  const output = planOutput(tokenizer, body, { ...script, toolCall: undefined }, numberField(body, 'max_tokens'), {
    allowThinking: false,
  });
  const promptTokens = inputTokensEach(tokenizer, body.prompt).reduce((sum, n) => sum + n, 0);
  const usage = withUsageOverrides(
    {
      prompt_tokens: promptTokens,
      completion_tokens: output.outputTokens,
      total_tokens: promptTokens + output.outputTokens,
    },
    script,
  );
  const head = {
    id: ids.legacyCompletion(),
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: stringField(body, 'model') ?? 'gpt-3.5-turbo-instruct',
    system_fingerprint: null,
  };
  const finishReason = FINISH_REASONS[output.stop];
  const choice = (text: string, finish: string | null) => [{ text, index: 0, logprobs: null, finish_reason: finish }];

  if (body.stream !== true) {
    const sent = exchange.sendJson(200, { ...head, choices: choice(output.text.text, finishReason), usage });
    if (sent) exchange.countBody(output.outputTokens);
    exchange.finish('completed');
    return;
  }

  const includeUsage = objectField(body, 'stream_options')?.include_usage === true;
  const chunk = (choices: unknown[], extra: JsonObject = {}): JsonObject => ({
    ...head,
    choices,
    ...(includeUsage ? { usage: null } : {}),
    ...extra,
  });
  const events: StreamEvent[] = output.text.chunks.map((piece) => ({
    data: chunk(choice(piece.text, null)),
    kind: 'content',
    tokens: piece.tokens,
  }));
  events.push({ data: chunk(choice('', finishReason)), kind: 'terminal' });
  if (includeUsage) events.push({ data: chunk([], { usage }), kind: 'terminal' });

  await playStream(exchange, {
    dialect: 'openai',
    events,
    errorEvent: () => ({ data: openaiStreamError({ type: script.errorType, message: script.errorMessage }) }),
  });
}

export async function handleEmbeddings(exchange: Exchange, body: JsonObject): Promise<void> {
  const tokenizer = await loadTokenizer();
  const inputs = embeddingInputs(body.input);
  const tokens = inputTokensEach(tokenizer, body.input);
  const promptTokens = tokens.reduce((sum, n) => sum + n, 0);
  const requested = numberField(body, 'dimensions');
  const dimensions =
    requested !== undefined && Number.isInteger(requested) && requested > 0 ? Math.min(requested, MAX_EMBEDDING_DIMENSIONS) : EMBEDDING_DIMENSIONS;
  const base64 = stringField(body, 'encoding_format') === 'base64';
  const data = inputs.map((input, index) => {
    const vector = embeddingVector(input, dimensions);
    const embedding = base64 ? Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64') : Array.from(vector);
    return { object: 'embedding', index, embedding };
  });
  exchange.sendJson(200, {
    object: 'list',
    data,
    model: stringField(body, 'model') ?? 'text-embedding-3-small',
    usage: withUsageOverrides({ prompt_tokens: promptTokens, total_tokens: promptTokens }, exchange.script),
  });
  exchange.finish('completed');
}

/** One seed string per embedded input (texts, or token-id arrays). */
function embeddingInputs(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return [''];
  if (input.every((item) => typeof item === 'number')) return [JSON.stringify(input)];
  return input.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
}

function embeddingVector(input: string, dimensions: number): Float32Array {
  const rng = seededRng(hashSeed(input));
  const vector = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    vector[i] = rng() * 2 - 1;
    norm += vector[i] * vector[i];
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < dimensions; i++) vector[i] *= scale;
  return vector;
}
